/**
 * `sous registry login` and `logout` through the real binary against
 * Debian's docker-registry (htpasswd behind TLS; token auth), writing what
 * the docker CLI reads: the docker CLI pulls with a login Sous wrote, and
 * Sous uses a login `docker login` wrote. Also: `sous verify` and signing
 * with credentials, several signatures in one .sig, a registry that keeps
 * tags immutable, and the server's clean-up deleting with the delete scope.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { digestOf, forgetRegistryAuth, Gdm, loadConfig, MEDIA_TYPES, RegistryClient, Sous, type RegistryConfig } from '@sous/core';
import { signImage, verifyImageSignature, writeKeyPair } from '@sous/plugin-sign';
import { randomLayer, startRegistry, type TestRegistry } from './helpers/registries';
import { credentialHelper, makePki, startProxy, startSecureRegistry, startTokenIssuer, type Pki, type SecureRegistry, type TestProxy, type TokenIssuer } from './helpers/secure-registry';
import { makeSousEnv, requireBuilt, sous, type SousEnv } from './helpers/sous';
import { makeStateRepo, tempDir } from './helpers/state-repo';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { DOCKER_CLI } = require('./helpers/test-engine.js') as { DOCKER_CLI: string };
const SHARED = process.env.SOUS_TEST_DOCKER_HOST ?? process.env.DOCKER_HOST ?? 'unix:///run/sous-engine/docker.sock';
const PW = 'cli-login-password-13';
let dir: string;
let pki: Pki;
let basic: SecureRegistry;
let tokenReg: SecureRegistry;
let issuer: TokenIssuer;
let proxy: TestProxy;
let env: SousEnv;
const savedEnv = { ...process.env };

function userConfig(extra: Record<string, unknown> = {}): void {
  fs.mkdirSync(path.join(env.config, 'sous'), { recursive: true });
  const regs = { [basic.addr]: { caFile: pki.caFile }, [tokenReg.addr]: { caFile: pki.caFile }, [`registry.sous.test:${basic.port}`]: { caFile: pki.caFile }, ...extra };
  fs.writeFileSync(path.join(env.config, 'sous', 'config.yaml'), JSON.stringify({ registries: regs }));
}

const dockerConfigFile = () => path.join(env.home, '.docker', 'config.json');

/** A layer an engine can unpack: one small random file in a gzipped tar. */
function tarLayer(): { gz: Buffer; diffId: string } {
  const body = randomLayer(512);
  const header = Buffer.alloc(512);
  header.write('data.bin', 0);
  header.write('0000644\0', 100);
  header.write('0000000\0', 108);
  header.write('0000000\0', 116);
  header.write(`${body.length.toString(8).padStart(11, '0')}\0`, 124);
  header.write('00000000000\0', 136);
  header.write('        ', 148);
  header.write('0', 156);
  header.write('ustar\x0000', 257, 'latin1');
  let sum = 0;
  for (const b of header) sum += b;
  header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
  const tar = Buffer.concat([header, body, Buffer.alloc(1024)]);
  return { gz: zlib.gzipSync(tar), diffId: digestOf(tar) };
}

async function push(c: RegistryClient, repository: string, tag: string): Promise<string> {
  const { gz: layer, diffId } = tarLayer();
  await c.pushBlob(repository, digestOf(layer), layer);
  const cfg = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [diffId] } }));
  await c.pushBlob(repository, digestOf(cfg), cfg);
  const m = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MEDIA_TYPES.dockerManifest, config: { mediaType: MEDIA_TYPES.dockerConfig, size: cfg.length, digest: digestOf(cfg) }, layers: [{ mediaType: MEDIA_TYPES.dockerLayer, size: layer.length, digest: digestOf(layer) }] }));
  return c.putManifest(repository, tag, m, MEDIA_TYPES.dockerManifest);
}

function basicClient(): RegistryClient {
  process.env.SOUS_T13_CLI_PW = PW;
  return new RegistryClient(basic.addr, { config: { registries: { [basic.addr]: { caFile: pki.caFile, username: 'ci', passwordEnv: 'SOUS_T13_CLI_PW' } } } });
}

beforeAll(async () => {
  requireBuilt();
  dir = tempDir('sous-registry-cli-');
  pki = makePki(path.join(dir, 'pki'));
  issuer = await startTokenIssuer(path.join(dir, 'issuer'), pki, { ci: PW });
  [basic, tokenReg, proxy] = await Promise.all([
    startSecureRegistry(path.join(dir, 'basic'), pki, { htpasswd: { ci: PW } }),
    startSecureRegistry(path.join(dir, 'token'), pki, { token: { realm: issuer.realm, service: issuer.service, issuer: issuer.issuer, rootcertbundle: issuer.certFile } }),
    startProxy(),
  ]);
  env = makeSousEnv(dir);
  userConfig();
}, 60_000);

afterAll(async () => {
  await Promise.all([basic?.stop(), tokenReg?.stop(), issuer?.close(), proxy?.close()]);
  fs.rmSync(dir, { recursive: true, force: true });
});

afterEach(() => {
  for (const k of Object.keys(process.env)) if (!(k in savedEnv)) delete process.env[k];
  Object.assign(process.env, savedEnv);
  forgetRegistryAuth();
});

describe('sous registry login and logout', () => {
  it('checks the password, then writes config.json as docker does; docker pulls with it; logout removes it', async () => {
    const bad = await sous(env, ['registry', 'login', basic.addr, '--username', 'ci', '--password-stdin', '--json'], { stdin: 'not-it\n' });
    expect(bad.code).toBe(1);
    expect(bad.json.error.code).toBe('REGISTRY_UNAUTHORIZED');
    expect(fs.existsSync(dockerConfigFile())).toBe(false);

    const r = await sous(env, ['registry', 'login', basic.addr, '--username', 'ci', '--password-stdin', '--json'], { stdin: `${PW}\n` });
    expect(r.code).toBe(0);
    expect(r.json).toEqual({ registry: basic.addr, username: 'ci', storedIn: '~/.docker/config.json' });
    expect(r.stdout + r.stderr).not.toContain(PW);
    const written = JSON.parse(fs.readFileSync(dockerConfigFile(), 'utf8'));
    expect(Buffer.from(written.auths[basic.addr].auth, 'base64').toString()).toBe(`ci:${PW}`);
    expect(fs.statSync(dockerConfigFile()).mode & 0o777).toBe(0o600);

    // The docker CLI reads the same file: it pulls from the registry with that login.
    const digest = await push(basicClient(), 'acme/cli', 'v1');
    const cli = (args: string[]) => execFileSync(DOCKER_CLI, ['--config', path.dirname(dockerConfigFile()), '-H', SHARED, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    expect(cli(['pull', `${basic.addr}/acme/cli@${digest}`])).toContain(digest);
    cli(['rmi', `${basic.addr}/acme/cli@${digest}`]);

    const out = await sous(env, ['registry', 'logout', basic.addr, '--json']);
    expect(out.json).toEqual({ registry: basic.addr, removedFrom: ['~/.docker/config.json'] });
    expect(JSON.parse(fs.readFileSync(dockerConfigFile(), 'utf8')).auths).toEqual({});
    expect((await sous(env, ['registry', 'logout', basic.addr, '--json'])).json).toEqual({ registry: basic.addr, removedFrom: [] });
  });

  it('uses a login that docker login wrote', async () => {
    fs.rmSync(path.dirname(dockerConfigFile()), { recursive: true, force: true });
    execFileSync(DOCKER_CLI, ['--config', path.dirname(dockerConfigFile()), '-H', SHARED, 'login', basic.addr, '--username', 'ci', '--password-stdin'], { input: PW, stdio: ['pipe', 'pipe', 'pipe'] });
    const digest = await push(basicClient(), 'acme/docker-login', 'v1');
    // Unsigned, so verify refuses, but only after reading the registry with docker's login (without it: REGISTRY_UNAUTHORIZED).
    const v = await sous(env, ['verify', `${basic.addr}/acme/docker-login@${digest}`, '--key', writeKeyPair({ dir: path.join(dir, 'k0'), name: 'k' }).publicKey, '--json']);
    expect(v.json.error.code).toBe('SIGNATURE_MISSING');
    await sous(env, ['registry', 'logout', basic.addr]);
    const after = await sous(env, ['verify', `${basic.addr}/acme/docker-login@${digest}`, '--key', path.join(dir, 'k0', 'k.pub'), '--json']);
    expect(after.json.error.code).toBe('REGISTRY_UNAUTHORIZED');
  });

  it('stores the login with the configured credential helper, and erases it there', async () => {
    const bin = path.join(dir, 'bin');
    const h = credentialHelper(bin, 'sousstore');
    userConfig({ [tokenReg.addr]: { caFile: pki.caFile, credentialHelper: 'sousstore' } });
    try {
      const pathEnv = { PATH: `${bin}:${process.env.PATH}` };
      const r = await sous(env, ['registry', 'login', tokenReg.addr, '-u', 'ci', '--password-stdin', '--json'], { stdin: PW, env: pathEnv });
      expect(r.code).toBe(0);
      expect(r.json.storedIn).toBe(`docker-credential-sousstore (registries.${tokenReg.addr}.credentialHelper)`);
      expect(JSON.parse(fs.readFileSync(h.file, 'utf8'))[tokenReg.addr]).toEqual({ Username: 'ci', Secret: PW });
      expect(issuer.requests.some((q) => q.user === 'ci' && q.status === 200)).toBe(true);
      const out = await sous(env, ['registry', 'logout', tokenReg.addr, '--json'], { env: pathEnv });
      expect(out.json.removedFrom).toEqual([`docker-credential-sousstore (registries.${tokenReg.addr}.credentialHelper)`]);
      expect(JSON.parse(fs.readFileSync(h.file, 'utf8'))).toEqual({});
      expect(fs.readFileSync(h.calls, 'utf8').trim().split('\n')).toEqual(['store', 'erase']);
    } finally {
      userConfig();
    }
  });

  it('refuses without a password on stdin, a bad host, an untrusted CA and a proxy that says no', async () => {
    const none = await sous(env, ['registry', 'login', basic.addr, '-u', 'ci', '--json']);
    expect([none.code, none.json.error.code]).toEqual([2, 'REGISTRY_LOGIN_NO_PASSWORD']);
    const host = await sous(env, ['registry', 'login', 'not a host', '-u', 'ci', '--password-stdin', '--json'], { stdin: 'x' });
    expect([host.code, host.json.error.code]).toEqual([2, 'INVALID_REGISTRY_HOST']);
    fs.writeFileSync(path.join(env.config, 'sous', 'config.yaml'), JSON.stringify({ registries: { [basic.addr]: {} } }));
    const ca = await sous(env, ['registry', 'login', basic.addr, '-u', 'ci', '--password-stdin', '--json'], { stdin: PW });
    expect([ca.code, ca.json.error.code]).toEqual([1, 'REGISTRY_TLS_UNTRUSTED']);
    userConfig();
    proxy.refuseWith = 407;
    try {
      const p = await sous(env, ['registry', 'login', `registry.sous.test:${basic.port}`, '-u', 'ci', '--password-stdin', '--json'], { stdin: PW, env: { HTTPS_PROXY: proxy.url } });
      expect([p.code, p.json.error.code]).toEqual([1, 'REGISTRY_PROXY_REFUSED']);
      expect(p.json.error.message).toContain('407');
    } finally {
      proxy.refuseWith = undefined;
    }
    const through = await sous(env, ['registry', 'login', `registry.sous.test:${basic.port}`, '-u', 'ci', '--password-stdin', '--json'], { stdin: PW, env: { HTTPS_PROXY: proxy.url } });
    expect(through.code).toBe(0);
    expect(proxy.tunnels).toContain(`registry.sous.test:${basic.port}`);
  });
});

describe('signatures on registries with credentials', () => {
  it('signs with credentials; a second key adds a signature to the same .sig, and each key verifies', async () => {
    const c = basicClient();
    const digest = await push(c, 'acme/signed', 'v1');
    const config: RegistryConfig = { registries: { [basic.addr]: { caFile: pki.caFile, username: 'ci', passwordEnv: 'SOUS_T13_CLI_PW' } } };
    const k1 = writeKeyPair({ dir: path.join(dir, 'k1'), name: 'ci' });
    const k2 = writeKeyPair({ dir: path.join(dir, 'k2'), name: 'release' });
    const { loadPrivateKey } = await import('@sous/plugin-sign');
    const image = `${basic.addr}/acme/signed`;
    const first = await signImage({ image, digest, key: loadPrivateKey(k1.privateKey).key, config });
    const second = await signImage({ image, digest, key: loadPrivateKey(k2.privateKey).key, config });
    expect(second.tag).toBe(first.tag);
    expect(second.digest).not.toBe(first.digest);
    const sig = await c.getManifest('acme/signed', first.tag);
    expect((sig.json as { layers: unknown[] }).layers).toHaveLength(2);
    for (const k of [k1, k2]) expect((await verifyImageSignature({ image: `${image}@${digest}`, keys: [k.publicKey], config })).signatures.map((s) => s.keyId)).toEqual([k.keyId]);
  });

  it('never overwrites a signature tag a registry keeps immutable (modelled on ECR\'s answer): SIGNATURE_TAG_IMMUTABLE, the first still verifies', async () => {
    const plain = await startRegistry(path.join(dir, 'plain'));
    const front = await immutableFront(plain.addr);
    try {
      const c = new RegistryClient(front.addr);
      const digest = await push(c, 'acme/immutable', 'v1');
      const { loadPrivateKey } = await import('@sous/plugin-sign');
      const k1 = writeKeyPair({ dir: path.join(dir, 'i1'), name: 'ci' });
      const k2 = writeKeyPair({ dir: path.join(dir, 'i2'), name: 'release' });
      const image = `${front.addr}/acme/immutable`;
      const first = await signImage({ image, digest, key: loadPrivateKey(k1.privateKey).key });
      const e = await signImage({ image, digest, key: loadPrivateKey(k2.privateKey).key }).then(
        () => undefined,
        (x) => x,
      );
      expect(e).toMatchObject({ code: 'SIGNATURE_TAG_IMMUTABLE' });
      expect(front.refused).toBe(1);
      expect((await c.headManifest('acme/immutable', first.tag))?.digest).toBe(first.digest);
      expect((await verifyImageSignature({ image: `${image}@${digest}`, keys: [k1.publicKey] })).signatures).toHaveLength(1);
      // The same key again pushes nothing, so it is no overwrite either.
      expect((await signImage({ image, digest, key: loadPrivateKey(k1.privateKey).key })).reused).toBe(true);
    } finally {
      await front.close();
      await plain.stop();
    }
  });
});

describe("the server's clean-up of an interrupted tag build", () => {
  it('deletes the unrecorded image and its signature from a token-auth registry (the delete scope)', async () => {
    process.env.SOUS_T13_CLI_PW = PW;
    const config: RegistryConfig = { registries: { [tokenReg.addr]: { caFile: pki.caFile, username: 'ci', passwordEnv: 'SOUS_T13_CLI_PW' } } };
    const c = new RegistryClient(tokenReg.addr, { config });
    const repository = 'acme/cleanup';
    const digest = await push(c, repository, '1.0.0');
    const { loadPrivateKey } = await import('@sous/plugin-sign');
    const sig = await signImage({ image: `${tokenReg.addr}/${repository}`, digest, key: loadPrivateKey(writeKeyPair({ dir: path.join(dir, 'kc'), name: 'ci' }).privateKey).key, config });
    const state = path.join(dir, 'cleanup-state');
    makeStateRepo(state);
    const cfgFile = path.join(dir, 'cleanup.json');
    fs.writeFileSync(cfgFile, JSON.stringify({ registry: tokenReg.addr, imageName: '{registry}/{owner}/{name}', ...config }));
    const resolved = await loadConfig({ repoConfig: false, configFile: cfgFile, env: { SOUS_STATE_LOCATION: state, HOME: env.home } });
    const { removeUnrecorded } = await import('../packages/server/src/builds/cleanup');
    const before = issuer.requests.length;
    const removed = await removeUnrecorded(Sous.create(resolved), await Gdm.open(state, { user: { name: 't', email: 't@x' } }), { repo: 'github.com/acme/cleanup', offset: '', source: 'github.com/acme/cleanup', version: '1.0.0', commit: 'c'.repeat(40), publishStarted: true, pushed: { digest } } as never, () => undefined);
    expect(removed).toEqual([`${tokenReg.addr}/${repository}@${digest}`]);
    expect(await c.headManifest(repository, digest)).toBeUndefined();
    expect(await c.headManifest(repository, sig.tag)).toBeUndefined();
    expect(issuer.requests.slice(before).some((q) => q.granted.some((g) => g.name === repository && g.actions.includes('delete')))).toBe(true);
  });
});

/** A registry front that refuses to overwrite a tag, with the error ECR answers (modelled on its documentation, not recorded). */
async function immutableFront(upstream: string): Promise<{ addr: string; refused: number; close(): Promise<void> }> {
  const state = { refused: 0 };
  const tags = new Set<string>();
  const server = http.createServer((req, res) => {
    const m = /^\/v2\/(.+)\/manifests\/([^/?]+)$/.exec(req.url ?? '');
    if (req.method === 'PUT' && m && !m[2].startsWith('sha256:')) {
      const key = `${m[1]}:${m[2]}`;
      if (tags.has(key)) {
        state.refused++;
        req.resume();
        res.writeHead(400, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ errors: [{ code: 'TAG_INVALID', message: `The image tag '${m[2]}' already exists in the '${m[1]}' repository and cannot be overwritten because the repository is immutable.` }] }));
        return;
      }
      tags.add(key);
    }
    const [host, port] = upstream.split(':');
    const up = http.request({ host, port: Number(port), method: req.method, path: req.url, headers: req.headers }, (ur) => {
      const headers = { ...ur.headers };
      if (typeof headers.location === 'string') headers.location = headers.location.replace(`//${upstream}`, `//${req.headers.host}`);
      res.writeHead(ur.statusCode ?? 502, headers);
      ur.pipe(res);
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    addr: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    get refused() {
      return state.refused;
    },
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}
