/**
 * Faults found by using Sous from outside, each through the commands that
 * found it (the real, built `sous` binary, a real server and autoresolver, a
 * real Docker engine):
 * - a manifest file that does not parse is unknown, never absent: nothing of
 *   it is created, changed or deleted, even on a pruning cluster, and plan,
 *   rectify and status name the file and line and exit 1;
 * - a plan that could not see a cluster exits non-zero, and a cluster of a
 *   kind no plugin schedules is refused unless forced;
 * - two independent GDMs that define a cluster of the same name on one engine
 *   never take over each other's deployments, so an outcome names what this
 *   GDM really ran.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Gdm } from '@sous/core';
import { LABELS } from '@sous/plugin-scheduler-docker';
import { httpGet, USER } from './helpers/rectify-world';
import { appImage, type AppImage } from './helpers/sched-images';
import { api, startServer, type RunningServer } from './helpers/server';
import { makeSousEnv, requireBuilt, sous, type SousEnv } from './helpers/sous';
import { git, head, tempDir } from './helpers/state-repo';
import { startTestEngine, type TestEngine } from './helpers/test-engine';

jest.setTimeout(300_000);

const A = 'github.com/acme/ledger';
const B = 'github.com/acme/shop';
let engine: TestEngine;
let dir: string;
let env: SousEnv;
let apps: Record<'v1' | 'v2' | 'v3', AppImage>;

async function ok(e: SousEnv, args: string[], extra: Record<string, string> = {}) {
  const r = await sous(e, [...args, '--json'], { env: extra });
  if (r.code !== 0) throw new Error(`sous ${args.join(' ')} exited ${r.code}:\n${r.stdout}\n${r.stderr}`);
  return r.json;
}

async function record(e: SousEnv, repo: string, version: string, app: AppImage): Promise<void> {
  const gdm = await Gdm.open(e.state, { user: USER });
  await gdm.update(() => ({ change: { message: `build ${version}`, artifacts: [{ Source: repo, Version: version, Image: app.image, Digest: app.digest, Advisories: [], Deployable: true, BuiltAt: new Date().toISOString() }] }, result: undefined }), USER);
}

/** What the running instances of a deployment answer at /, on this test's engine; only a GDM's own with `gdm`. */
async function served(deploymentID: string, gdm?: string): Promise<string[]> {
  const filters = ['--filter', `label=${LABELS.deployment}=${deploymentID}`, ...(gdm ? ['--filter', `label=${LABELS.gdm}=${gdm}`] : [])];
  const ids = engine.docker(['ps', '-q', ...filters]).split('\n').filter(Boolean);
  const out: string[] = [];
  for (const id of ids) {
    const port = engine.docker(['port', id, '8080/tcp']).split('\n')[0].split(':').pop();
    out.push((await httpGet(`http://127.0.0.1:${port}/`)).body.trim());
  }
  return out.sort();
}

function breakManifest(e: SousEnv, repo: string): string {
  const file = `manifests/${repo}.yaml`;
  fs.writeFileSync(path.join(e.state, file), 'Source: [broken\n');
  git(e.state, 'commit', '-qam', `a bad merge of ${repo}`);
  return file;
}

beforeAll(async () => {
  requireBuilt();
  apps = { v1: appImage('v1'), v2: appImage('v2'), v3: appImage('v3') };
  engine = await startTestEngine('rel', 41);
  dir = tempDir('sous-reliability-');
  env = makeSousEnv(path.join(dir, 'a'));
});

afterAll(async () => {
  if (engine) {
    engine.removeLabelled(LABELS.cluster);
    await engine.destroy();
  }
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe('a manifest the GDM cannot read', () => {
  let file: string;
  let server: RunningServer | undefined;

  afterAll(async () => {
    await server?.stop();
  });

  it('is never planned for deletion, even with --prune on a pruning cluster; plan names the file and line and exits 1', async () => {
    await ok(env, ['cluster', 'add', '--name', 'local', '--kind', 'docker', '--base-url', engine.address, '--allow-prune']);
    await ok(env, ['init', '--repo', A]);
    await ok(env, ['init', '--repo', B]);
    await record(env, A, '1.0.0', apps.v1);
    await record(env, B, '2.0.0', apps.v2);
    await ok(env, ['deploy', '--cluster', 'local', '--tag', '1.0.0', '--repo', A]);
    expect(await served(`local:${A}`)).toEqual(['app 1.0.0']);
    await ok(env, ['update', '--cluster', 'local', '--tag', '2.0.0', '--repo', B]);
    file = breakManifest(env, A);

    const plan = await sous(env, ['plan', '--all']);
    expect(plan.code).toBe(1);
    expect(plan.stdout).toContain(`${file}:2:1`);
    expect(plan.stdout).toMatch(/MANIFEST_UNREADABLE/);
    expect(plan.stdout).not.toMatch(/report-removed|delete/);
    expect(plan.stdout).toMatch(new RegExp(`create +local:${B.replace(/\./g, '\\.')}`));
    expect(plan.stderr).toMatch(/PLAN_INCOMPLETE/);

    const pruning = await sous(env, ['plan', '--all', '--prune', '--json']);
    expect(pruning.code).toBe(1);
    expect(pruning.json.error.code).toBe('PLAN_INCOMPLETE');
    expect(pruning.json.plan.actions.map((a: { kind: string; deploymentID: string }) => `${a.kind} ${a.deploymentID}`)).toEqual([`create local:${B}`]);
    expect(pruning.json.plan.errors).toEqual([expect.objectContaining({ code: 'MANIFEST_UNREADABLE', manifest: A, file })]);
  });

  it('rectify --prune leaves what runs of it alone, deploys the other manifests, and exits 1', async () => {
    const r = await sous(env, ['rectify', '--all', '--prune']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(file);
    expect(r.stderr).toMatch(/RECTIFY_INCOMPLETE/);
    expect(await served(`local:${A}`)).toEqual(['app 1.0.0']);
    expect(await served(`local:${B}`)).toEqual(['app 2.0.0']);
    const status = await sous(env, ['status', '--json']);
    expect(status.code).toBe(1);
    expect(status.json.deployments).toEqual(expect.arrayContaining([expect.objectContaining({ deploymentID: `local:${A}`, intended: null, unreadable: true, actual: expect.objectContaining({ version: '1.0.0' }) })]));
    expect(status.json.error.code).toBe('STATUS_INCOMPLETE');
  });

  it('commands that change it (or need every manifest, as removing a cluster does) refuse with MANIFEST_UNREADABLE and write nothing; init does not register it again', async () => {
    const before = head(env.state);
    for (const args of [['scale', '--cluster', 'local', '--instances', '3', '--repo', A], ['metadata', 'set', '--repo', A, 'team', 'ledger'], ['init', '--repo', A], ['update', '--cluster', 'local', '--tag', '1.0.0', '--repo', A], ['cluster', 'remove', 'local', '--force']]) {
      const r = await sous(env, [...args, '--json']);
      expect({ args, code: r.code, error: r.json?.error?.code }).toEqual({ args, code: 1, error: 'MANIFEST_UNREADABLE' });
      expect(r.json.error.file).toBe(file);
    }
    expect(head(env.state)).toBe(before);
  });

  it('the autoresolver of a server on a pruning cluster leaves it running too, and the CLI through the server exits 1', async () => {
    server = await startServer(env, ['--autoresolver', '--resync', '1s']);
    const pass = await api(server.url, server.tokens.admin, 'POST', '/rectify', { body: { prune: true } });
    expect(pass.status).toBe(200);
    expect(pass.body.plan.errors).toEqual([expect.objectContaining({ code: 'MANIFEST_UNREADABLE', manifest: A, file })]);
    expect(pass.body.outcomes.filter((o: { action: { kind: string } }) => o.action.kind === 'delete')).toEqual([]);
    // A few resync passes of the loop itself.
    await new Promise((r) => setTimeout(r, 3000));
    expect(server.log()).not.toMatch(/deleted/);
    expect(await served(`local:${A}`)).toEqual(['app 1.0.0']);
    const remote = await sous(env, ['plan', '--all', '--prune'], { env: { SOUS_SERVER: server.url, SOUS_TOKEN: server.tokens.read } });
    expect(remote.code).toBe(1);
    expect(remote.stdout).toContain(file);
    expect(remote.stdout).not.toMatch(/delete/);
    const scale = await sous(env, ['scale', '--cluster', 'local', '--instances', '2', '--repo', A, '--json'], { env: { SOUS_SERVER: server.url, SOUS_TOKEN: server.tokens.admin } });
    expect(scale.code).toBe(1);
    expect(scale.json.error.code).toBe('MANIFEST_UNREADABLE');
    await server.stop();
    server = undefined;
  });

  it('once the file reads again, plan is complete and exits 0', async () => {
    git(env.state, 'revert', '--no-edit', 'HEAD');
    const plan = await sous(env, ['plan', '--all']);
    expect(plan.code).toBe(0);
    expect(plan.stdout).toMatch(/0 change\(s\), 2 unchanged/);
  });
});

describe('a plan that cannot see a cluster', () => {
  it('cluster add refuses a kind no installed plugin schedules, and changes nothing', async () => {
    const before = head(env.state);
    const r = await sous(env, ['cluster', 'add', '--name', 'edge', '--kind', 'nomad', '--base-url', 'http://127.0.0.1:4646', '--json']);
    expect(r.code).toBe(2);
    expect(r.json.error.code).toBe('UNKNOWN_CLUSTER_KIND');
    expect(r.json.error.hints.join('\n')).toMatch(/--force/);
    expect(head(env.state)).toBe(before);
    const typo = await sous(env, ['cluster', 'add', '--name', 'edge', '--kind', 'dokcer', '--json']);
    expect(typo.json.error.hints[0]).toBe('did you mean "docker"?');
  });

  it('with --force the cluster is defined with a warning; plan and rectify then exit 1 naming it, --exit-code too', async () => {
    const r = await sous(env, ['cluster', 'add', '--name', 'edge', '--kind', 'nomad', '--base-url', 'http://127.0.0.1:4646', '--force']);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/Warning: no installed plugin schedules clusters of kind "nomad".*\[UNKNOWN_CLUSTER_KIND\]/);
    for (const args of [['plan', '--all'], ['plan', '--all', '--exit-code'], ['rectify', '--all'], ['rectify', '--all', '--dry-run']]) {
      const p = await sous(env, args);
      expect({ args, code: p.code }).toEqual({ args, code: 1 });
      expect(p.stdout + p.stderr).toMatch(/cluster edge.*UNKNOWN_CLUSTER_KIND/);
    }
    // What it could see it still did: the docker cluster is unchanged and unharmed.
    expect(await served(`local:${B}`)).toEqual(['app 2.0.0']);
    await ok(env, ['cluster', 'remove', 'edge']);
    expect((await sous(env, ['plan', '--all'])).code).toBe(0);
  });
});

describe('two GDMs with a cluster of the same name on one engine', () => {
  let other: SousEnv;

  it('keep their deployments apart: an outcome names the version this GDM ran, not the other one', async () => {
    // This GDM runs A at 2.0.0.
    await record(env, A, '2.0.0', apps.v2);
    await ok(env, ['deploy', '--cluster', 'local', '--tag', '2.0.0', '--repo', A]);
    // An independent GDM (a second quickstart, a test run) defines "local" on the same engine and deploys A at 1.0.0.
    other = makeSousEnv(path.join(dir, 'b'));
    await ok(other, ['cluster', 'add', '--name', 'local', '--kind', 'docker', '--base-url', engine.address]);
    await ok(other, ['init', '--repo', A]);
    await record(other, A, '1.0.0', apps.v1);
    await ok(other, ['deploy', '--cluster', 'local', '--tag', '1.0.0', '--repo', A]);
    const mine = (await (await Gdm.open(env.state)).identity())!;
    const theirs = (await (await Gdm.open(other.state)).identity())!;
    expect(mine).not.toBe(theirs);
    expect(await served(`local:${A}`, mine)).toEqual(['app 2.0.0']);
    expect(await served(`local:${A}`, theirs)).toEqual(['app 1.0.0']);

    await record(env, A, '3.0.0', apps.v3);
    await ok(env, ['update', '--cluster', 'local', '--tag', '3.0.0', '--repo', A]);
    const r = await sous(env, ['rectify', '--repo', A]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/updated \(version 2\.0\.0 → 3\.0\.0\)/);
    expect(await served(`local:${A}`, mine)).toEqual(['app 3.0.0']);
    expect(await served(`local:${A}`, theirs)).toEqual(['app 1.0.0']);
    const ads = await ok(other, ['query', 'ads', '--cluster', 'local']);
    expect(ads.deployments.map((d: { id: string; spec: { Version: string } }) => `${d.id} ${d.spec.Version}`)).toEqual([`local:${A} 1.0.0`]);
  });
});
