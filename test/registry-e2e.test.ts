/**
 * End to end against registries that want credentials, on the real engine:
 * `sous build --tag` of a Dockerfile application whose FROM is a private
 * image in registry A (htpasswd behind TLS), its contracts, the push to A,
 * the signature, the pre-cache into registry B (token auth, a token issuer
 * in the test, credentials from a docker-credential helper on PATH, its own
 * image name template), then `sous deploy` to a docker cluster and to a
 * swarm cluster, each a private engine pulling from B. Then the refusals, and
 * a grep of everything the runs printed and wrote for the passwords and
 * tokens.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { Gdm, RegistryClient, type RegistryConfig } from '@sous/core';
import { gitIn as git } from './helpers/git-remote';
import { credentialHelper, makePki, startSecureRegistry, startTokenIssuer, type Pki, type SecureRegistry, type TokenIssuer } from './helpers/secure-registry';
import { makeSousEnv, requireBuilt, ROOT, sous, type SousEnv, type SousResult } from './helpers/sous';
import { head, tempDir } from './helpers/state-repo';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { startTestEngine, DOCKER_CLI } = require('./helpers/test-engine.js') as { startTestEngine(name: string, index: number): Promise<TestEngine>; DOCKER_CLI: string };
interface TestEngine {
  address: string;
  docker(args: string[], opts?: { input?: string; allowFail?: boolean }): string;
  swarmInit(): void;
  destroy(): Promise<void>;
}

jest.setTimeout(600_000);

const A_PASSWORD = 'a-registry-secret-pw-13';
const B_PASSWORD = 'b-registry-secret-pw-13';
const HOOK_SECRET = 'webhook-hmac-secret-e2e-13';
const RUN = Math.random().toString(16).slice(2, 8);
const REPO = `github.com/acme/shop${RUN}`;
const FIXTURE = path.join(__dirname, 'fixtures/dockerfile-app');
/**
 * The registries listen on the first private engine's bridge address, not on
 * loopback: engines treat 127.0.0.0/8 registries as insecure, and BuildKit
 * then speaks plain HTTP to them, which a TLS registry refuses. A registry a
 * company runs is not on loopback either. (test-engine.js gives engine N the
 * bridge 10.231.N.1.)
 */
const DK_INDEX = 31;
const HOST = `10.231.${DK_INDEX}.1`;
const CERTS_D = '/etc/docker/certs.d';
const SHARED = process.env.SOUS_TEST_DOCKER_HOST ?? process.env.DOCKER_HOST ?? 'unix:///run/sous-engine/docker.sock';

let dir: string;
let pki: Pki;
let A: SecureRegistry;
let B: SecureRegistry;
let issuer: TokenIssuer;
let dk: TestEngine;
let sw: TestEngine;
let env: SousEnv;
let app: string;
let bin: string;
let dockerConfigDir: string;
let base: string;
let hook: http.Server;
const events: string[] = [];
const runs: SousResult[] = [];
let extraEnv: Record<string, string>;

function shared(args: string[], input?: string): string {
  const { execFileSync } = require('node:child_process') as typeof import('node:child_process');
  return execFileSync(DOCKER_CLI, ['-H', SHARED, ...args], { encoding: 'utf8', input: input ?? '', stdio: ['pipe', 'pipe', 'pipe'] }).trim();
}

function writeConfig(extra: string[] = []): void {
  fs.mkdirSync(path.join(env.config, 'sous'), { recursive: true });
  fs.writeFileSync(
    path.join(env.config, 'sous', 'config.yaml'),
    [
      `registry: ${A.addr}`,
      'registries:',
      `  "${A.addr}":`,
      `    caFile: ${pki.caFile}`,
      '    username: ci',
      '    passwordEnv: E2E_A_PASSWORD',
      `  "${B.addr}":`,
      `    caFile: ${pki.caFile}`,
      '    imageName: "{registry}/{owner}/{name}"',
      `signingKey: ${path.join(dir, 'keys', 'ci.key')}`,
      'notifiers:',
      '  - type: webhook',
      `    url: http://127.0.0.1:${(hook.address() as import('node:net').AddressInfo).port}/events`,
      '    secretEnv: E2E_HOOK_SECRET',
      ...extra,
      '',
    ].join('\n'),
  );
}

async function run(args: string[], opts: { env?: Record<string, string>; cwd?: string } = {}): Promise<SousResult> {
  const r = await sous(env, args, { cwd: opts.cwd ?? app, env: { ...extraEnv, ...opts.env } });
  runs.push(r);
  return r;
}

async function ok(args: string[], opts: { env?: Record<string, string>; cwd?: string } = {}): Promise<any> { // eslint-disable-line @typescript-eslint/no-explicit-any
  const r = await run([...args, '--json'], opts);
  if (r.code !== 0) throw new Error(`sous ${args.join(' ')} exited ${r.code}:\n${r.stdout}\n${r.stderr}`);
  return r.json;
}

async function answer(url: string): Promise<string> {
  const end = Date.now() + 30_000;
  let last = '';
  while (Date.now() < end) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      if (res.status === 200) return (await res.text()).trim();
      last = `HTTP ${res.status}`;
    } catch (e) {
      last = String(e);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${url}: ${last}`);
}

function bClient(): RegistryClient {
  const config: RegistryConfig = { registries: { [B.addr]: { caFile: pki.caFile } } };
  process.env.DOCKER_CONFIG = dockerConfigDir;
  process.env.PATH = `${bin}:${process.env.PATH}`;
  return new RegistryClient(B.addr, { config });
}

beforeAll(async () => {
  requireBuilt();
  dir = tempDir('sous-registry-e2e-');
  [dk, sw] = await Promise.all([startTestEngine('r13dk', DK_INDEX), startTestEngine('r13sw', DK_INDEX + 1)]);
  sw.swarmInit();
  pki = makePki(path.join(dir, 'pki'), 'Sous e2e test CA', [HOST]);
  issuer = await startTokenIssuer(path.join(dir, 'issuer'), pki, { deploy: B_PASSWORD }, undefined, HOST);
  [A, B] = await Promise.all([
    startSecureRegistry(path.join(dir, 'a'), pki, { htpasswd: { ci: A_PASSWORD } }, HOST),
    startSecureRegistry(path.join(dir, 'b'), pki, { token: { realm: issuer.realm, service: issuer.service, issuer: issuer.issuer, rootcertbundle: issuer.certFile } }, HOST),
  ]);
  // Every engine on this machine (the shared one that builds, the two that deploy) trusts the CA as Docker does: certs.d.
  for (const r of [A, B]) {
    fs.mkdirSync(path.join(CERTS_D, r.addr), { recursive: true });
    fs.copyFileSync(pki.caFile, path.join(CERTS_D, r.addr, 'ca.crt'));
  }
  hook = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d)).on('end', () => {
      events.push(body);
      res.end('ok');
    });
  });
  await new Promise<void>((r) => hook.listen(0, '127.0.0.1', () => r()));

  env = makeSousEnv(dir);
  // B's credentials: a docker-credential helper config.json names, as a desktop or CI machine has them.
  bin = path.join(dir, 'bin');
  credentialHelper(bin, 'sousvault', { [B.addr]: { Username: 'deploy', Secret: B_PASSWORD } });
  dockerConfigDir = path.join(dir, 'docker');
  fs.mkdirSync(dockerConfigDir, { recursive: true });
  fs.writeFileSync(path.join(dockerConfigDir, 'config.json'), JSON.stringify({ credHelpers: { [B.addr]: 'sousvault' } }));
  extraEnv = { DOCKER_HOST: SHARED, DOCKER_CONFIG: dockerConfigDir, PATH: `${bin}:${process.env.PATH}`, E2E_A_PASSWORD: A_PASSWORD, SOUS_SIGNING_PASSPHRASE: '', E2E_HOOK_SECRET: HOOK_SECRET };

  // The private base image: pushed to A with its credentials, then gone from the engine, so the build must pull it.
  require(path.join(ROOT, 'scripts/base-images.js')).ensure(['busybox'], { log: () => undefined });
  base = `${A.addr}/private/busybox:${RUN}`;
  shared(['tag', 'sous-local/busybox:latest', base]);
  const authDir = path.join(dir, 'docker-login');
  fs.mkdirSync(authDir, { recursive: true });
  fs.writeFileSync(path.join(authDir, 'config.json'), JSON.stringify({ auths: { [A.addr]: { auth: Buffer.from(`ci:${A_PASSWORD}`).toString('base64') } } }));
  execDocker(['--config', authDir, 'push', base]);
  shared(['rmi', base]);

  app = path.join(dir, 'shop');
  fs.cpSync(FIXTURE, app, { recursive: true });
  const df = fs.readFileSync(path.join(app, 'Dockerfile'), 'utf8').replace(/^FROM .*$/m, `FROM ${base}`);
  fs.writeFileSync(path.join(app, 'Dockerfile'), df);
  git(app, 'init', '-q', '-b', 'main');
  git(app, 'add', '-A');
  git(app, 'commit', '-q', '-m', 'An application on a private base image');
  git(app, 'tag', '1.0.0');
  git(app, 'remote', 'add', 'origin', `https://${REPO}.git`);
  git(app, 'update-ref', 'refs/remotes/origin/main', 'HEAD');

  await ok(['keys', 'generate', '--out', path.join(dir, 'keys'), '--name', 'ci'], { cwd: dir });
  writeConfig();
  await ok(['cluster', 'add', '--name', 'dk', '--kind', 'docker', '--base-url', dk.address, '--registry', B.addr, '--require-signature', '--trusted-key', path.join(dir, 'keys', 'ci.pub')], { cwd: dir });
  await ok(['cluster', 'add', '--name', 'sw', '--kind', 'swarm', '--base-url', sw.address, '--registry', B.addr, '--require-signature', '--trusted-key', path.join(dir, 'keys', 'ci.pub')], { cwd: dir });
  await ok(['init', '--kind', 'http-service']);
}, 300_000);

function execDocker(args: string[]): string {
  const { execFileSync } = require('node:child_process') as typeof import('node:child_process');
  return execFileSync(DOCKER_CLI, ['-H', SHARED, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

afterAll(async () => {
  for (const e of [dk, sw]) {
    if (!e) continue;
    e.docker(['service', 'rm', ...e.docker(['service', 'ls', '-q'], { allowFail: true }).split('\n').filter(Boolean)], { allowFail: true });
    await e.destroy();
  }
  try {
    const imgs = shared(['images', '-q', '--filter', `reference=${A.addr}/*/*/*`]).split('\n').filter(Boolean);
    if (imgs.length) shared(['rmi', '-f', ...new Set(imgs)]);
  } catch {
    // Nothing left to remove.
  }
  await Promise.all([A?.stop(), B?.stop(), issuer?.close(), new Promise((r) => (hook ? hook.close(r) : r(undefined)))]);
  for (const r of [A, B]) if (r) fs.rmSync(path.join(CERTS_D, r.addr), { recursive: true, force: true });
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe('a build and deploys against registries with credentials and TLS', () => {
  let built: { status: string; digest: string; image: string; signature?: { Tag: string }; precache?: Record<string, { Status: string; Registry: string }> };

  it('builds on a private base image, runs the contracts, pushes to A, signs, and pre-caches into B under its own name', async () => {
    built = await ok(['build', '--tag', '1.0.0', '-v']);
    expect(built.status).toBe('built');
    expect(built.image).toBe(`${A.addr}/${REPO}`);
    expect(built.signature?.Tag).toBe(`${built.digest.replace(':', '-')}.sig`);
    expect(built.precache).toEqual({ dk: expect.objectContaining({ Status: 'copied', Registry: B.addr }), sw: expect.objectContaining({ Status: 'copied', Registry: B.addr }) });
    // In B, the image and its signature live where B's template puts them: acme/shop<run>.
    const b = bClient();
    const name = `acme/shop${RUN}`;
    expect((await b.headManifest(name, built.digest))?.digest).toBe(built.digest);
    expect(await b.headManifest(name, `${built.digest.replace(':', '-')}.sig`)).toBeDefined();
    // The engine did not have the base: Sous had it pulled from A with A's credentials before the build.
    expect(shared(['images', '-q', base])).not.toBe('');
  });

  it('deploys to a docker cluster whose engine pulls from B with the credentials Sous resolves', async () => {
    await ok(['deploy', '--cluster', 'dk', '--tag', '1.0.0']);
    const ids = dk.docker(['ps', '-q', '--filter', 'label=dev.sous.deployment']).split('\n').filter(Boolean);
    expect(ids).toHaveLength(1);
    const image = JSON.parse(dk.docker(['inspect', ids[0]]))[0].Config.Image as string;
    expect(image).toBe(`${B.addr}/acme/shop${RUN}@${built.digest}`);
    const port = dk.docker(['port', ids[0], '8080/tcp']).split('\n')[0].split(':').pop();
    expect(await answer(`http://127.0.0.1:${port}/version`)).toBe('1.0.0');
  });

  it('runs the contracts again on an engine that never had the image: it pulls it from A with A\'s credentials', async () => {
    expect(dk.docker(['images', '-q', `${A.addr}/${REPO}`])).toBe('');
    const r = await ok(['test', '--tag', '1.0.0'], { env: { DOCKER_HOST: dk.address } });
    expect(JSON.stringify(r)).toContain('passed');
    expect(dk.docker(['images', '-q', `${A.addr}/${REPO}`])).not.toBe('');
  });

  it('deploys to a swarm cluster: the service carries the credentials, so its tasks pull from B', async () => {
    await ok(['deploy', '--cluster', 'sw', '--tag', '1.0.0']);
    const svc = sw.docker(['service', 'ls', '-q']).split('\n').filter(Boolean);
    expect(svc).toHaveLength(1);
    const tasks = sw.docker(['service', 'ps', svc[0], '-q', '--filter', 'desired-state=running']).split('\n').filter(Boolean);
    const t = JSON.parse(sw.docker(['inspect', tasks[0]]))[0];
    expect(t.Status.State).toBe('running');
    expect(t.Spec.ContainerSpec.Image).toBe(`${B.addr}/acme/shop${RUN}@${built.digest}`);
    expect(await answer(`http://127.0.0.1:${t.Status.PortStatus.Ports[0].PublishedPort}/version`)).toBe('1.0.0');
  });
});

describe('refusals: exit non-zero, nothing recorded, nothing signed, the GDM as it was', () => {
  async function refused(version: string, args: string[], runEnv: Record<string, string> = {}): Promise<{ code: string; message: string; hints: string[] }> {
    git(app, 'commit', '-q', '--allow-empty', '-m', `version ${version}`);
    git(app, 'tag', version);
    git(app, 'update-ref', 'refs/remotes/origin/main', 'HEAD');
    const before = head(env.state);
    const r = await run([...args, '--json'], { env: runEnv });
    expect(r.code).toBe(1);
    expect(head(env.state)).toBe(before);
    const gdm = await Gdm.open(env.state, { user: { name: 't', email: 't@x' } });
    expect((await gdm.artifacts({ repo: REPO, dir: '' })).map((a) => a.Version)).toEqual(['1.0.0']);
    // No version tag and no signature in A for anything but 1.0.0.
    const a = new RegistryClient(A.addr, { config: { registries: { [A.addr]: { caFile: pki.caFile, username: 'ci', passwordEnv: 'E2E_A_PASSWORD' } } } });
    process.env.E2E_A_PASSWORD = A_PASSWORD;
    const tags = await a.tags(REPO);
    expect(tags.filter((t) => t.endsWith('.sig'))).toHaveLength(1);
    expect(tags).not.toContain(version);
    return r.json.error;
  }

  it('a wrong password: REGISTRY_UNAUTHORIZED naming A and the variable', async () => {
    const e = await refused('1.0.1', ['build', '--tag', '1.0.1'], { E2E_A_PASSWORD: 'wrong-password-e2e-13' });
    expect(e.code).toBe('REGISTRY_UNAUTHORIZED');
    expect(e.message).toContain(A.addr);
    expect(e.message).toContain('E2E_A_PASSWORD');
  });

  it('a CA Sous does not trust: REGISTRY_TLS_UNTRUSTED with the certs.d hint', async () => {
    const other = makePki(path.join(dir, 'other-pki'), 'Some other CA');
    writeConfig();
    const cfg = fs.readFileSync(path.join(env.config, 'sous', 'config.yaml'), 'utf8').replace(`    caFile: ${pki.caFile}\n    username: ci`, `    caFile: ${other.caFile}\n    username: ci`);
    fs.writeFileSync(path.join(env.config, 'sous', 'config.yaml'), cfg);
    try {
      const e = await refused('1.0.2', ['build', '--tag', '1.0.2']);
      expect(e.code).toBe('REGISTRY_TLS_UNTRUSTED');
      expect(e.message).toContain(A.addr);
      expect(e.hints.join(' ')).toContain(`/etc/docker/certs.d/${A.addr}/ca.crt`);
    } finally {
      writeConfig();
    }
  });

  it('a helper that fails: CREDENTIAL_HELPER_FAILED with its stderr', async () => {
    const broken = path.join(dir, 'bin-broken');
    fs.mkdirSync(broken, { recursive: true });
    fs.writeFileSync(path.join(broken, 'docker-credential-sousvault'), '#!/bin/sh\necho "vault sealed: cannot read secrets" >&2\nexit 1\n', { mode: 0o755 });
    // A's credential from the helper too, this time.
    writeConfig();
    const cfg = fs.readFileSync(path.join(env.config, 'sous', 'config.yaml'), 'utf8').replace('    username: ci\n    passwordEnv: E2E_A_PASSWORD\n', '    credentialHelper: sousvault\n');
    fs.writeFileSync(path.join(env.config, 'sous', 'config.yaml'), cfg);
    try {
      const e = await refused('1.0.3', ['build', '--tag', '1.0.3'], { PATH: `${broken}:${process.env.PATH}` });
      expect(e.code).toBe('CREDENTIAL_HELPER_FAILED');
      expect(e.message).toContain('docker-credential-sousvault');
      expect(e.message).toContain('vault sealed');
    } finally {
      writeConfig();
    }
  });

  it('a token service that refuses, and a name the registry refuses', async () => {
    writeConfig([`# B as the main registry, with the default layout (github.com/acme/...), which its token service does not grant`]);
    const cfg = fs.readFileSync(path.join(env.config, 'sous', 'config.yaml'), 'utf8').replace(`registry: ${A.addr}`, `registry: ${B.addr}`).replace('    imageName: "{registry}/{owner}/{name}"\n', '');
    fs.writeFileSync(path.join(env.config, 'sous', 'config.yaml'), cfg);
    try {
      const denied = await refused('1.0.4', ['build', '--tag', '1.0.4']);
      expect(denied.code).toBe('REGISTRY_DENIED');
      expect(denied.message).toContain(`github.com/acme/shop${RUN}`);
      expect(denied.hints.join(' ')).toContain('imageName');
      issuer.refuseWith = 503;
      const down = await refused('1.0.5', ['build', '--tag', '1.0.5']);
      expect(down.code).toBe('REGISTRY_TOKEN_REFUSED');
    } finally {
      issuer.refuseWith = undefined;
      writeConfig();
    }
  });
});

describe('secrets', () => {
  it('no password, token or Authorization header in anything the runs printed, logged, sent as events or wrote', async () => {
    // One more run with every log line on.
    await run(['deploy', '--cluster', 'dk', '--tag', '1.0.0', '--debug']);
    expect(events.length).toBeGreaterThan(0);
    const secrets = [A_PASSWORD, B_PASSWORD, HOOK_SECRET, 'wrong-password-e2e-13', Buffer.from(`ci:${A_PASSWORD}`).toString('base64'), Buffer.from(`deploy:${B_PASSWORD}`).toString('base64'), ...issuer.issued];
    expect(issuer.issued.length).toBeGreaterThan(0);
    const printed = runs.map((r) => `${r.stdout}\n${r.stderr}`).join('\n');
    expect(printed.length).toBeGreaterThan(1000);
    const written: string[] = [];
    const walk = (d: string) => {
      for (const f of fs.readdirSync(d, { withFileTypes: true })) {
        const p = path.join(d, f.name);
        // The credential stores themselves are where secrets are meant to be.
        if (p.startsWith(bin) || p.startsWith(path.join(dir, 'docker-login')) || p.startsWith(path.join(dir, 'a')) || p.startsWith(path.join(dir, 'b')) || p.startsWith(path.join(dir, 'issuer'))) continue;
        if (f.isDirectory()) walk(p);
        else if (f.isFile() && fs.statSync(p).size < 50 << 20) written.push(`${p}\n${fs.readFileSync(p, 'latin1')}`);
      }
    };
    walk(dir);
    expect(written.length).toBeGreaterThan(10);
    const everything = [printed, ...events, ...written].join('\n');
    for (const s of secrets) expect(everything.includes(s) ? s : 'absent').toBe('absent');
    // The same search finds them where they are meant to be: the helper's own store, and the tokens the registry was sent.
    expect(fs.readFileSync(path.join(bin, 'sousvault-store.json'), 'utf8').includes(B_PASSWORD)).toBe(true);
    expect(issuer.requests.some((r) => r.user === 'deploy' && r.status === 200 && r.granted.length > 0)).toBe(true);
    expect(everything).not.toMatch(/authorization:\s*(basic|bearer)\s+[a-z0-9]/i);
  });
});
