/**
 * The docker scheduler on a real engine (a private dockerd), driven by the
 * real rectifier over a real git-backed GDM.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DockerSchedulerPlugin, LABELS } from '@sous/plugin-scheduler-docker';
import { cluster, deployApp, httpGet, makeWorld, undeployApp, type World } from './helpers/rectify-world';
import { appImage, type AppImage } from './helpers/sched-images';
import { startTestEngine, type TestEngine } from './helpers/test-engine';

jest.setTimeout(180_000);

const REPO = 'github.com/acme/shop';
const ID = `local:${REPO}`;

let engine: TestEngine;
let w: World;
let plugin: DockerSchedulerPlugin;
let apps: Record<'v1' | 'v2' | 'v3' | 'crash' | 'sick', AppImage>;

interface Inspected {
  Id: string;
  Name: string;
  State: { Status: string };
  Config: { Env: string[]; Labels: Record<string, string> };
  HostConfig: { NanoCpus: number; Memory: number; Binds: string[]; RestartPolicy: { Name: string }; PortBindings: Record<string, { HostIp: string }[]> };
  NetworkSettings: { Ports: Record<string, { HostIp: string; HostPort: string }[] | null> };
}

function containers(id = ID): Inspected[] {
  const ids = engine.docker(['ps', '-aq', '--filter', `label=${LABELS.deployment}=${id}`]).split('\n').filter(Boolean);
  if (!ids.length) return [];
  return JSON.parse(engine.docker(['inspect', ...ids])) as Inspected[];
}

function hostPort(c: Inspected): number {
  return Number(c.NetworkSettings.Ports['8080/tcp']![0].HostPort);
}

async function served(): Promise<string[]> {
  const out: string[] = [];
  for (const c of containers().filter((x) => x.State.Status === 'running')) out.push((await httpGet(`http://127.0.0.1:${hostPort(c)}/`)).body.trim());
  return out.sort();
}

beforeAll(async () => {
  apps = { v1: appImage('v1'), v2: appImage('v2'), v3: appImage('v3'), crash: appImage('crash'), sick: appImage('sick') };
  engine = await startTestEngine('sd', 11);
  plugin = new DockerSchedulerPlugin({ stopGraceSeconds: 2, settleMs: 500 });
  w = await makeWorld({ local: cluster('docker', engine.address, { Env: { CLUSTER_ENV: 'from-cluster', SHARED: 'cluster' } }) }, [plugin], { holdAfterFailures: 10 });
});

afterAll(async () => {
  if (engine) {
    engine.removeLabelled(LABELS.cluster);
    await engine.destroy();
  }
});

describe('docker scheduler', () => {
  it('creates a deployment: labelled containers with env, ports, limits, volumes and restart policy, ready through their published ports', async () => {
    const vol = fs.mkdtempSync(path.join(w.dir, 'vol-'));
    fs.writeFileSync(path.join(vol, 'data.txt'), 'from the host\n');
    await deployApp(w, 'local', {
      repo: REPO,
      version: '1.0.0',
      app: apps.v1,
      instances: 2,
      env: { SHARED: 'spec', APP_ONLY: 'yes' },
      resources: { cpus: '0.25', memory: '48', ports: '2' },
      volumes: [{ Host: vol, Container: '/data', Mode: 'RO' }],
    });
    const r = await w.rectifier.run();
    expect(r.plan.errors).toEqual([]);
    expect(r.outcomes.map((o) => [o.action.kind, o.action.deploymentID, o.status, o.resolution])).toEqual([['create', ID, 'Active', 'created']]);
    const cs = containers();
    expect(cs).toHaveLength(2);
    for (const c of cs) {
      const env = Object.fromEntries(c.Config.Env.map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]));
      expect(env).toMatchObject({ SHARED: 'spec', APP_ONLY: 'yes', CLUSTER_ENV: 'from-cluster', PORT0: '8080', PORT1: '8081', PORT: '8080', TASK_HOST: '127.0.0.1' });
      expect(c.Config.Labels).toMatchObject({ [LABELS.deployment]: ID, [LABELS.cluster]: 'local', [LABELS.manifest]: REPO, [LABELS.version]: '1.0.0', [LABELS.digest]: apps.v1.digest });
      expect(JSON.parse(c.Config.Labels[LABELS.state]).spec).toMatchObject({ Version: '1.0.0', Image: apps.v1.image });
      expect(c.HostConfig.NanoCpus).toBe(250_000_000);
      expect(c.HostConfig.Memory).toBe(48 * 1024 * 1024);
      expect(c.HostConfig.Binds).toEqual([`${vol}:/data:ro`]);
      expect(c.HostConfig.RestartPolicy.Name).toBe('unless-stopped');
      expect(Object.keys(c.HostConfig.PortBindings).sort()).toEqual(['8080/tcp', '8081/tcp']);
      expect(c.HostConfig.PortBindings['8080/tcp'][0].HostIp).toBe('127.0.0.1');
      expect(engine.docker(['exec', c.Id, 'cat', '/data/data.txt'])).toBe('from the host');
    }
    expect(await served()).toEqual(['app 1.0.0', 'app 1.0.0']);
  });

  it('reads the same deployment back from the labels alone: a fresh rectifier and plugin find nothing to do', async () => {
    const fresh = await w.another([new DockerSchedulerPlugin({ stopGraceSeconds: 2 })]);
    const { plan, actual } = await fresh.plan();
    expect(plan.actions).toEqual([]);
    expect(plan.unchanged).toEqual([ID]);
    expect(actual).toEqual([expect.objectContaining({ id: ID, status: 'Active', spec: expect.objectContaining({ Version: '1.0.0', NumInstances: 2, Digest: apps.v1.digest }) })]);
    const again = await fresh.run();
    expect(again.outcomes).toEqual([]);
    expect(containers()).toHaveLength(2);
  });

  it('rolls an update: new containers ready before old ones stop, then only the new version serves', async () => {
    const before = containers().map((c) => c.Id);
    await deployApp(w, 'local', { repo: REPO, version: '2.0.0', app: apps.v2, instances: 2, env: { SHARED: 'spec', APP_ONLY: 'yes' }, resources: { cpus: '0.25', memory: '48', ports: '2' } });
    const progress: string[] = [];
    const r = await w.rectifier.run({ observer: { progress: (_a, p) => progress.push(p.message) } });
    expect(r.outcomes.map((o) => [o.action.kind, o.status, o.action.reason])).toEqual([['update', 'Active', 'version 1.0.0 → 2.0.0, volumes']]);
    const after = containers();
    expect(after).toHaveLength(2);
    expect(after.map((c) => c.Id).filter((id) => before.includes(id))).toEqual([]);
    expect(await served()).toEqual(['app 2.0.0', 'app 2.0.0']);
    // One at a time: a start, then a stop, then the next start.
    const steps = progress.filter((m) => /^(starting|stopping)/.test(m)).map((m) => m.split(' ')[0]);
    expect(steps).toEqual(['starting', 'stopping', 'starting', 'stopping']);
  });

  it('scales up and down, keeping the instances that run', async () => {
    const spec = { repo: REPO, version: '2.0.0', app: apps.v2, env: { SHARED: 'spec', APP_ONLY: 'yes' }, resources: { cpus: '0.25', memory: '48', ports: '2' } };
    const before = containers().map((c) => c.Id);
    await deployApp(w, 'local', { ...spec, instances: 3 });
    const up = await w.rectifier.run();
    expect(up.outcomes.map((o) => [o.action.kind, o.status])).toEqual([['scale', 'Active']]);
    const three = containers().map((c) => c.Id);
    expect(three).toHaveLength(3);
    expect(before.every((id) => three.includes(id))).toBe(true);
    await deployApp(w, 'local', { ...spec, instances: 1 });
    const down = await w.rectifier.run();
    expect(down.outcomes.map((o) => [o.action.kind, o.status])).toEqual([['scale', 'Active']]);
    expect(containers()).toHaveLength(1);
    expect(await served()).toEqual(['app 2.0.0']);
  });

  it('fails a version that crashes on start with its logs, and the old version keeps serving', async () => {
    const before = containers().map((c) => c.Id);
    await deployApp(w, 'local', { repo: REPO, version: '2.1.0', app: apps.crash, instances: 1 });
    const r = await w.rectifier.run();
    const o = r.outcomes[0];
    expect([o.action.kind, o.status, o.resolution]).toEqual(['update', 'Failed', 'not updated']);
    expect(o.message).toMatch(/exited with code 3/);
    expect(o.message).toContain('boom: the app cannot start');
    expect(containers().map((c) => c.Id)).toEqual(before);
    expect(await served()).toEqual(['app 2.0.0']);
    const status = (await w.rectifier.status.all()).find((s) => s.id === ID)!;
    expect(status).toMatchObject({ status: 'Failed', failures: 1, version: '2.1.0' });
    expect(w.events.filter((e) => e.type === 'deploy.failed').at(-1)).toMatchObject({ deploymentID: ID, version: '2.1.0' });
  });

  it('fails a version whose health check answers a failure status, without waiting for the timeout', async () => {
    await deployApp(w, 'local', { repo: REPO, version: '2.2.0', app: apps.sick, instances: 1, startup: { CheckReadyFailureStatuses: [500], Timeout: 120 } });
    const r = await w.rectifier.run();
    const o = r.outcomes[0];
    expect(o.status).toBe('Failed');
    expect(o.message).toMatch(/\/health answered 500 \(a failure status\)/);
    expect(await served()).toEqual(['app 2.0.0']);
  });

  it('gives up a never-ready version after CheckReadyRetries probes', async () => {
    await deployApp(w, 'local', { repo: REPO, version: '2.3.0', app: apps.sick, instances: 1, startup: { CheckReadyRetries: 3, CheckReadyInterval: 1 } });
    const r = await w.rectifier.run();
    expect(r.outcomes[0].status).toBe('Failed');
    expect(r.outcomes[0].message).toMatch(/not ready after 3 checks: .*answered 500/);
    expect(await served()).toEqual(['app 2.0.0']);
  });

  it('recovers: the next good version rolls out over the old one', async () => {
    await deployApp(w, 'local', { repo: REPO, version: '3.0.0', app: apps.v3, instances: 2 });
    const r = await w.rectifier.run();
    expect(r.outcomes.map((o) => o.status)).toEqual(['Active']);
    expect(await served()).toEqual(['app 3.0.0', 'app 3.0.0']);
    expect((await w.rectifier.status.all()).find((s) => s.id === ID)).toMatchObject({ status: 'Active', failures: 0 });
  });

  it('replaces every instance, one at a time, on a forced redeploy of the same version', async () => {
    const before = containers().map((c) => c.Id);
    const r = await w.rectifier.run({ force: true });
    expect(r.outcomes.map((o) => [o.action.kind, o.status, o.action.reason])).toEqual([['update', 'Active', 'forced redeploy']]);
    const after = containers().map((c) => c.Id);
    expect(after).toHaveLength(2);
    expect(after.filter((id) => before.includes(id))).toEqual([]);
    expect(await served()).toEqual(['app 3.0.0', 'app 3.0.0']);
  });

  it('refuses a deployment without an image repository, and a kind it cannot run', async () => {
    await w.gdm.update(
      (s) => ({
        change: {
          message: 'two odd ones',
          setManifests: [
            { Source: 'github.com/acme/noimage', Owners: [], Kind: 'http-service', Deployments: { local: { NumInstances: 1, Version: '1.0.0', Digest: apps.v1.digest } } },
            { Source: 'github.com/acme/cron', Owners: [], Kind: 'scheduled', Deployments: { local: { NumInstances: 1, Version: '1.0.0', Digest: apps.v1.digest, Image: apps.v1.image, Schedule: '*/5 * * * *' } } },
          ],
        },
        result: undefined,
      }),
      { name: 't', email: 't@example.com' },
    );
    const r = await w.rectifier.run();
    const by = Object.fromEntries(r.outcomes.map((o) => [o.action.deploymentID, o]));
    expect(by['local:github.com/acme/noimage']).toMatchObject({ status: 'Failed', resolution: 'not created' });
    expect(by['local:github.com/acme/noimage'].message).toMatch(/names no image repository \[IMAGE_UNKNOWN\]/);
    expect(by['local:github.com/acme/cron'].message).toMatch(/not "scheduled" \[KIND_UNSUPPORTED\]/);
    expect(containers('local:github.com/acme/noimage')).toEqual([]);
    expect(containers('local:github.com/acme/cron')).toEqual([]);
    await w.gdm.update(() => ({ change: { message: 'drop them', deleteManifests: [{ source: { repo: 'github.com/acme/noimage', dir: '' }, flavor: '' }, { source: { repo: 'github.com/acme/cron', dir: '' }, flavor: '' }] }, result: undefined }), { name: 't', email: 't@example.com' });
  });

  it('reports a deployment no longer intended, and deletes it only with prune', async () => {
    await undeployApp(w, 'local', REPO);
    const kept = await w.rectifier.run();
    expect(kept.outcomes.map((o) => [o.action.kind, o.resolution])).toEqual([['report-removed', 'not deleted']]);
    expect(containers()).toHaveLength(2);
    const pruned = await w.rectifier.run({ prune: true });
    expect(pruned.outcomes.map((o) => [o.action.kind, o.status, o.resolution])).toEqual([['delete', 'Active', 'deleted']]);
    expect(containers()).toEqual([]);
    expect((await w.rectifier.run({ prune: true })).outcomes).toEqual([]);
  });
});
