/**
 * Faults the docker scheduler and the rectifier must survive, on a private
 * engine (so it can be restarted): the engine restarting mid-rollout, the
 * rectifier killed mid-action and restarted (the real binary), two
 * rectifiers at once, a dead lease holder, and a manifest for a cluster of
 * an unknown kind.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import { Gdm } from '@sous/core';
import { ContainerLease, DockerSchedulerPlugin, Engine, LABELS, parseEngineURL } from '@sous/plugin-scheduler-docker';
import { cluster, deployApp, httpGet, makeWorld, USER, type World } from './helpers/rectify-world';
import { appImage, type AppImage } from './helpers/sched-images';
import { makeSousEnv, requireBuilt, ROOT, SOUS_BIN, sous, sousEnv } from './helpers/sous';
import { tempDir } from './helpers/state-repo';
import { startTestEngine, type TestEngine } from './helpers/test-engine';

jest.setTimeout(300_000);

let engine: TestEngine;
let apps: Record<'v1' | 'v2' | 'slow', AppImage>;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function containers(id: string): { Id: string; State: string; Labels: Record<string, string> }[] {
  const out = engine.docker(['ps', '-a', '--filter', `label=${LABELS.deployment}=${id}`, '--format', '{{json .}}']).split('\n').filter(Boolean);
  return out.map((l) => {
    const j = JSON.parse(l) as { ID: string; State: string; Labels: string };
    return { Id: j.ID, State: j.State, Labels: Object.fromEntries(j.Labels.split(',').map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)])) };
  });
}

async function served(id: string): Promise<string[]> {
  const out: string[] = [];
  for (const c of containers(id).filter((x) => x.State === 'running')) {
    const port = engine.docker(['port', c.Id, '8080/tcp']).split('\n')[0].split(':').pop();
    out.push((await httpGet(`http://127.0.0.1:${port}/`)).body.trim());
  }
  return out.sort();
}

/** Resolves once `what()` holds. */
async function until(what: () => boolean, timeoutMs = 60_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!what()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await sleep(100);
  }
}

const newPlugin = () => new DockerSchedulerPlugin({ stopGraceSeconds: 2, settleMs: 500 });

beforeAll(async () => {
  requireBuilt();
  apps = { v1: appImage('v1'), v2: appImage('v2'), slow: appImage('slow') };
  engine = await startTestEngine('sf', 14);
});

afterAll(async () => {
  if (engine) {
    engine.removeLabelled(LABELS.cluster, LABELS.lease);
    await engine.destroy();
  }
});

describe('rectifying through faults', () => {
  let w: World;
  beforeAll(async () => {
    w = await makeWorld({ local: cluster('docker', engine.address), odd: cluster('nomad', 'http://127.0.0.1:4646') }, [newPlugin()], { retries: 6, holdAfterFailures: 10 });
  });

  it('survives the engine restarting mid-rollout: converges with no duplicate containers', async () => {
    const ID = 'local:github.com/acme/restart';
    await deployApp(w, 'local', { repo: 'github.com/acme/restart', version: '1.0.0', app: apps.v1, instances: 2 });
    expect((await w.rectifier.run()).outcomes.map((o) => o.status)).toEqual(['Active']);
    await deployApp(w, 'local', { repo: 'github.com/acme/restart', version: '2.0.0', app: apps.slow, instances: 2 });
    let finished = false;
    const pass = w.rectifier.run().finally(() => (finished = true));
    await until(() => containers(ID).some((c) => c.Labels[LABELS.version] === '2.0.0'));
    expect(finished).toBe(false);
    await engine.stop();
    await sleep(500);
    await engine.start();
    const first = await pass;
    // The instance the engine stopped comes back with it, and the rollout goes on where it was.
    expect(first.outcomes.map((o) => [o.action.kind, o.status])).toEqual([['update', 'Active']]);
    const final = containers(ID);
    expect(final.map((c) => [c.Labels[LABELS.version], c.State])).toEqual([
      ['2.0.0', 'running'],
      ['2.0.0', 'running'],
    ]);
    expect(await served(ID)).toEqual(['app slow', 'app slow']);
    const { plan } = await w.rectifier.plan({ filters: { cluster: 'local' } });
    expect(plan.unchanged).toContain(ID);
  });

  it('lets only one of two rectifiers act on the cluster at once; no duplicates', async () => {
    const ID = 'local:github.com/acme/twice';
    await deployApp(w, 'local', { repo: 'github.com/acme/twice', version: '1.0.0', app: apps.slow, instances: 2 });
    const other = await w.another([newPlugin()]);
    const scope = { filters: { cluster: 'local', repo: 'github.com/acme/twice' } };
    const [a, b] = await Promise.all([w.rectifier.run(scope), other.run(scope)]);
    const acted = [a, b].filter((r) => r.outcomes.length);
    const leased = [a, b].filter((r) => r.plan.errors.some((e) => e.code === 'CLUSTER_LEASED'));
    expect(acted).toHaveLength(1);
    expect(acted[0].outcomes.map((o) => [o.action.kind, o.status])).toEqual([['create', 'Active']]);
    expect(leased).toHaveLength(1);
    expect(containers(ID)).toHaveLength(2);
    const again = await other.run(scope);
    expect(again.outcomes).toEqual([]);
    expect(containers(ID)).toHaveLength(2);
  });

  it('reports a cluster of an unknown kind and still rectifies the others', async () => {
    await deployApp(w, 'odd', { repo: 'github.com/acme/odd', version: '1.0.0', app: apps.v1, instances: 1 });
    await deployApp(w, 'local', { repo: 'github.com/acme/odd', version: '1.0.0', app: apps.v1, instances: 1 });
    const r = await w.rectifier.run({ filters: { repo: 'github.com/acme/odd' } });
    expect(r.plan.errors).toEqual([{ cluster: 'odd', code: 'UNKNOWN_CLUSTER_KIND', message: 'no scheduler plugin handles clusters of kind "nomad" (cluster odd)' }]);
    expect(r.outcomes.map((o) => [o.action.deploymentID, o.status])).toEqual([['local:github.com/acme/odd', 'Active']]);
    expect(await served('local:github.com/acme/odd')).toEqual(['app 1.0.0']);
  });
});

describe('the engine-side lease', () => {
  const e = () => new Engine(parseEngineURL(engine.address, 'lease'));

  it('has one holder at a time, is renewed, and is free again once released', async () => {
    const a = await ContainerLease.take(e(), 'leased', 'a', 30_000);
    expect(a).toBeDefined();
    expect(await ContainerLease.take(e(), 'leased', 'b', 30_000)).toBeUndefined();
    expect(await a!.renew()).toBe(true);
    expect(await ContainerLease.take(e(), 'leased', 'b', 30_000)).toBeUndefined();
    await a!.release();
    const b = await ContainerLease.take(e(), 'leased', 'b', 30_000);
    expect(b).toBeDefined();
    await b!.release();
  });

  it('runs out when its holder stops renewing, and the old holder learns it lost it', async () => {
    const a = await ContainerLease.take(e(), 'expiring', 'a', 1000, 1000);
    expect(a).toBeDefined();
    expect(await ContainerLease.take(e(), 'expiring', 'b', 1000, 1000)).toBeUndefined();
    let b: Awaited<ReturnType<typeof ContainerLease.take>>;
    const end = Date.now() + 10_000;
    while (!(b = await ContainerLease.take(e(), 'expiring', 'b', 1000, 1000)) && Date.now() < end) await sleep(200);
    expect(b).toBeDefined();
    expect(await a!.renew()).toBe(false);
    await b!.release();
  });

  it('is taken over at once from a holder that died on this machine', async () => {
    const script = `const p=require(${JSON.stringify(path.join(ROOT, 'packages/plugin-scheduler-docker/dist'))});p.ContainerLease.take(new p.Engine(p.parseEngineURL(${JSON.stringify(engine.address)},'x')),'orphaned','child',60000).then((l)=>{console.log(l?'held':'busy');setInterval(()=>{},1000)})`;
    const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    const said = await new Promise<string>((resolve) => child.stdout.once('data', (d: Buffer) => resolve(d.toString().trim())));
    expect(said).toBe('held');
    expect(await ContainerLease.take(e(), 'orphaned', 'parent', 60_000)).toBeUndefined();
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    const mine = await ContainerLease.take(e(), 'orphaned', 'parent', 60_000);
    expect(mine).toBeDefined();
    await mine!.release();
  });
});

describe('the sous binary killed mid-action', () => {
  it('restarted, finishes the rollout from the labels without duplicating containers', async () => {
    const dir = tempDir('sous-faults-cli-');
    const env = makeSousEnv(dir);
    const REPO = 'github.com/acme/killed';
    const ID = `cli:${REPO}`;
    const gdm = await Gdm.open(env.state, { user: USER });
    await gdm.update((s) => ({ change: { message: 'cluster', defs: { ...s.defs, Clusters: { cli: cluster('docker', engine.address) } } }, result: undefined }), USER);
    const put = async (version: string, app: AppImage) =>
      gdm.update(
        () => ({
          change: {
            message: `intend ${version}`,
            setManifests: [{ Source: REPO, Owners: ['o@example.com'], Kind: 'http-service', Deployments: { cli: { Resources: { cpus: '0.1', memory: '32', ports: '1' }, NumInstances: 2, Version: version, Digest: app.digest, Image: app.image } } }],
            artifacts: [{ Source: REPO, Version: version, Image: app.image, Digest: app.digest, Deployable: true }],
          },
          result: undefined,
        }),
        USER,
      );
    try {
      await put('1.0.0', apps.v1);
      const first = await sous(env, ['rectify', '--all']);
      expect([first.code, first.stdout]).toEqual([0, expect.stringMatching(/Active +cli:github\.com\/acme\/killed: created/)]);
      await put('2.0.0', apps.slow);
      const child = spawn(process.execPath, [SOUS_BIN, 'rectify', '--all'], { env: sousEnv(env), stdio: 'ignore' });
      await until(() => containers(ID).some((c) => c.Labels[LABELS.version] === '2.0.0'));
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
      const mixed = containers(ID).map((c) => c.Labels[LABELS.version]).sort();
      expect(mixed).toEqual(['1.0.0', '1.0.0', '2.0.0']);
      const plan = await sous(env, ['plan', '--all', '--json']);
      expect(plan.json.plan.actions).toEqual([expect.objectContaining({ deploymentID: ID })]);
      const again = await sous(env, ['rectify', '--all']);
      expect(again.code).toBe(0);
      expect(again.stdout).toMatch(/Active +cli:github\.com\/acme\/killed/);
      const final = containers(ID);
      expect(final.map((c) => [c.Labels[LABELS.version], c.State])).toEqual([
        ['2.0.0', 'running'],
        ['2.0.0', 'running'],
      ]);
      expect(await served(ID)).toEqual(['app slow', 'app slow']);
      expect((await sous(env, ['rectify', '--all'])).stdout).toContain('Nothing to do');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
