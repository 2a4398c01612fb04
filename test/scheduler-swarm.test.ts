/**
 * The swarm scheduler on a real single-node swarm (a private dockerd in
 * swarm mode), driven by the real rectifier over a real git-backed GDM.
 */
import { Engine, LABELS, parseEngineURL } from '@sous/plugin-scheduler-docker';
import { ConfigLease, serviceName, SwarmSchedulerPlugin } from '@sous/plugin-scheduler-swarm';
import { cluster, deployApp, httpGet, makeWorld, undeployApp, type World } from './helpers/rectify-world';
import { appImage, type AppImage } from './helpers/sched-images';
import { startTestEngine, type TestEngine } from './helpers/test-engine';

jest.setTimeout(240_000);

const REPO = 'github.com/acme/cart';
const ID = `swarm:${REPO}`;
const NAME = serviceName(ID);

let engine: TestEngine;
let w: World;
let apps: Record<'v1' | 'v2' | 'v3' | 'crash' | 'sick', AppImage>;

interface TaskInfo {
  ID: string;
  DesiredState: string;
  Status: { State: string; PortStatus?: { Ports?: { TargetPort: number; PublishedPort: number }[] } };
}

interface ServiceInfo {
  ID: string;
  Spec: {
    Labels: Record<string, string>;
    TaskTemplate: { ContainerSpec: { Image: string; Env: string[]; Labels: Record<string, string>; Healthcheck?: { Test: string[] } }; Resources: { Limits: { NanoCPUs: number; MemoryBytes: number } } };
    Mode: { Replicated: { Replicas: number } };
    UpdateConfig: { Order: string; FailureAction: string; Parallelism: number };
    EndpointSpec: { Ports: { TargetPort: number; PublishMode: string; PublishedPort?: number }[] };
  };
  UpdateStatus?: { State: string };
}

function service(name = NAME): ServiceInfo | undefined {
  const out = engine.docker(['service', 'inspect', name], { allowFail: true });
  return out ? (JSON.parse(out) as ServiceInfo[])[0] : undefined;
}

function runningTasks(name = NAME): TaskInfo[] {
  const ids = engine.docker(['service', 'ps', name, '-q', '--filter', 'desired-state=running'], { allowFail: true }).split('\n').filter(Boolean);
  if (!ids.length) return [];
  return (JSON.parse(engine.docker(['inspect', ...ids])) as TaskInfo[]).filter((t) => t.Status.State === 'running');
}

async function served(name = NAME): Promise<string[]> {
  const out: string[] = [];
  for (const t of runningTasks(name)) out.push((await httpGet(`http://127.0.0.1:${t.Status.PortStatus!.Ports![0].PublishedPort}/`)).body.trim());
  return out.sort();
}

/** What serves once swarm has finished replacing tasks (a rollback starts the old version's task before the last one stops). */
async function servedOnce(count: number, name = NAME): Promise<string[]> {
  const end = Date.now() + 20_000;
  let got = await served(name);
  while (got.length !== count && Date.now() < end) {
    await new Promise((r) => setTimeout(r, 250));
    got = await served(name);
  }
  return got;
}

const plugin = () => new SwarmSchedulerPlugin({ updateMonitorSeconds: 1, stopGraceSeconds: 2, settleMs: 500, clusters: { guarded: { healthcheck: 'wget' } } });

beforeAll(async () => {
  apps = { v1: appImage('v1'), v2: appImage('v2'), v3: appImage('v3'), crash: appImage('crash'), sick: appImage('sick') };
  engine = await startTestEngine('ss', 12);
  engine.swarmInit();
  w = await makeWorld({ swarm: cluster('swarm', engine.address), guarded: cluster('swarm', engine.address) }, [plugin()], { holdAfterFailures: 10 });
});

afterAll(async () => {
  if (engine) {
    const left = engine.docker(['service', 'ls', '-q', '--filter', `label=${LABELS.cluster}`], { allowFail: true }).split('\n').filter(Boolean);
    if (left.length) engine.docker(['service', 'rm', ...left], { allowFail: true });
    await engine.destroy();
  }
});

describe('swarm scheduler', () => {
  it('creates a service: replicas, env, limits, host-mode ports, start-first updates with rollback, labels', async () => {
    await deployApp(w, 'swarm', { repo: REPO, version: '1.0.0', app: apps.v1, instances: 2, env: { APP: 'cart' }, resources: { cpus: '0.5', memory: '32', ports: '1' } });
    const r = await w.rectifier.run();
    expect(r.plan.errors).toEqual([]);
    expect(r.outcomes.map((o) => [o.action.kind, o.status, o.resolution])).toEqual([['create', 'Active', 'created']]);
    const s = service()!;
    expect(s.Spec.Mode.Replicated.Replicas).toBe(2);
    expect(s.Spec.TaskTemplate.ContainerSpec.Image).toBe(apps.v1.ref);
    expect(s.Spec.TaskTemplate.ContainerSpec.Env).toEqual(expect.arrayContaining(['APP=cart', 'CLUSTER_ENV=from-cluster', 'PORT0=8080', 'PORT=8080', 'TASK_HOST={{.Node.Hostname}}']));
    expect(s.Spec.TaskTemplate.Resources.Limits).toEqual({ NanoCPUs: 500_000_000, MemoryBytes: 32 * 1024 * 1024 });
    expect(s.Spec.EndpointSpec.Ports).toEqual([expect.objectContaining({ TargetPort: 8080, PublishMode: 'host' })]);
    expect(s.Spec.EndpointSpec.Ports[0].PublishedPort ?? 0).toBe(0);
    expect(s.Spec.UpdateConfig).toMatchObject({ Order: 'start-first', FailureAction: 'rollback', Parallelism: 1 });
    expect(s.Spec.Labels).toMatchObject({ [LABELS.deployment]: ID, [LABELS.cluster]: 'swarm', [LABELS.version]: '1.0.0', [LABELS.digest]: apps.v1.digest });
    expect(s.Spec.TaskTemplate.ContainerSpec.Healthcheck).toBeUndefined();
    expect(await served()).toEqual(['app 1.0.0', 'app 1.0.0']);
  });

  it('reads the service back from its labels: a fresh rectifier finds nothing to do', async () => {
    const fresh = await w.another([plugin()]);
    const { plan, actual } = await fresh.plan();
    expect(plan.actions).toEqual([]);
    expect(actual).toEqual([expect.objectContaining({ id: ID, status: 'Active', spec: expect.objectContaining({ Version: '1.0.0', NumInstances: 2 }) })]);
  });

  it('rolls a new version and waits for swarm to call the update complete', async () => {
    const before = runningTasks().map((t) => t.ID);
    await deployApp(w, 'swarm', { repo: REPO, version: '2.0.0', app: apps.v2, instances: 2, env: { APP: 'cart' }, resources: { cpus: '0.5', memory: '32', ports: '1' } });
    const r = await w.rectifier.run();
    expect(r.outcomes.map((o) => [o.action.kind, o.status, o.action.reason])).toEqual([['update', 'Active', 'version 1.0.0 → 2.0.0']]);
    expect(service()!.UpdateStatus?.State).toBe('completed');
    expect(runningTasks().map((t) => t.ID).filter((id) => before.includes(id))).toEqual([]);
    expect(await served()).toEqual(['app 2.0.0', 'app 2.0.0']);
  });

  it('scales without replacing tasks, and changes owners without replacing tasks', async () => {
    const spec = { repo: REPO, version: '2.0.0', app: apps.v2, env: { APP: 'cart' }, resources: { cpus: '0.5', memory: '32', ports: '1' } };
    const before = runningTasks().map((t) => t.ID);
    await deployApp(w, 'swarm', { ...spec, instances: 3 });
    const up = await w.rectifier.run();
    expect(up.outcomes.map((o) => [o.action.kind, o.status])).toEqual([['scale', 'Active']]);
    const three = runningTasks().map((t) => t.ID);
    expect(three).toHaveLength(3);
    expect(before.every((id) => three.includes(id))).toBe(true);
    await deployApp(w, 'swarm', { ...spec, instances: 2, owners: ['new-team@example.com'] });
    const down = await w.rectifier.run();
    expect(down.outcomes.map((o) => [o.action.kind, o.status])).toEqual([['update', 'Active']]);
    expect(down.outcomes[0].action.reason).toBe('owners, instances 3 → 2');
    const two = runningTasks().map((t) => t.ID);
    expect(two).toHaveLength(2);
    expect(two.every((id) => three.includes(id))).toBe(true);
    expect(JSON.parse(service()!.Spec.Labels[LABELS.state]).owners).toEqual(['new-team@example.com']);
    expect((await w.rectifier.run()).outcomes).toEqual([]);
  });

  it('replaces every task on a forced redeploy of the same version', async () => {
    const before = runningTasks().map((t) => t.ID);
    const r = await w.rectifier.run({ force: true, filters: { cluster: 'swarm' } });
    expect(r.outcomes.map((o) => [o.action.kind, o.status, o.action.reason])).toEqual([['update', 'Active', 'forced redeploy']]);
    const after = runningTasks().map((t) => t.ID);
    expect(after).toHaveLength(2);
    expect(after.filter((id) => before.includes(id))).toEqual([]);
    expect(service()!.Spec.TaskTemplate.ContainerSpec.Image).toBe(apps.v2.ref);
  });

  it('fails a version that crashes on start, with its logs; swarm rolls back and the old version serves', async () => {
    await deployApp(w, 'swarm', { repo: REPO, version: '2.1.0', app: apps.crash, instances: 2 });
    const r = await w.rectifier.run();
    const o = r.outcomes[0];
    expect([o.action.kind, o.status, o.resolution]).toEqual(['update', 'Failed', 'not updated']);
    expect(o.message).toMatch(/rolled the update back/);
    expect(o.message).toMatch(/exit code 3/);
    expect(o.message).toContain('boom: the app cannot start');
    expect(service()!.Spec.TaskTemplate.ContainerSpec.Image).toBe(apps.v2.ref);
    // Swarm's start-first rollback can keep one surplus task of the old version for a while: what matters is that only the old version serves.
    const serving = await servedOnce(2);
    expect(serving.length).toBeGreaterThanOrEqual(2);
    expect(new Set(serving)).toEqual(new Set(['app 2.0.0']));
    const { actual } = await w.rectifier.plan();
    expect(actual.find((d) => d.id === ID)!.spec.Version).toBe('2.0.0');
  });

  it('fails a version whose health check answers a failure status and rolls it back itself', async () => {
    await deployApp(w, 'swarm', { repo: REPO, version: '2.2.0', app: apps.sick, instances: 2, startup: { CheckReadyFailureStatuses: [500] } });
    const r = await w.rectifier.run();
    const o = r.outcomes[0];
    expect(o.status).toBe('Failed');
    expect(o.message).toMatch(/answered 500 \(a failure status\) \(rolled back to the previous version\)/);
    expect(service()!.Spec.TaskTemplate.ContainerSpec.Image).toBe(apps.v2.ref);
    expect(await served()).toEqual(['app 2.0.0', 'app 2.0.0']);
  });

  it('with an in-container health check, a crashing version never replaces a running task', async () => {
    const GID = `guarded:${REPO}`;
    await deployApp(w, 'guarded', { repo: REPO, version: '2.0.0', app: apps.v2, instances: 2, startup: { Timeout: 10, CheckReadyInterval: 1 } });
    const first = await w.rectifier.run({ filters: { cluster: 'guarded' } });
    expect(first.outcomes.map((o) => o.status)).toEqual(['Active']);
    expect(service(serviceName(GID))!.Spec.TaskTemplate.ContainerSpec.Healthcheck!.Test).toEqual(['CMD', 'wget', '-q', '-O', '/dev/null', 'http://127.0.0.1:8080/health']);
    const before = runningTasks(serviceName(GID)).map((t) => t.ID).sort();
    await deployApp(w, 'guarded', { repo: REPO, version: '2.1.0', app: apps.crash, instances: 2, startup: { Timeout: 10, CheckReadyInterval: 1 } });
    const r = await w.rectifier.run({ filters: { cluster: 'guarded' } });
    expect(r.outcomes.map((o) => o.status)).toEqual(['Failed']);
    expect(r.outcomes[0].message).toContain('boom: the app cannot start');
    expect(runningTasks(serviceName(GID)).map((t) => t.ID).sort()).toEqual(before);
    expect(await served(serviceName(GID))).toEqual(['app 2.0.0', 'app 2.0.0']);
    await undeployApp(w, 'guarded', REPO);
    await w.rectifier.run({ prune: true, filters: { cluster: 'guarded' } });
    expect(service(serviceName(GID))).toBeUndefined();
  });

  it('leases the cluster through a swarm config: one holder at a time, taken over once expired, released by expiring', async () => {
    const e = new Engine(parseEngineURL(engine.address, 'swarm'));
    const a = await ConfigLease.take(e, 'lease-test', 'holder-a', 60_000);
    expect(a).toBeDefined();
    expect(await ConfigLease.take(e, 'lease-test', 'holder-b', 60_000)).toBeUndefined();
    expect(await a!.renew()).toBe(true);
    await a!.release();
    const b = await ConfigLease.take(e, 'lease-test', 'holder-b', 1000);
    expect(b).toBeDefined();
    await new Promise((r) => setTimeout(r, 1500));
    const c = await ConfigLease.take(e, 'lease-test', 'holder-c', 60_000);
    expect(c).toBeDefined();
    expect(await b!.renew()).toBe(false);
    await b!.release();
    expect(await ConfigLease.take(e, 'lease-test', 'holder-d', 60_000)).toBeUndefined();
    await c!.release();
    engine.docker(['config', 'rm', ConfigLease.nameFor('lease-test')]);
  });

  it('reports a removed deployment and deletes its service only with prune', async () => {
    await undeployApp(w, 'swarm', REPO);
    const kept = await w.rectifier.run();
    expect(kept.outcomes.map((o) => o.action.kind)).toEqual(['report-removed']);
    expect(service()).toBeDefined();
    const pruned = await w.rectifier.run({ prune: true });
    expect(pruned.outcomes.map((o) => [o.action.kind, o.status])).toEqual([['delete', 'Active']]);
    expect(service()).toBeUndefined();
  });
});
