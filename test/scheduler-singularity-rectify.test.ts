/**
 * `sous rectify` end to end on Singularity: the core Rectifier, a real
 * git-backed GDM in a temporary directory, the Singularity plugin applied
 * the way the CLI applies it, and modelled Singularity exchanges
 * (test/fixtures/modelled/singularity/rectify.json) in place of a cluster.
 */
import * as path from 'node:path';
import { Gdm, Rectifier, type Manifest, type SousEvent } from '@sous/core';
import { singularityScheduler } from '@sous/plugin-scheduler-singularity';
import { ReplayServer } from './helpers/replay-server';
import { git } from './helpers/state-repo';
import { DIGEST_B, eastCluster, makeSous, manifest, shopSpec, tempDir, USER } from './scheduler-singularity-world';

const SHOP = 'east:github.com/acme/shop';
let replay: ReplayServer | undefined;

afterEach(async () => {
  await replay?.close();
  replay = undefined;
});

/** A Sous and a Rectifier as a fresh process would make them: no memory but the GDM and the cluster. */
async function rectifierFor(gdm: Gdm, dir: string, events: SousEvent[]): Promise<Rectifier> {
  const sous = await makeSous(dir);
  sous.use(singularityScheduler({ pollMs: 5 }));
  sous.hooks.event.tapPromise('test', async (e) => {
    events.push(e);
  });
  return new Rectifier(sous, gdm, path.join(dir, 'status'));
}

async function put(gdm: Gdm, m: Manifest): Promise<void> {
  await gdm.update(() => ({ change: { message: `set ${m.Source}`, setManifests: [m] }, result: undefined }), USER);
}

describe('sous rectify on Singularity (modelled exchanges)', () => {
  it('creates, converges, survives a restart with no memory, deploys a new version, reports a removed deployment and prunes it', async () => {
    replay = await ReplayServer.start('singularity/rectify');
    const dir = tempDir('sous-sing-rectify-');
    const gdm = await Gdm.open(path.join(dir, 'state'), { user: USER });
    await gdm.update((s) => ({ change: { message: 'cluster east', defs: { ...s.defs, Clusters: { east: eastCluster(replay!.url) } } }, result: undefined }), USER);
    await put(gdm, manifest('github.com/acme/shop', 'http-service', shopSpec()));
    const events: SousEvent[] = [];

    const first = await rectifierFor(gdm, path.join(dir, 'one'), events);
    const created = await first.run({});
    expect(created.plan.errors).toEqual([]);
    expect(created.outcomes.map((o) => [o.action.kind, o.action.deploymentID, o.resolution, o.status])).toEqual([['create', SHOP, 'created', 'Active']]);
    expect(events.filter((e) => e.type === 'deploy.succeeded').map((e) => e.deploymentID)).toEqual([SHOP]);

    const again = await first.run({});
    expect(again.plan.actions).toEqual([]);
    expect(again.plan.unchanged).toEqual([SHOP]);

    // Another process, with its own (empty) status directory and plugin instance: it knows only what Singularity says.
    const restarted = await rectifierFor(gdm, path.join(dir, 'two'), events);
    const afterRestart = await restarted.run({});
    expect(afterRestart.plan.errors).toEqual([]);
    expect(afterRestart.plan.actions).toEqual([]);
    expect(afterRestart.plan.unchanged).toEqual([SHOP]);

    await put(gdm, manifest('github.com/acme/shop', 'http-service', shopSpec({ Version: '1.3.0', Digest: DIGEST_B })));
    const updated = await restarted.run({});
    expect(updated.outcomes.map((o) => [o.action.kind, o.action.reason, o.resolution, o.status])).toEqual([['update', 'version 1.2.0 → 1.3.0', 'updated', 'Active']]);

    await gdm.update(() => ({ change: { message: 'remove shop', deleteManifests: [{ source: { repo: 'github.com/acme/shop', dir: '' }, flavor: '' }] }, result: undefined }), USER);
    const reported = await restarted.run({});
    expect(reported.outcomes.map((o) => [o.action.kind, o.resolution])).toEqual([['report-removed', 'not deleted']]);
    expect(events.filter((e) => e.type === 'rectify.removed').map((e) => e.deploymentID)).toEqual([SHOP]);

    const pruned = await restarted.run({ prune: true });
    expect(pruned.outcomes.map((o) => [o.action.kind, o.resolution, o.status])).toEqual([['delete', 'deleted', 'Active']]);

    replay.verify();
    expect(replay.received.filter((r) => r.method === 'DELETE')).toHaveLength(1);
    expect(git(path.join(dir, 'state'), 'log', '--format=%s').split('\n').slice(0, 4)).toEqual(['remove shop', 'set github.com/acme/shop', 'set github.com/acme/shop', 'cluster east']);
  });
});
