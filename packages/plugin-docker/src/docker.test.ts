/**
 * The plugin applied to a real Sous, against the real engine and registry:
 * the dockerfile stack, base image inputs, the build, its failures, the push.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadConfig, Sous, type Artifact, type BuildPlan, type BuiltImage, type Progress, type SourceContext, type Workspace } from '@sous/core';
import { docker } from './plugin';
import { refusingProxy } from '../../../test/helpers/registries';
import { BUSYBOX, cleanUp, deadPort, readFromImage, refusingRegistry, registryOnlyImage, tempDir, TEST_LABEL, testEngine, V2_ACCEPT, type TestEngine } from './testing/engine';

// Runs wherever an engine can be had (started or reused); SOUS_TEST_NO_ENGINE=1 opts out, as for test/.
const withEngine = process.env.SOUS_TEST_NO_ENGINE === '1' ? describe.skip : describe;

let eng: TestEngine;
const dirs: string[] = [];

beforeAll(async () => {
  if (process.env.SOUS_TEST_NO_ENGINE !== '1') eng = await testEngine();
}, 120_000);

afterAll(async () => {
  if (eng) await cleanUp(eng);
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

function app(files: Record<string, string>): string {
  const d = tempDir(files);
  dirs.push(d);
  return d;
}

const context = (dir: string): SourceContext => ({
  repo: 'github.com/acme/hello',
  offset: '',
  rootDir: dir,
  sourceDir: dir,
  revision: 'a'.repeat(40),
  version: '1.0.0',
  tagsOnRevision: ['1.0.0'],
  commitTime: '2026-01-02T03:04:05Z',
  dirty: false,
  pushed: true,
  advisories: [],
  cleanCheckout: false,
});

async function sousFor(dir: string, host?: string, flags?: Parameters<typeof loadConfig>[0]['flags']): Promise<{ sous: Sous; ws: Workspace }> {
  const config = await loadConfig({ cwd: dir, repoConfig: false, flags, env: { SOUS_DOCKER_HOST: eng.dockerHost, SOUS_DOCKER_REGISTRY_HOST: eng.registry, XDG_CONFIG_HOME: dir } });
  const sous = new Sous(config).use(docker(host ? { host } : undefined));
  return { sous, ws: { dir, context: context(dir), config } };
}

const blank = (dir: string): BuildPlan => ({ stack: '', dockerfile: '', contextDir: dir, extraFiles: {}, buildArgs: {}, secrets: {}, labels: {}, inputs: {}, ignore: ['.git'] });

function tagsFor(name: string): string[] {
  return [`${eng.registry}/sous-test-${eng.run}/${name}:1.0.0`, `${eng.registry}/sous-test-${eng.run}/${name}:z${'a'.repeat(40)}-20260102T030405`];
}

/** The dockerfile stack's plan for `dir`, finalised: what core hands the builder. */
async function planFor(sous: Sous, ws: Workspace, args: Record<string, string> = {}): Promise<BuildPlan> {
  const stack = await sous.hooks.detectStack.promise(ws);
  expect(stack).toBe('dockerfile');
  let plan = await sous.hooks.buildPlan.for('dockerfile').promise({ ...blank(ws.dir), stack: 'dockerfile' }, ws);
  plan = { ...plan, buildArgs: { ...plan.buildArgs, ...args } };
  plan = await sous.hooks.finalizePlan.promise(plan, ws);
  return { ...plan, labels: { ...plan.labels, [TEST_LABEL]: eng.run, 'com.example.owner': 'team-a' } };
}

async function build(sous: Sous, ws: Workspace, plan: BuildPlan, tags: string[], progress: Progress[] = []): Promise<BuiltImage> {
  const image = await sous.hooks.buildImage.promise({ workspace: ws, plan, tags, contentKey: 'sha256:test', onProgress: (p) => progress.push(p) });
  if (!image) throw new Error('no builder took the build');
  return image;
}

async function caught(p: Promise<unknown>): Promise<{ code?: string; message: string; hints?: string[]; details?: Record<string, unknown> }> {
  try {
    await p;
  } catch (e) {
    return e as { code?: string; message: string };
  }
  throw new Error('expected a failure');
}

withEngine('the dockerfile stack through a real Sous', () => {
  it('builds an application with its own Dockerfile: labels, both tags, progress, build args, .dockerignore', async () => {
    const nonce = `n${Date.now()}`;
    const dir = app({
      Dockerfile: [
        'FROM sous-local/busybox',
        'ARG GREETING=unset',
        'COPY . /app',
        'RUN echo "greeting=$GREETING" > /greeting && cd /app && find . -type f | sort > /listing && cat /greeting',
        '',
      ].join('\n'),
      '.dockerignore': '# local junk\n*.env\nlogs\n!logs/keep.log\n',
      'main.sh': 'echo hello\n',
      'prod.env': 'PASSWORD=x\n',
      'logs/debug.log': 'noise\n',
      'logs/keep.log': 'kept\n',
      'src/lib.sh': 'true\n',
    });
    const { sous, ws } = await sousFor(dir);
    const plan = await planFor(sous, ws, { GREETING: nonce });
    const base = await eng.docker.getImage(BUSYBOX).inspect();
    expect(plan.inputs['from:sous-local/busybox']).toBe(base.Id);

    const progress: Progress[] = [];
    const tags = tagsFor('hello');
    const image = await build(sous, ws, plan, tags, progress);

    expect(image.name).toBe(tags[0].slice(0, tags[0].lastIndexOf(':')));
    for (const t of tags) expect((await eng.docker.getImage(t).inspect()).Id).toBe(image.id);
    const labels = (await eng.docker.getImage(image.id).inspect()).Config.Labels;
    expect(labels).toMatchObject({ 'com.example.owner': 'team-a', [TEST_LABEL]: eng.run });

    const messages = progress.map((p) => p.message);
    expect(progress.every((p) => p.phase === 'build')).toBe(true);
    expect(messages.some((m) => /\[2\/3\] COPY \. \/app/.test(m))).toBe(true);
    expect(messages.some((m) => m.includes(`greeting=${nonce}`))).toBe(true);

    expect(await readFromImage(eng.docker, image.id, '/greeting')).toBe(`greeting=${nonce}\n`);
    const listing = (await readFromImage(eng.docker, image.id, '/listing')).trim().split('\n');
    expect(listing).toEqual(['./.dockerignore', './Dockerfile', './logs/keep.log', './main.sh', './src/lib.sh']);
  });

  it('plans with build.dockerfile and the build.args the Dockerfile declares, and records base images as inputs', async () => {
    const dir = app({ 'docker/Prod.dockerfile': 'ARG MODE\nFROM sous-local/busybox AS base\nFROM base\nRUN echo $MODE\n' });
    const { sous, ws } = await sousFor(dir, undefined, { build: { dockerfile: 'docker/Prod.dockerfile', args: { MODE: 'prod', OTHER: 'x' } } });
    expect(await sous.hooks.detectStack.promise(ws)).toBe('dockerfile');
    const plan = await sous.hooks.finalizePlan.promise(await sous.hooks.buildPlan.for('dockerfile').promise({ ...blank(dir), stack: 'dockerfile' }, ws), ws);
    expect(plan.dockerfile).toContain('FROM base');
    expect(plan.buildArgs).toEqual({ MODE: 'prod' });
    expect(plan.inputs).toEqual({ 'from:sous-local/busybox': (await eng.docker.getImage(BUSYBOX).inspect()).Id });
  });

  it('builds a stack plan whose Dockerfile is not the application’s, without clashing with its files', async () => {
    const dir = app({ 'Dockerfile.sous': 'mine\n', '.sous.Dockerfile': 'also mine\n', 'data.txt': 'x\n' });
    const { sous, ws } = await sousFor(dir);
    const plan: BuildPlan = {
      ...blank(dir),
      stack: 'test',
      dockerfile: 'FROM sous-local/busybox\nCOPY . /app\nRUN cat /app/.sous.Dockerfile /app/data.txt\n',
      extraFiles: { 'extra/ca.pem': 'CERT\n' },
      labels: { [TEST_LABEL]: eng.run },
    };
    const image = await build(sous, ws, plan, [tagsFor('stack')[0]]);
    expect(await readFromImage(eng.docker, image.id, '/app/.sous.Dockerfile')).toBe('also mine\n');
    expect(await readFromImage(eng.docker, image.id, '/app/extra/ca.pem')).toBe('CERT\n');
  });

  it('hands BuildKit secrets to the steps that mount them, never to the image', async () => {
    const secret = app({ token: `s3cret-${eng.run}` });
    const dir = app({ Dockerfile: 'FROM sous-local/busybox\nRUN --mount=type=secret,id=token cat /run/secrets/token | wc -c > /size\n' });
    const { sous, ws } = await sousFor(dir);
    const plan = { ...(await planFor(sous, ws)), secrets: { token: path.join(secret, 'token') } };
    const image = await build(sous, ws, plan, [tagsFor('secret')[0]]);
    expect((await readFromImage(eng.docker, image.id, '/size')).trim()).toBe(String(`s3cret-${eng.run}`.length));
    await expect(readFromImage(eng.docker, image.id, '/run/secrets/token')).rejects.toMatchObject({ statusCode: 404 });
  });

  it('reports a failing RUN step as BUILD_STEP_FAILED with the step and its last output lines, and tags nothing', async () => {
    const dir = app({ Dockerfile: `FROM sous-local/busybox\nRUN echo ${eng.run}; for i in $(seq 1 25); do echo "line $i"; done; exit 7\n` });
    const { sous, ws } = await sousFor(dir);
    const tags = tagsFor('broken');
    const e = await caught(build(sous, ws, await planFor(sous, ws), tags));
    expect(e.code).toBe('BUILD_STEP_FAILED');
    expect(e.message).toContain('[2/2] RUN echo');
    expect(e.message).toContain('exit code 7');
    expect(e.message).toContain('line 25');
    const logs = e.details?.logs as string[];
    expect(logs).toHaveLength(20);
    expect(logs[0]).toBe('line 6');
    expect(logs[19]).toBe('line 25');
    for (const t of tags) await expect(eng.docker.getImage(t).inspect()).rejects.toMatchObject({ statusCode: 404 });
  });

  it('reports a base image the engine cannot get as BASE_IMAGE_UNAVAILABLE, and a Dockerfile it cannot parse as DOCKERFILE_INVALID', async () => {
    const missing = `127.0.0.1:${await deadPort()}/nothere:1`;
    const a = app({ Dockerfile: `FROM ${missing}\nRUN true\n` });
    const s1 = await sousFor(a);
    const e1 = await caught(build(s1.sous, s1.ws, await planFor(s1.sous, s1.ws), tagsFor('nobase')));
    expect(e1.code).toBe('BASE_IMAGE_UNAVAILABLE');
    expect(e1.message).toContain(missing);
    const b = app({ Dockerfile: 'FROM sous-local/busybox\nFOO bar\n' });
    const s2 = await sousFor(b);
    const e2 = await caught(build(s2.sous, s2.ws, await planFor(s2.sous, s2.ws), tagsFor('unparsable')));
    expect(e2.code).toBe('DOCKERFILE_INVALID');
    expect(e2.message).toContain('unknown instruction: FOO');
  });

  it('reports an engine that does not answer as ENGINE_UNREACHABLE, from a socket or a TCP port', async () => {
    const dir = app({ Dockerfile: 'FROM sous-local/busybox\n' });
    for (const host of ['unix:///nonexistent/docker.sock', `tcp://127.0.0.1:${await deadPort()}`]) {
      const { sous, ws } = await sousFor(dir, host);
      const e = await caught(build(sous, ws, { ...blank(dir), stack: 'dockerfile', dockerfile: 'FROM sous-local/busybox\n' }, tagsFor('nowhere')));
      expect(e.code).toBe('ENGINE_UNREACHABLE');
      expect(e.message).toContain(host.replace('unix://', ''));
      expect(e.hints?.join('\n')).toContain('node scripts/local-engine.js start');
    }
  });
});

withEngine('publishing', () => {
  let image: BuiltImage;
  let sous: Sous;

  beforeAll(async () => {
    const dir = app({ Dockerfile: `FROM sous-local/busybox\nRUN echo ${eng.run} > /run-id\n` });
    const s = await sousFor(dir);
    sous = s.sous;
    image = await build(sous, s.ws, await planFor(sous, s.ws), tagsFor('published'));
  });

  const artifactOf = (img: BuiltImage): Artifact =>
    ({ source: context('/'), image: { ...img }, reference: '', digest: '', contracts: [], precache: {}, targets: [], timings: {} }) as Artifact;

  it('pushes every tag; the digest is the one the registry serves for each', async () => {
    const artifact = artifactOf(image);
    await sous.hooks.publish.promise(artifact);
    expect(artifact.digest).toMatch(/^sha256:[a-f0-9]{64}$/);
    expect(artifact.image.digest).toBe(artifact.digest);
    expect(artifact.reference).toBe(`${image.name}@${artifact.digest}`);
    for (const t of image.tags) {
      const repo = t.slice(eng.registry.length + 1, t.lastIndexOf(':'));
      const res = await fetch(`http://${eng.registry}/v2/${repo}/manifests/${t.slice(t.lastIndexOf(':') + 1)}`, { method: 'HEAD', headers: { Accept: V2_ACCEPT } });
      expect(res.status).toBe(200);
      expect(res.headers.get('docker-content-digest')).toBe(artifact.digest);
    }
  });

  it('reports a registry that is down as REGISTRY_UNREACHABLE', async () => {
    const host = `127.0.0.1:${await deadPort()}`;
    const ref = `${host}/sous-test-${eng.run}/published:1.0.0`;
    await eng.docker.getImage(image.id).tag({ repo: ref.slice(0, ref.lastIndexOf(':')), tag: '1.0.0' });
    const e = await caught(sous.hooks.publish.promise(artifactOf({ ...image, name: ref.slice(0, ref.lastIndexOf(':')), tags: [ref] })));
    expect(e.code).toBe('REGISTRY_UNREACHABLE');
    expect(e.message).toContain(host);
    expect(e.hints?.join('\n')).toContain('local-engine.js start');
  });

  it.each([403, 405])('reports a registry answering %i as PUSH_REFUSED with its message', async (status) => {
    const reg = await refusingRegistry(status, `no pushes here (${status})`);
    try {
      const ref = `${reg.host}/sous-test-${eng.run}/published:1.0.0`;
      await eng.docker.getImage(image.id).tag({ repo: ref.slice(0, ref.lastIndexOf(':')), tag: '1.0.0' });
      const e = await caught(sous.hooks.publish.promise(artifactOf({ ...image, name: ref.slice(0, ref.lastIndexOf(':')), tags: [ref] })));
      expect(e.code).toBe('PUSH_REFUSED');
      expect(e.message).toContain(`no pushes here (${status})`);
    } finally {
      await reg.close();
    }
  });

  it('pushes once: the other tags are the same manifest, stored by the registry; a refusal there is PUSH_REFUSED', async () => {
    const proxy = await refusingProxy(eng.registry, /\/second$/, 403, 'no second tag');
    try {
      const name = `${proxy.addr}/sous-test-${eng.run}/once`;
      for (const t of ['first', 'second']) await eng.docker.getImage(image.id).tag({ repo: name, tag: t });
      const e = await caught(sous.hooks.publish.promise(artifactOf({ ...image, name, tags: [`${name}:first`, `${name}:second`] })));
      expect(e.code).toBe('PUSH_REFUSED');
      expect(e.message).toContain('no second tag');
      expect(e.message).toContain(`${name}:second`);
      // The first tag went up whole through the engine; the second was never stored.
      const head = (t: string) => fetch(`http://${eng.registry}/v2/sous-test-${eng.run}/once/manifests/${t}`, { method: 'HEAD', headers: { Accept: V2_ACCEPT } });
      expect((await head('first')).status).toBe(200);
      expect((await head('second')).status).toBe(404);
      // One push through the engine; after its manifest, the second tag is a single PUT of the same manifest.
      const path = `/v2/sous-test-${eng.run}/once/manifests/`;
      const afterPush = proxy.requests.slice(proxy.requests.indexOf(`PUT ${path}first`));
      expect(afterPush).toEqual([`PUT ${path}first`, `GET ${path}first`, `PUT ${path}second`]);
    } finally {
      await proxy.close();
    }
  });

  it('re-labels an image that exists only in the registry (a FROM-by-digest plan)', async () => {
    const base = await registryOnlyImage(eng, `sous-test-${eng.run}/remote`);
    await expect(eng.docker.getImage(`${base.repo}@${base.digest}`).inspect()).rejects.toMatchObject({ statusCode: 404 });
    const dir = app({ 'ignored.txt': 'x\n' });
    const { ws } = await sousFor(dir);
    const plan: BuildPlan = { ...blank(dir), stack: 'dockerfile', dockerfile: `FROM ${base.repo}@${base.digest}\n`, ignore: ['*'], labels: { [TEST_LABEL]: eng.run, 'org.opencontainers.image.version': '2.0.0' } };
    const tags = tagsFor('relabelled');
    const out = await build(sous, ws, plan, tags);
    const info = await eng.docker.getImage(tags[0]).inspect();
    expect(info.Id).toBe(out.id);
    expect(info.Config.Labels['org.opencontainers.image.version']).toBe('2.0.0');
    expect(await readFromImage(eng.docker, out.id, '/marker.txt')).toMatch(/^[a-f0-9]{32}$/);
  });
});
