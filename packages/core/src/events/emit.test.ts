import * as fs from 'node:fs';
import * as path from 'node:path';
import { Sous } from '../hooks/sous';
import { isSousError, type SousError } from '../errors';
import type { ResolvedConfig } from '../config/types';
import type { SousEvent } from '../pipeline/types';
import { asTypedEvent, completeEvent, emitEvent } from './emit';
import { EVENT_TYPES, definitionOf, type TypedEvent } from './catalogue';

const config = { warnings: [], notifiers: [], user: { name: 'Alice', email: 'alice@example.com' } } as unknown as ResolvedConfig;

function caught(f: () => unknown): SousError {
  try {
    f();
  } catch (e) {
    expect(isSousError(e)).toBe(true);
    return e as SousError;
  }
  throw new Error('expected an error');
}

describe('the catalogue', () => {
  it('lists exactly the event types of schemas/events.schema.json', () => {
    const schema = JSON.parse(fs.readFileSync(path.resolve(__dirname, '../../../../schemas/events.schema.json'), 'utf8'));
    const types = (schema.oneOf as { $ref: string }[]).map((r) => schema.definitions[r.$ref.split('/').pop()!].properties.type.const);
    expect(types).toEqual([...EVENT_TYPES]);
    for (const t of EVENT_TYPES) expect(schema.definitions[definitionOf(t)].properties.type.const).toBe(t);
  });
});

describe('emitEvent', () => {
  it('fills id, time, user, links and deploymentID, and hands the event to every tap', async () => {
    const sous = new Sous(config);
    const seen: SousEvent[] = [];
    sous.hooks.event.tap('t', (e) => void seen.push(e));
    const sent = await emitEvent(sous, { type: 'deploy.succeeded', manifestID: 'github.com/acme/shop', cluster: 'prod', version: '1.2.3', previousVersion: '1.2.2' });
    expect(seen).toEqual([sent]);
    expect(sent).toMatchObject({ type: 'deploy.succeeded', deploymentID: 'prod:github.com/acme/shop', user: { name: 'Alice', email: 'alice@example.com' }, links: {} });
    expect(sent.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(Date.parse(sent.time)).not.toBeNaN();
    const again = await emitEvent(sous, { type: 'deploy.succeeded', manifestID: 'github.com/acme/shop', cluster: 'prod', version: '1.2.3' });
    expect(again.id).not.toBe(sent.id);
  });

  it('keeps what the caller gives: id, user (the tag author), links', () => {
    const e = completeEvent({
      type: 'build.failed',
      id: 'evt-1',
      manifestID: 'github.com/acme/shop',
      version: '2.0.0',
      user: { name: 'Bob', email: 'bob@example.com' },
      links: { logs: 'https://ci.example.com/1' },
      source: { repo: 'github.com/acme/shop', offset: '', revision: 'abc123' },
      phase: 'build',
      error: { code: 'BUILD_FAILED', message: 'RUN npm ci: exit code 1' },
    });
    expect(e).toMatchObject({ id: 'evt-1', user: { name: 'Bob' }, links: { logs: 'https://ci.example.com/1' } });
    expect(e.deploymentID).toBeUndefined();
  });

  it('refuses an event that does not match its schema, naming the field', () => {
    const e = caught(() =>
      completeEvent({ type: 'deploy.failed', manifestID: 'github.com/acme/shop', cluster: 'prod', version: '1.0.0', phase: 'verify' } as never, { user: config.user }),
    );
    expect(e.code).toBe('EVENT_INVALID');
    expect(e.message).toBe('event deploy.failed: error is required but missing');
    expect(e.field).toBe('error');
    const bad = caught(() => completeEvent({ type: 'build.failed', manifestID: 'm', version: '1', source: { repo: 'r', offset: '', revision: 'x' }, phase: 'compile', error: { code: 'X', message: 'm' } } as never, { user: config.user }));
    expect(bad.message).toContain('phase is "compile", which is not one of');
  });

  it('refuses an unknown type with a did-you-mean, and sends nothing', async () => {
    const sous = new Sous(config);
    const seen: SousEvent[] = [];
    sous.hooks.event.tap('t', (e) => void seen.push(e));
    await expect(emitEvent(sous, { type: 'deploy.succeded', manifestID: 'm', cluster: 'c', version: '1' } as never)).rejects.toMatchObject({
      code: 'EVENT_UNKNOWN_TYPE',
      hints: ['did you mean "deploy.succeeded"?'],
    });
    expect(seen).toEqual([]);
  });

  it('takes each documented shape', () => {
    const user = config.user;
    const src = { repo: 'github.com/acme/shop', offset: '', revision: 'abc', tag: 'v1.0.0' };
    const base = { manifestID: 'github.com/acme/shop', version: '1.0.0' };
    const digest = 'sha256:' + 'a'.repeat(64);
    const events: TypedEvent['type'][] = [];
    const all = [
      { type: 'build.started', ...base, source: src, stack: 'node' },
      { type: 'contract.failed', ...base, source: src, image: 'reg/shop:1.0.0', contracts: [{ name: 'health', status: 'failed', message: 'no answer on /health' }] },
      { type: 'artifact.ready', ...base, source: src, image: `reg/shop@${digest}`, digest, signature: { keyId: 'k1' }, precache: { prod: { registry: 'reg-prod', status: 'copied' } } },
      { type: 'deploy.requested', ...base, cluster: 'prod', digest },
      { type: 'deploy.failed', ...base, cluster: 'prod', phase: 'verify', error: { code: 'NOT_SIGNED', message: 'not signed' }, checks: [{ name: 'signature', ok: false, message: 'no signature' }] },
      { type: 'rectify.drift', ...base, cluster: 'prod', intended: { instances: 3 }, actual: { instances: 1 }, differences: ['instances: 3 intended, 1 running'], action: 'scale' },
      { type: 'rectify.held', ...base, cluster: 'prod', failures: 3, error: { code: 'SCHEDULER_FAILED', message: 'crash loop' } },
      { type: 'rectify.removed', manifestID: 'github.com/acme/old', cluster: 'prod', reason: 'not in the GDM; AllowPrune is off' },
    ];
    for (const input of all) events.push(completeEvent(input as never, { user }).type);
    expect(events).toEqual(all.map((e) => e.type));
  });
});

describe('asTypedEvent', () => {
  const warnings: string[] = [];
  const logger = { trace() {}, debug() {}, info() {}, warn: (m: string) => void warnings.push(m), error() {}, child: () => logger };

  it('completes an event raised with sous.emit once, so every notifier sees the same id', async () => {
    const sous = new Sous(config);
    const got: (TypedEvent | undefined)[] = [];
    for (const name of ['a', 'b']) sous.hooks.event.tap(name, (e) => void got.push(asTypedEvent(e, { user: config.user, logger })));
    await sous.emit('deploy.requested', { manifestID: 'github.com/acme/shop', cluster: 'prod', version: '1.0.0' });
    expect(got[0]).toMatchObject({ type: 'deploy.requested', deploymentID: 'prod:github.com/acme/shop', user: config.user });
    expect(got[1]).toBe(got[0]);
  });

  it('reports an event that does not match the catalogue once, and hands it to no notifier', async () => {
    warnings.length = 0;
    const sous = new Sous(config);
    const got: (TypedEvent | undefined)[] = [];
    for (const name of ['a', 'b']) sous.hooks.event.tap(name, (e) => void got.push(asTypedEvent(e, { logger })));
    await sous.emit('build.started', { manifestID: 'github.com/acme/shop', version: '1.0.0', source: 'github.com/acme/shop', user: config.user });
    await sous.emit('deploy.started', {});
    expect(got).toEqual([undefined, undefined, undefined, undefined]);
    expect(warnings).toEqual(['event build.started does not match the catalogue (schemas/events.schema.json), so no notifier gets it: event build.started: source is "github.com/acme/shop"; it must be object']);
  });
});

describe('completeEvent with optional fields left undefined', () => {
  it('drops them at every depth, as JSON would', () => {
    const e = completeEvent(
      { type: 'rectify.drift', manifestID: 'github.com/acme/shop', cluster: 'prod', version: '1.0.0', intended: { version: '1.0.0', digest: undefined, instances: 3 }, actual: { version: undefined, instances: 1 }, differences: ['instances'], action: undefined },
      { user: config.user },
    );
    expect(e.intended).toStrictEqual({ version: '1.0.0', instances: 3 });
    expect(e.actual).toStrictEqual({ instances: 1 });
    expect('action' in e).toBe(false);
  });
});
