import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse } from 'yaml';
import { isLegacyConfig, mapLegacyConfig } from './legacy';

const ORIGINAL = path.resolve(__dirname, '../../../../test/fixtures/original');

describe("the original Sous's user config", () => {
  it('maps its graph/testdata/config.yaml: the registry host, empty values skipped, SiblingURLs named', () => {
    const doc = parse(fs.readFileSync(path.join(ORIGINAL, 'graph/testdata/config.yaml'), 'utf8')) as Record<string, unknown>;
    expect(isLegacyConfig(doc)).toBe(true);
    const r = mapLegacyConfig(doc, 'config.yaml');
    expect(r.config).toEqual({ registry: 'docker.otenv.com' });
    expect(r.warnings).toEqual(["config.yaml is the original Sous's config; not used here: SiblingURLs (see docs/migrating-from-go-sous.md)"]);
  });

  it('maps users, servers, log levels and the Singularity concurrency, and names what does not map', () => {
    const r = mapLegacyConfig({ Server: 'http://sous.example.com', StateLocation: '/srv/gdm', User: { Name: 'Ann', Email: 'ann@example.com' }, Logging: { Basic: { Level: 'extra1' }, Kafka: { Enabled: true } }, MaxHTTPConcurrencySingularity: 4, SlackHookURL: 'https://hooks.example.com', Wat: 1 }, 'c.yaml');
    expect(r.config).toEqual({ server: 'http://sous.example.com', stateLocation: '/srv/gdm', user: { name: 'Ann', email: 'ann@example.com' }, logLevel: 'debug', rectify: { concurrency: 4 } });
    expect(r.warnings[0]).toContain('Logging.Kafka.Enabled, SlackHookURL, Wat (unknown)');
  });

  it("is not mistaken for today's config", () => {
    expect(isLegacyConfig({ registry: 'x' })).toBe(false);
    expect(isLegacyConfig({ Server: 'x', registry: 'y' })).toBe(false);
    expect(isLegacyConfig({})).toBe(false);
  });
});
