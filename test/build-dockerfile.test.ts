/**
 * `sous build` of an application that brings its own Dockerfile, end to end:
 * the real binary, a real git repository tagged 1.0.0, the real engine and
 * registry. The second build of the same version answers from the artifact index.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { readFromImage, testEngine, V2_ACCEPT, type TestEngine } from '../packages/plugin-docker/src/testing/engine';
import { gitIn as git } from './helpers/git-remote';
import { makeSousEnv, requireBuilt, sous, type SousEnv } from './helpers/sous';

const FIXTURE = path.join(__dirname, 'fixtures/dockerfile-app');

let eng: TestEngine;
let tmp: string;
let env: SousEnv;
let repoDir: string;
let repoName: string;

async function manifestDigest(name: string, tag: string): Promise<string | null> {
  const res = await fetch(`http://${eng.registry}/v2/${name}/manifests/${tag}`, { method: 'HEAD', headers: { Accept: V2_ACCEPT } });
  return res.status === 200 ? res.headers.get('docker-content-digest') : null;
}

beforeAll(async () => {
  requireBuilt();
  eng = await testEngine();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sous-build-dockerfile-'));
  env = makeSousEnv(tmp);
  repoName = `github.com/sous-test/hello-${eng.run}`;
  repoDir = path.join(tmp, 'repo');
  fs.cpSync(FIXTURE, repoDir, { recursive: true });
  git(repoDir, 'init', '-q', '-b', 'main');
  git(repoDir, 'add', '-A');
  git(repoDir, 'commit', '-q', '-m', 'A Dockerfile app');
  git(repoDir, 'tag', '1.0.0');
  git(repoDir, 'remote', 'add', 'origin', `https://${repoName}.git`);
  // As if pushed: the remote-tracking branch holds the commit (nothing is fetched from anywhere).
  git(repoDir, 'update-ref', 'refs/remotes/origin/main', 'HEAD');
}, 120_000);

afterAll(async () => {
  if (!eng) return;
  const images = await eng.docker.listImages({ filters: JSON.stringify({ reference: [`${eng.registry}/${repoName}`] }) });
  for (const img of images) {
    for (const ref of img.RepoTags ?? []) {
      const digest = await manifestDigest(repoName, ref.slice(ref.lastIndexOf(':') + 1)).catch(() => null);
      if (digest) await fetch(`http://${eng.registry}/v2/${repoName}/manifests/${digest}`, { method: 'DELETE' }).catch(() => undefined);
    }
    await eng.docker.getImage(img.Id).remove({ force: true }).catch(() => undefined);
  }
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('sous build of a Dockerfile application', () => {
  const run = () => sous(env, ['build', '--tag', '1.0.0', '--json'], { cwd: repoDir, env: { SOUS_DOCKER_REGISTRY_HOST: eng.registry, DOCKER_HOST: eng.dockerHost } });
  let first: { status: string; digest: string; reference: string; image: string; tags: string[]; stack: string; revision: string };

  it('builds, tests and pushes the tag, and records the artifact', async () => {
    const r = await run();
    expect(r.stderr).not.toMatch(/Error:/);
    expect(r.code).toBe(0);
    first = r.json;
    const image = `${eng.registry}/${repoName}`;
    expect(first).toMatchObject({ status: 'built', stack: 'dockerfile', version: '1.0.0', image, revision: git(repoDir, 'rev-parse', 'HEAD') });
    expect(first.digest).toMatch(/^sha256:[a-f0-9]{64}$/);
    expect(first.reference).toBe(`${image}@${first.digest}`);

    expect(first.tags).toHaveLength(2);
    expect(first.tags[0]).toBe(`${image}:1.0.0`);
    for (const t of first.tags) expect(await manifestDigest(repoName, t.slice(t.lastIndexOf(':') + 1))).toBe(first.digest);

    const record = git(env.state, 'show', `HEAD:artifacts/${repoName}/1.0.0.yaml`);
    expect(record).toContain(`Digest: ${first.digest}`);
    expect(record).toContain('Stack: dockerfile');

    // The app's own build arg got the version; .dockerignore kept its files out.
    expect((await readFromImage(eng.docker, first.tags[0], '/www/version')).trim()).toBe('1.0.0');
    expect(await readFromImage(eng.docker, first.tags[0], '/www/index.html')).toContain('hello from a Dockerfile app');
    await expect(readFromImage(eng.docker, first.tags[0], '/www/draft.local')).rejects.toMatchObject({ statusCode: 404 });
    const labels = (await eng.docker.getImage(first.tags[0]).inspect()).Config.Labels;
    expect(labels).toMatchObject({ 'org.opencontainers.image.version': '1.0.0', 'dev.sous.stack': 'dockerfile' });
  });

  it('answers already-built for the same version, without building', async () => {
    expect(first).toBeDefined();
    const before = (await eng.docker.getImage(first.tags[0]).inspect()).Id;
    const r = await run();
    expect(r.code).toBe(0);
    expect(r.json).toMatchObject({ status: 'already-built', digest: first.digest, reference: first.reference });
    expect(r.json.timings.build).toBeUndefined();
    expect((await eng.docker.getImage(first.tags[0]).inspect()).Id).toBe(before);
  });
});
