/**
 * Secrets on Singularity through the core Rectifier (a real git GDM, the
 * `env` secret provider of @sous/plugin-secrets) against modelled Singularity
 * exchanges (test/fixtures/modelled/singularity/secrets.json): the value goes
 * into the deploy's env, where Singularity keeps it; the deploy's metadata,
 * what Sous reads back, the plans, outcomes and events keep keyed hashes only.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Gdm, Rectifier, SEALED_PREFIX, type Manifest, type SousEvent } from '@sous/core';
import { secrets } from '@sous/plugin-secrets';
import { singularityScheduler } from '@sous/plugin-scheduler-singularity';
import { ReplayServer } from './helpers/replay-server';
import { git } from './helpers/state-repo';
import { eastCluster, makeSous, manifest, shopSpec, tempDir, USER } from './scheduler-singularity-world';

const CANARY = 'canary-sing-Qx81-value';
const ROTATED = 'canary-sing-rotated-77';
const VAR = 'SOUS_TEST_SINGULARITY_DB';
const SHOP = 'east:github.com/acme/shop';
let replay: ReplayServer | undefined;

afterEach(async () => {
  delete process.env[VAR];
  await replay?.close();
  replay = undefined;
});

describe('secrets on Singularity (the rectifier, modelled exchanges)', () => {
  it('puts the value in the deploy env only, keeps its keyed hash in the metadata, reads the hash back, and redeploys a rotated value', async () => {
    replay = await ReplayServer.start('singularity/secrets');
    const dir = tempDir('sous-sing-secrets-');
    const gdm = await Gdm.open(path.join(dir, 'state'), { user: USER });
    await gdm.update((s) => ({ change: { message: 'cluster east', defs: { ...s.defs, Clusters: { east: eastCluster(replay!.url) } } }, result: undefined }), USER);
    const m: Manifest = manifest('github.com/acme/shop', 'http-service', shopSpec({ NumInstances: 1, Secrets: { DB_PASSWORD: `env:${VAR}` } }));
    await gdm.update(() => ({ change: { message: 'shop', setManifests: [m] }, result: undefined }), USER);
    const sous = await makeSous(dir);
    sous.use(secrets(), singularityScheduler({ pollMs: 5 }));
    const events: SousEvent[] = [];
    sous.hooks.event.tapPromise('test', async (e) => void events.push(e));
    const rectifier = new Rectifier(sous, gdm, path.join(dir, 'status'));
    const scheduler = sous.hooks.scheduler.for('singularity').call({ name: 'east', def: eastCluster(replay.url) })!;
    const seen: unknown[] = [];

    process.env[VAR] = CANARY;
    const created = await rectifier.run({});
    seen.push(created);
    expect(created.outcomes.map((o) => [o.action.kind, o.resolution, o.status])).toEqual([['create', 'created', 'Active']]);
    const posted = (replay.received.find((r) => r.path.endsWith('/api/deploys'))!.body as { deploy: { env: Record<string, string>; metadata: Record<string, string> } }).deploy;
    expect(posted.env).toEqual({ DB_PASSWORD: CANARY, LOG_LEVEL: 'info', REGION: 'east' });
    const kept = JSON.parse(posted.metadata['dev.sous.spec']);
    expect(kept.Secrets).toEqual({ DB_PASSWORD: `env:${VAR}` });
    expect(Object.values(kept.Env)).toEqual([expect.stringMatching(new RegExp(`^${SEALED_PREFIX}`)), expect.stringMatching(new RegExp(`^${SEALED_PREFIX}`))]);
    expect(JSON.stringify(posted.metadata)).not.toContain(CANARY);
    const hash = JSON.parse(posted.metadata['dev.sous.secrets']).DB_PASSWORD;

    const quiet = await rectifier.run({});
    seen.push(quiet);
    expect(quiet.plan.actions).toEqual([]);
    expect(quiet.plan.unchanged).toEqual([SHOP]);

    process.env[VAR] = ROTATED;
    const rotated = await rectifier.run({});
    seen.push(rotated);
    expect(rotated.outcomes.map((o) => [o.action.reason, o.status])).toEqual([['secrets changed: DB_PASSWORD', 'Active']]);
    const second = (replay.received.filter((r) => r.path.endsWith('/api/deploys'))[1].body as { deploy: { env: Record<string, string>; metadata: Record<string, string> } }).deploy;
    expect(second.env.DB_PASSWORD).toBe(ROTATED);
    expect(JSON.parse(second.metadata['dev.sous.secrets']).DB_PASSWORD).not.toBe(hash);

    const [read] = await scheduler.actual();
    seen.push(read);
    expect(read.secrets).toEqual(JSON.parse(second.metadata['dev.sous.secrets']));
    expect(read.spec.Env).toEqual({ LOG_LEVEL: 'info', REGION: 'east' });
    replay.verify();

    // The values went to Singularity in the deploys' env, and nowhere else Sous keeps or prints.
    const elsewhere = replay.received.map((r) => (r.path.endsWith('/api/deploys') ? { ...(r.body as object), deploy: { ...(r.body as { deploy: object }).deploy, env: undefined } } : r.body));
    for (const v of [CANARY, ROTATED]) {
      expect(JSON.stringify(elsewhere)).not.toContain(v);
      expect(JSON.stringify(seen)).not.toContain(v);
      expect(JSON.stringify(events)).not.toContain(v);
      for (const f of fs.readdirSync(path.join(dir, 'status'), { recursive: true }) as string[]) {
        const p = path.join(dir, 'status', f);
        if (fs.statSync(p).isFile()) expect(fs.readFileSync(p, 'utf8')).not.toContain(v);
      }
      expect(git(path.join(dir, 'state'), 'log', '-p', '--all')).not.toContain(v);
    }
  });
});
