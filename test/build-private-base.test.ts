/**
 * A build whose base image is private, on the real engine. BuildKit resolves
 * base images itself; it asks the build's session for credentials (the Auth
 * service docker buildx serves), which Sous answers from resolveRegistryAuth.
 * The registry: Debian's docker-registry with `auth: token` on loopback
 * (plain HTTP, the only way this engine's BuildKit speaks to a loopback
 * registry), its token service a small issuer in the test. Also: the
 * pre-pull Sous does for a private base the engine lacks (content key and
 * engines whose builder ignores certs.d), and what a refusal looks like.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { forgetRegistryAuth, type BuildPlan, type RegistryConfig, type SourceContext, type Workspace } from '@sous/core';
import { baseImageInputs, buildWithEngine } from '@sous/plugin-docker';
import { testEngine, TEST_LABEL, cleanUp, type TestEngine } from '../packages/plugin-docker/src/testing/engine';
import { startSecureRegistry, startTokenIssuer, type SecureRegistry, type TokenIssuer } from './helpers/secure-registry';
import { tempDir } from './helpers/state-repo';

const PASSWORD = 'private-base-password-13';
let eng: TestEngine;
let dir: string;
let reg: SecureRegistry;
let issuer: TokenIssuer;
let base: string;

async function follow(stream: NodeJS.ReadableStream): Promise<void> {
  await new Promise<void>((resolve, reject) => eng.docker.modem.followProgress(stream, (err: Error | null, evs: { error?: string }[]) => (err ? reject(err) : evs.find((e) => e.error) ? reject(new Error(evs.find((e) => e.error)!.error)) : resolve())));
}

function workspace(config: RegistryConfig): Workspace {
  const ctx = { repo: 'github.com/acme/private-base', offset: '', rootDir: dir, sourceDir: dir, revision: 'b'.repeat(40), version: '1.0.0', tagsOnRevision: [], commitTime: '2026-01-02T03:04:05Z', dirty: false, pushed: true, advisories: [], cleanCheckout: false } as SourceContext;
  return { dir, context: ctx, config: config as Workspace['config'] };
}

function plan(dockerfile: string): BuildPlan {
  return { stack: 'dockerfile', dockerfile, contextDir: dir, extraFiles: {}, buildArgs: {}, secrets: {}, labels: { [TEST_LABEL]: eng.run }, inputs: {}, ignore: ['.git'] };
}

const withCreds: RegistryConfig = {};

beforeAll(async () => {
  eng = await testEngine();
  dir = tempDir('sous-private-base-');
  fs.writeFileSync(path.join(dir, 'hello.txt'), 'hello\n');
  issuer = await startTokenIssuer(path.join(dir, 'issuer'), undefined, { ci: PASSWORD });
  reg = await startSecureRegistry(path.join(dir, 'reg'), undefined, { token: { realm: issuer.realm, service: issuer.service, issuer: issuer.issuer, rootcertbundle: issuer.certFile } });
  base = `${reg.addr}/acme/base:${eng.run}`;
  await eng.docker.getImage('sous-local/busybox:latest').tag({ repo: base.slice(0, base.lastIndexOf(':')), tag: eng.run });
  await follow((await eng.docker.getImage(base).push({ authconfig: { username: 'ci', password: PASSWORD, serveraddress: reg.addr } })) as NodeJS.ReadableStream);
  Object.assign(withCreds, { registries: { [reg.addr]: { username: 'ci', passwordEnv: 'SOUS_T13_BASE_PW' } } });
}, 120_000);

beforeEach(async () => {
  process.env.SOUS_T13_BASE_PW = PASSWORD;
  forgetRegistryAuth();
  // The engine must not have the base: the builder then has to fetch it.
  await eng.docker.getImage(base).remove({ noprune: true }).catch(() => undefined);
});

afterAll(async () => {
  delete process.env.SOUS_T13_BASE_PW;
  if (eng) await cleanUp(eng);
  await eng?.docker.getImage(base).remove({ noprune: true }).catch(() => undefined);
  await Promise.all([reg?.stop(), issuer?.close()]);
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe('a private base image', () => {
  it('is fetched by BuildKit itself with the credentials the build session hands it (the Auth service)', async () => {
    // The session alone, without the pre-pull buildWithEngine does: BuildKit must resolve the private FROM through it.
    const { openSession } = await import('../packages/plugin-docker/src/session');
    const asked: string[] = [];
    const session = await openSession(eng.docker, {
      secrets: {},
      credentials: async (host) => {
        asked.push(host);
        return host === reg.addr ? { username: 'ci', secret: PASSWORD } : undefined;
      },
    });
    const before = issuer.requests.length;
    try {
      const { pack } = await import('tar-stream');
      const p = pack();
      p.entry({ name: 'Dockerfile' }, `FROM ${base}\nRUN test -x /bin/busybox\n`);
      p.finalize();
      const stream = await new Promise<NodeJS.ReadableStream>((resolve, reject) =>
        eng.docker.modem.dial(
          { path: '/build?', method: 'POST', file: p, options: { version: '2', session: session.id, t: `${eng.registry}/sous-test-${eng.run}/session-auth:1`, labels: JSON.stringify({ [TEST_LABEL]: eng.run }) }, isStream: true, statusCodes: { 200: true, 400: 'bad', 500: 'err' } },
          (err, data) => (err ? reject(err) : resolve(data as NodeJS.ReadableStream)),
        ),
      );
      let text = '';
      for await (const c of stream as AsyncIterable<Buffer>) text += c.toString();
      expect(text).not.toContain('errorDetail');
      expect(text).toContain('moby.image.id');
    } finally {
      session.close();
    }
    expect(asked).toContain(reg.addr);
    expect(issuer.requests.slice(before).some((r) => r.user === 'ci' && r.status === 200 && r.granted.some((g) => g.name === 'acme/base' && g.actions.includes('pull')))).toBe(true);
    // The engine's image store never had it: BuildKit fetched it on its own.
    expect(await eng.docker.getImage(base).inspect().then(() => 'in the engine', () => 'not in the engine')).toBe('not in the engine');
  });

  it('is pulled by the engine first when the plan names it in FROM, with the credentials in X-Registry-Auth', async () => {
    const image = await buildWithEngine(eng.docker, {
      workspace: workspace(withCreds),
      plan: plan(`FROM ${base}\nCOPY hello.txt /hello.txt\nRUN cat /hello.txt\n`),
      tags: [`${eng.registry}/sous-test-${eng.run}/private-base:1.0.2`],
      contentKey: 'sha256:test',
    });
    expect(image.id).toMatch(/^sha256:/);
    expect((await eng.docker.getImage(base).inspect()).Id).toMatch(/^sha256:/);
  });

  it('cannot be had without the credential: the build says which registry wants one', async () => {
    process.env.DOCKER_CONFIG = path.join(dir, 'no-docker-config');
    try {
      const e = await buildWithEngine(eng.docker, { workspace: workspace({}), plan: plan(`FROM ${base}\nRUN true\n`), tags: [`${eng.registry}/sous-test-${eng.run}/private-base:1.0.1`], contentKey: 'sha256:test' }).then(
        () => undefined,
        (x) => x,
      );
      expect(e).toMatchObject({ code: 'REGISTRY_UNAUTHORIZED' });
      expect(e.message).toContain(reg.addr);
    } finally {
      delete process.env.DOCKER_CONFIG;
    }
  });

  it('is pulled first when the engine lacks it, so the content key has its image id', async () => {
    const inputs = await baseImageInputs(eng.docker, plan(`FROM ${base}\n`), withCreds);
    const have = await eng.docker.getImage(base).inspect();
    expect(inputs[`from:${base}`]).toBe(have.Id);
    // Without credentials nothing is pulled: the input says the engine lacks it, as for any public image.
    await eng.docker.getImage(base).remove({ noprune: true });
    process.env.DOCKER_CONFIG = path.join(dir, 'no-docker-config');
    try {
      expect((await baseImageInputs(eng.docker, plan(`FROM ${base}\n`), {}))[`from:${base}`]).toBe('absent');
    } finally {
      delete process.env.DOCKER_CONFIG;
    }
  });
});
