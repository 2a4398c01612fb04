/**
 * Writes that can merge never fail, and writes that change nothing change
 * nothing: through the real, built `sous` binary, locally and through a real
 * `sous server`, as a user found them.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Gdm } from '@sous/core';
import { USER } from './helpers/rectify-world';
import { appImage } from './helpers/sched-images';
import { startServer, type RunningServer } from './helpers/server';
import { makeSousEnv, requireBuilt, sous, sousSync, type SousEnv } from './helpers/sous';
import { commitCount, git, head, tempDir } from './helpers/state-repo';

jest.setTimeout(300_000);

const REPO = 'github.com/acme/ledger';
const FILE = `manifests/${REPO}.yaml`;
/** A manifest as the original Sous wrote it, with fields the canonical form leaves out when empty. */
const ORIGINAL = `Source: ${REPO}
Owners:
- ledger@example.com
Kind: http-service
Deployments:
  east:
    Resources:
      cpus: "0.1"
      memory: "100"
      ports: "1"
    Env: {}
    NumInstances: 1
    Volumes: []
    Startup:
      Timeout: 0
      SkipCheck: false
    Schedule: ""
    Version: ""
  west:
    Resources:
      cpus: "0.1"
      memory: "100"
      ports: "1"
    Metadata: {}
    Env: {}
    NumInstances: 1
    Volumes: []
    Schedule: ""
    Version: ""
`;

let dir: string;
let env: SousEnv;
let server: RunningServer;
let remote: Record<string, string>;

beforeAll(async () => {
  requireBuilt();
  dir = tempDir('sous-writes-');
  env = makeSousEnv(dir);
  for (const c of ['east', 'west']) expect(sousSync(env, ['cluster', 'add', '--name', c, '--kind', 'memory']).code).toBe(0);
  fs.mkdirSync(path.dirname(path.join(env.state, FILE)), { recursive: true });
  fs.writeFileSync(path.join(env.state, FILE), ORIGINAL);
  git(env.state, 'add', '-A');
  git(env.state, 'commit', '-qm', 'the manifest as the original wrote it');
  server = await startServer(env);
  remote = { SOUS_SERVER: server.url, SOUS_TOKEN: server.tokens.admin };
});

afterAll(async () => {
  await server?.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe('setting what is already there', () => {
  it.each([
    ['locally', () => ({})],
    ['through the server', () => remote],
  ])('manifest get | manifest set makes no commit and keeps every byte (%s)', async (_how, extra) => {
    const before = head(env.state);
    const got = await sous(env, ['manifest', 'get', '--repo', REPO], { env: extra() });
    expect(got.code).toBe(0);
    const set = await sous(env, ['manifest', 'set', '--repo', REPO], { stdin: got.stdout, env: extra() });
    expect(set.code).toBe(0);
    expect(set.stdout).toMatch(/No change/);
    expect(head(env.state)).toBe(before);
    expect(fs.readFileSync(path.join(env.state, FILE), 'utf8')).toBe(ORIGINAL);
  });

  it('a change to one field changes only its line: the empty fields around it keep their bytes', async () => {
    const r = await sous(env, ['scale', '--cluster', 'east', '--instances', '2', '--repo', REPO]);
    expect(r.code).toBe(0);
    expect(fs.readFileSync(path.join(env.state, FILE), 'utf8')).toBe(ORIGINAL.replace('NumInstances: 1', 'NumInstances: 2'));
    const again = await sous(env, ['scale', '--cluster', 'east', '--instances', '2', '--repo', REPO]);
    expect(again.code).toBe(0);
    expect(git(env.state, 'log', '-1', '--format=%s')).toMatch(/Scale .* to 2/);
    const n = commitCount(env.state);
    await sous(env, ['scale', '--cluster', 'east', '--instances', '2', '--repo', REPO], { env: remote });
    expect(commitCount(env.state)).toBe(n);
  });
});

describe('concurrent writes through the server', () => {
  it('40 concurrent metadata set on one manifest (different keys) all succeed, and every key is kept', async () => {
    const runs = await Promise.all(Array.from({ length: 40 }, (_, i) => sous(env, ['metadata', 'set', '--repo', REPO, `k${i}`, `v${i}`], { env: remote })));
    const failed = runs.filter((r) => r.code !== 0);
    expect(failed.map((r) => r.stderr)).toEqual([]);
    const gdm = await Gdm.open(env.state, { user: USER });
    const md = (await gdm.read()).manifests.get(REPO)!.manifest.Deployments!;
    for (const c of ['east', 'west']) for (let i = 0; i < 40; i++) expect(md[c].Metadata?.[`k${i}`]).toBe(`v${i}`);
  });

  it('deploys of one cluster race metadata writes to every cluster of the same manifest: all succeed', async () => {
    const app = appImage('v1', 'sous-test/writes-app');
    const gdm = await Gdm.open(env.state, { user: USER });
    await gdm.update(() => ({ change: { message: 'build 1.0.0', artifacts: [{ Source: REPO, Version: '1.0.0', Image: app.image, Digest: app.digest, Advisories: [], Deployable: true, BuiltAt: new Date().toISOString() }] }, result: undefined }), USER);
    const runs = await Promise.all([
      ...Array.from({ length: 16 }, (_, i) => sous(env, ['metadata', 'set', '--repo', REPO, `race${i}`, 'x'], { env: remote })),
      sous(env, ['update', '--cluster', 'east', '--tag', '1.0.0', '--repo', REPO], { env: remote }),
      sous(env, ['update', '--cluster', 'west', '--tag', '1.0.0', '--repo', REPO], { env: remote }),
    ]);
    expect(runs.filter((r) => r.code !== 0).map((r) => r.stderr)).toEqual([]);
    const md = (await gdm.read()).manifests.get(REPO)!.manifest.Deployments!;
    for (const c of ['east', 'west']) {
      expect(md[c].Version).toBe('1.0.0');
      expect(md[c].Digest).toBe(app.digest);
      for (let i = 0; i < 16; i++) expect(md[c].Metadata?.[`race${i}`]).toBe('x');
    }
  });
});
