/**
 * The original Sous's user config read as it is (its own
 * graph/testdata/config.yaml and util/configloader/testdata/test_config.yaml),
 * and `sous config KEY [VALUE]` through the real binary.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { makeSousEnv, requireBuilt, sousSync, type SousEnv } from '../helpers/sous';
import { FIXTURES, tempDir } from '../helpers/state-repo';

const ORIGINAL = path.join(FIXTURES, 'original');
const userConfig = (e: SousEnv) => path.join(e.config, 'sous', 'config.yaml');

function withOriginalConfig(file = 'graph/testdata/config.yaml'): SousEnv {
  const e = makeSousEnv(tempDir('sous-cfg18-'));
  fs.mkdirSync(path.dirname(userConfig(e)), { recursive: true });
  fs.copyFileSync(path.join(ORIGINAL, file), userConfig(e));
  return e;
}

beforeAll(() => requireBuilt());

describe("the original Sous's user config", () => {
  it('is read as it is: Docker.RegistryHost becomes the registry, empty values are defaults, SiblingURLs is warned about once', () => {
    const e = withOriginalConfig();
    const first = sousSync(e, ['config', '--json'], { env: { SOUS_STATE_LOCATION: '' } });
    expect(first.stderr).not.toMatch(/CONFIG_UNKNOWN_KEY/);
    expect(first.code).toBe(0);
    expect(first.json.config.registry).toBe('docker.otenv.com');
    expect(first.json.origins.registry).toBe('user');
    expect(first.json.config.server).toBeUndefined();
    expect(first.json.config.stateLocation).toBe(path.join(e.home, 'data', 'sous', 'state'));
    expect(first.stderr).toContain("is the original Sous's config; not used here: SiblingURLs");
    const second = sousSync(e, ['config', '--json']);
    expect(second.code).toBe(0);
    expect(second.stderr).not.toContain('SiblingURLs');
  });

  it('warns about keys it does not know rather than refusing them', () => {
    const e = withOriginalConfig('util/configloader/testdata/test_config.yaml');
    const r = sousSync(e, ['config', '--json']);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('SomeVar (unknown)');
  });

  it('refuses a lower-case key beside the original ones with the "did you mean" of today\'s config', () => {
    const e = withOriginalConfig();
    fs.appendFileSync(userConfig(e), 'registy: x\n');
    const r = sousSync(e, ['config', '--json']);
    expect(r.code).toBe(2);
    expect(r.json.error.code).toBe('CONFIG_UNKNOWN_KEY');
  });
});

describe('sous config KEY [VALUE]', () => {
  it("reads a key by today's name or the original's, and writes the original's file in its own form", () => {
    const e = withOriginalConfig();
    expect(sousSync(e, ['config', 'Docker.RegistryHost']).stdout.trim()).toBe('docker.otenv.com');
    expect(sousSync(e, ['config', 'registry']).stdout.trim()).toBe('docker.otenv.com');
    const before = fs.readFileSync(userConfig(e), 'utf8');
    const set = sousSync(e, ['config', 'registry', 'registry.example.com:5000', '--json']);
    expect(set.code).toBe(0);
    expect(set.json).toMatchObject({ key: 'registry', written: 'Docker.RegistryHost', value: 'registry.example.com:5000' });
    const after = fs.readFileSync(userConfig(e), 'utf8');
    expect(after).toBe(before.replace('RegistryHost: docker.otenv.com', 'RegistryHost: registry.example.com:5000').replace(/: \n/g, ':\n'));
    expect(sousSync(e, ['config', 'Docker.RegistryHost']).stdout.trim()).toBe('registry.example.com:5000');
    expect(sousSync(e, ['config', 'MaxHTTPConcurrencySingularity', '4']).code).toBe(0);
    expect(fs.readFileSync(userConfig(e), 'utf8')).toContain('MaxHTTPConcurrencySingularity: 4\n');
    expect(sousSync(e, ['config', 'rectify.concurrency']).stdout.trim()).toBe('4');
  });

  it("writes today's keys into a new config.yaml, and refuses what would break the file, writing nothing", () => {
    const e = makeSousEnv(tempDir('sous-cfg18-'));
    expect(sousSync(e, ['config', 'user.email', 'me@example.com']).code).toBe(0);
    expect(sousSync(e, ['config', 'rectify.concurrency', '3']).code).toBe(0);
    expect(fs.readFileSync(userConfig(e), 'utf8')).toBe('user:\n  email: me@example.com\nrectify:\n  concurrency: 3\n');
    const before = fs.readFileSync(userConfig(e), 'utf8');
    const bad = sousSync(e, ['config', 'logLevel', 'loud', '--json']);
    expect(bad.code).toBe(2);
    expect(bad.json.error.code).toBe('CONFIG_INVALID');
    const unknown = sousSync(e, ['config', 'regstry', 'x', '--json']);
    expect(unknown.code).toBe(2);
    expect(unknown.json.error).toMatchObject({ code: 'CONFIG_UNKNOWN_KEY', hints: expect.arrayContaining(['did you mean registry?']) });
    const legacyOnly = withOriginalConfig();
    const mixed = sousSync(legacyOnly, ['config', 'stack', 'node', '--json']);
    expect(mixed.code).toBe(2);
    expect(mixed.json.error.code).toBe('CONFIG_LEGACY_FILE');
    const unused = sousSync(legacyOnly, ['config', 'SiblingURLs', '--json']);
    expect(unused.json.error.code).toBe('CONFIG_LEGACY_KEY_UNUSED');
    expect(fs.readFileSync(userConfig(e), 'utf8')).toBe(before);
  });
});
