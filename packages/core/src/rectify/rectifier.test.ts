import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SousError } from '../errors';
import { Gdm } from '../gdm/state';
import { loadConfig } from '../config/load';
import { Sous } from '../hooks/sous';
import type { Manifest } from '../model/types';
import type { SousEvent } from '../pipeline/types';
import { MemorySchedulerPlugin } from './memory-scheduler';
import { Rectifier } from './rectifier';

const user = { name: 'Tester', email: 'tester@example.com' };
const DIGEST = (n: number) => `sha256:${String(n).padStart(64, '0')}`;

interface World {
  gdm: Gdm;
  sous: Sous;
  mem: MemorySchedulerPlugin;
  events: SousEvent[];
  rectifier: Rectifier;
  dir: string;
}

async function world(opts: { clusters?: Record<string, { Kind: string; AllowPrune?: boolean }>; rectify?: Record<string, number> } = {}): Promise<World> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sous-rectify-'));
  const gdm = await Gdm.open(path.join(dir, 'state'), { user });
  const clusters = opts.clusters ?? { east: { Kind: 'memory' }, west: { Kind: 'memory' } };
  await gdm.update(
    (s) => ({
      change: { message: 'clusters', defs: { ...s.defs, Clusters: Object.fromEntries(Object.entries(clusters).map(([n, c]) => [n, { Name: n, BaseURL: '', Env: { REGION: n }, AllowedAdvisories: [], ...c }])) } },
      result: undefined,
    }),
    user,
  );
  const base = await loadConfig({ cwd: dir, env: { XDG_CONFIG_HOME: path.join(dir, 'cfg') }, repoConfig: false });
  const config = Object.freeze({ ...base, rectify: { ...base.rectify, ...(opts.rectify ?? {}) } });
  const sous = Sous.create(config);
  // Core applies the memory scheduler itself; the test looks at its schedulers.
  const mem = sous.plugins.find((p): p is MemorySchedulerPlugin => p instanceof MemorySchedulerPlugin)!;
  const events: SousEvent[] = [];
  sous.hooks.event.tapPromise('test', async (e) => {
    events.push(e);
  });
  return { gdm, sous, mem, events, dir, rectifier: new Rectifier(sous, gdm, path.join(dir, 'status')) };
}

function manifest(repo: string, deployments: Record<string, { version: string; instances?: number; env?: Record<string, string> }>): Manifest {
  return {
    Source: repo,
    Owners: ['team@example.com'],
    Kind: 'http-service',
    Deployments: Object.fromEntries(
      Object.entries(deployments).map(([c, d], i) => [c, { Resources: { cpus: '0.1', memory: '100', ports: '1' }, Env: d.env ?? {}, NumInstances: d.instances ?? 1, Volumes: [], Version: d.version, Digest: DIGEST(i + 1) }]),
    ),
  };
}

async function put(w: World, ...ms: Manifest[]): Promise<void> {
  await w.gdm.update(() => ({ change: { message: 'set', setManifests: ms }, result: undefined }), user);
}

describe('Rectifier', () => {
  it('creates intended deployments, expanded with cluster env, and records them Active', async () => {
    const w = await world();
    await put(w, manifest('github.com/acme/shop', { east: { version: '1.0.0', instances: 2 } }));
    const r = await w.rectifier.run({ filters: {} });
    expect(r.outcomes.map((o) => [o.action.kind, o.action.deploymentID, o.status])).toEqual([['create', 'east:github.com/acme/shop', 'Active']]);
    const running = w.mem.schedulers.get('east')!.deployments.get('east:github.com/acme/shop')!;
    expect(running.spec.Env).toEqual({ REGION: 'east' });
    expect(running.spec.NumInstances).toBe(2);
    const status = await w.rectifier.status.all();
    expect(status).toEqual([expect.objectContaining({ id: 'east:github.com/acme/shop', status: 'Active', failures: 0 })]);
    expect(w.events.filter((e) => e.type === 'deploy.succeeded')).toHaveLength(1);
    const again = await w.rectifier.run({ filters: {} });
    expect(again.outcomes).toEqual([]);
    expect(again.plan.unchanged).toEqual(['east:github.com/acme/shop']);
  });

  it('redeploys on a new version, scales on an instance change only', async () => {
    const w = await world();
    await put(w, manifest('github.com/acme/shop', { east: { version: '1.0.0' }, west: { version: '1.0.0' } }));
    await w.rectifier.run({ filters: {} });
    await put(w, manifest('github.com/acme/shop', { east: { version: '1.1.0' }, west: { version: '1.0.0', instances: 3 } }));
    const { plan } = await w.rectifier.plan({ filters: {} });
    expect(plan.actions.map((a) => [a.kind, a.deploymentID, a.reason])).toEqual([
      ['update', 'east:github.com/acme/shop', 'version 1.0.0 → 1.1.0'],
      ['scale', 'west:github.com/acme/shop', 'instances 1 → 3'],
    ]);
    const r = await w.rectifier.run({ filters: {} });
    expect(r.outcomes.every((o) => o.status === 'Active')).toBe(true);
    expect(w.mem.schedulers.get('west')!.deployments.get('west:github.com/acme/shop')!.spec.NumInstances).toBe(3);
  });

  it('reports removed deployments and leaves them running, deleting them only with prune', async () => {
    const w = await world();
    await put(w, manifest('github.com/acme/shop', { east: { version: '1.0.0' } }));
    await w.rectifier.run({ filters: {} });
    await w.gdm.update(() => ({ change: { message: 'rm', deleteManifests: [{ source: { repo: 'github.com/acme/shop', dir: '' }, flavor: '' }] }, result: undefined }), user);
    const r1 = await w.rectifier.run({ filters: {} });
    expect(r1.outcomes.map((o) => [o.action.kind, o.resolution])).toEqual([['report-removed', 'not deleted']]);
    expect(w.mem.schedulers.get('east')!.deployments.size).toBe(1);
    await w.rectifier.run({ filters: {} });
    expect(w.events.filter((e) => e.type === 'rectify.removed')).toHaveLength(1);
    const r2 = await w.rectifier.run({ filters: {}, prune: true });
    expect(r2.outcomes.map((o) => [o.action.kind, o.resolution])).toEqual([['delete', 'deleted']]);
    expect(w.mem.schedulers.get('east')!.deployments.size).toBe(0);
  });

  it('holds a change back after repeated failures, until the intent changes or --force', async () => {
    const w = await world({ rectify: { holdAfterFailures: 2 } });
    await put(w, manifest('github.com/acme/shop', { east: { version: '1.0.0' } }));
    w.sous.hooks.scheduler.for('memory').call({ name: 'east', def: { Kind: 'memory' } })!;
    const east = w.mem.schedulers.get('east')!;
    east.behaviour = (a) => (a.post?.spec.Version === '1.0.0' ? { fail: 'crashed on start' } : 'ok');
    const r1 = await w.rectifier.run({ filters: {} });
    const r2 = await w.rectifier.run({ filters: {} });
    expect([r1, r2].map((r) => r.outcomes[0]?.status)).toEqual(['Failed', 'Failed']);
    const r3 = await w.rectifier.run({ filters: {} });
    expect(r3.outcomes).toEqual([]);
    expect(r3.plan.held.map((h) => [h.action.deploymentID, h.failures])).toEqual([['east:github.com/acme/shop', 2]]);
    await w.rectifier.run({ filters: {} });
    expect(w.events.filter((e) => e.type === 'rectify.held')).toHaveLength(1);
    expect(east.calls).toHaveLength(2);
    const forced = await w.rectifier.run({ filters: {}, force: true });
    expect(forced.outcomes).toHaveLength(1);
    await put(w, manifest('github.com/acme/shop', { east: { version: '1.0.1' } }));
    const fixed = await w.rectifier.run({ filters: {} });
    expect(fixed.outcomes.map((o) => o.status)).toEqual(['Active']);
  });

  it('retries retryable scheduler errors with backoff, and gives up on the others at once', async () => {
    const w = await world({ rectify: { retries: 3 } });
    await put(w, manifest('github.com/acme/a', { east: { version: '1.0.0' } }), manifest('github.com/acme/b', { east: { version: '1.0.0' } }));
    w.sous.hooks.scheduler.for('memory').call({ name: 'east', def: { Kind: 'memory' } });
    const east = w.mem.schedulers.get('east')!;
    east.behaviour = (a, attempt) =>
      a.deploymentID.endsWith('/a') && attempt < 3
        ? { throw: new SousError('ENGINE_BUSY', 'try later', { details: { retryable: true } }) }
        : a.deploymentID.endsWith('/b')
          ? { throw: new SousError('IMAGE_REFUSED', 'no such image') }
          : 'ok';
    const r = await w.rectifier.run({ filters: {} });
    const byId = Object.fromEntries(r.outcomes.map((o) => [o.action.deploymentID, o]));
    expect(byId['east:github.com/acme/a']).toMatchObject({ status: 'Active', attempts: 3 });
    expect(byId['east:github.com/acme/b']).toMatchObject({ status: 'Failed', attempts: 1 });
    expect(byId['east:github.com/acme/b'].message).toContain('IMAGE_REFUSED');
  });

  it('keeps going when one cluster cannot be read, and does not treat its deployments as removed', async () => {
    const w = await world();
    await put(w, manifest('github.com/acme/shop', { east: { version: '1.0.0' }, west: { version: '1.0.0' } }));
    await w.rectifier.run({ filters: {} });
    w.mem.schedulers.get('west')!.failActual = new SousError('SCHEDULER_UNREACHABLE', 'connection refused');
    await put(w, manifest('github.com/acme/shop', { east: { version: '2.0.0' }, west: { version: '2.0.0' } }));
    const r = await w.rectifier.run({ filters: {} });
    expect(r.plan.errors.map((e) => [e.cluster, e.code])).toEqual([['west', 'SCHEDULER_UNREACHABLE']]);
    expect(r.outcomes.map((o) => o.action.deploymentID)).toEqual(['east:github.com/acme/shop']);
  });

  it('reports a cluster whose kind no plugin handles', async () => {
    const w = await world({ clusters: { east: { Kind: 'memory' }, mars: { Kind: 'rover' } } });
    await put(w, manifest('github.com/acme/shop', { east: { version: '1.0.0' }, mars: { version: '1.0.0' } }));
    const r = await w.rectifier.run({ filters: {} });
    expect(r.plan.errors).toEqual([expect.objectContaining({ cluster: 'mars', code: 'UNKNOWN_CLUSTER_KIND' })]);
    expect(r.outcomes.map((o) => o.action.deploymentID)).toEqual(['east:github.com/acme/shop']);
  });

  it('notices drift (actual changed without a GDM change) and converges again', async () => {
    const w = await world();
    await put(w, manifest('github.com/acme/shop', { east: { version: '1.0.0', instances: 2 } }));
    await w.rectifier.run({ filters: {} });
    const running = w.mem.schedulers.get('east')!.deployments.get('east:github.com/acme/shop')!;
    running.spec.NumInstances = 1;
    const r = await w.rectifier.run({ filters: {} });
    expect(r.outcomes.map((o) => [o.action.kind, o.status])).toEqual([['scale', 'Active']]);
    expect(w.events.filter((e) => e.type === 'rectify.drift').map((e) => e.deploymentID)).toEqual(['east:github.com/acme/shop']);
  });

  it('never has more actions in flight on one scheduler than the concurrency allows', async () => {
    const w = await world({ rectify: { concurrency: 3 } });
    const ms = Array.from({ length: 12 }, (_, i) => manifest(`github.com/acme/app${i}`, { east: { version: '1.0.0' } }));
    await put(w, ...ms);
    w.sous.hooks.scheduler.for('memory').call({ name: 'east', def: { Kind: 'memory' } });
    w.mem.schedulers.get('east')!.delayMs = 20;
    const r = await w.rectifier.run({ filters: {} });
    expect(r.outcomes).toHaveLength(12);
    expect(w.mem.schedulers.get('east')!.maxInFlight).toBe(3);
  });

  it('lets only one rectifier act on a cluster at a time', async () => {
    const w = await world();
    await put(w, manifest('github.com/acme/shop', { east: { version: '1.0.0' } }));
    w.sous.hooks.scheduler.for('memory').call({ name: 'east', def: { Kind: 'memory' } });
    w.mem.schedulers.get('east')!.delayMs = 300;
    const other = new Rectifier(w.sous, w.gdm, path.join(w.dir, 'status'));
    const [a, b] = await Promise.all([w.rectifier.run({ filters: { cluster: 'east' } }), other.run({ filters: { cluster: 'east' } })]);
    const leased = [a, b].filter((r) => r.plan.errors.some((e) => e.code === 'CLUSTER_LEASED'));
    expect(leased).toHaveLength(1);
    expect(w.mem.schedulers.get('east')!.calls).toHaveLength(1);
  });

  it('restricts the plan to the filters', async () => {
    const w = await world();
    await put(w, manifest('github.com/acme/a', { east: { version: '1.0.0' }, west: { version: '1.0.0' } }), manifest('github.com/acme/b', { east: { version: '1.0.0' } }));
    const { plan } = await w.rectifier.plan({ filters: { repo: 'github.com/acme/a', cluster: 'west' } });
    expect(plan.actions.map((a) => a.deploymentID)).toEqual(['west:github.com/acme/a']);
  });
});
