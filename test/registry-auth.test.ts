/**
 * Core's registry client against registries as companies run them: Debian's
 * docker-registry with htpasswd (bcrypt) behind TLS from a CA made here, and
 * one with `auth: token` whose token service is a small issuer in the test.
 * Credentials come from where people keep them: the config's
 * registries.<host> (passwordEnv, credentialHelper), Docker's config.json
 * (auths, identitytoken, credHelpers, credsStore), a docker-credential-<name>
 * script on PATH. Then TLS (caFile, certs.d, insecure), proxies, and every
 * refusal with its code.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { copyImage, digestOf, forgetRegistryAuth, MEDIA_TYPES, RegistryClient, sousFetch, type RegistryConfig } from '@sous/core';
import { randomLayer } from './helpers/registries';
import { credentialHelper, makeClientCert, makePki, startProxy, startSecureRegistry, startTokenIssuer, type Pki, type SecureRegistry, type TestProxy, type TokenIssuer } from './helpers/secure-registry';
import { tempDir } from './helpers/state-repo';

const USERS = { ci: 'correct-horse-battery-13', alice: 'alice-pass-13' };
let dir: string;
let pki: Pki;
let basic: SecureRegistry;
let tokenReg: SecureRegistry;
let issuer: TokenIssuer;
let proxy: TestProxy;
const savedEnv = { ...process.env };

/** A small image pushed through a client: layers, a config, a manifest under `tag`. */
async function push(c: RegistryClient, repository: string, tag: string): Promise<string> {
  const layer = randomLayer(4096);
  const ld = digestOf(layer);
  if ((await c.headBlob(repository, ld)) === undefined) await c.pushBlob(repository, ld, layer);
  const cfg = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [ld] } }));
  await c.pushBlob(repository, digestOf(cfg), cfg);
  const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MEDIA_TYPES.dockerManifest, config: { mediaType: MEDIA_TYPES.dockerConfig, size: cfg.length, digest: digestOf(cfg) }, layers: [{ mediaType: MEDIA_TYPES.dockerLayer, size: layer.length, digest: ld }] }));
  return c.putManifest(repository, tag, manifest, MEDIA_TYPES.dockerManifest);
}

async function refusal(p: Promise<unknown>): Promise<{ code: string; message: string; hints: string[]; exit: number; details?: Record<string, unknown> }> {
  try {
    await p;
  } catch (e) {
    return e as never;
  }
  throw new Error('expected a refusal');
}

function dockerConfig(c: unknown): string {
  const d = path.join(dir, `docker-${Math.random().toString(16).slice(2)}`);
  fs.mkdirSync(d, { recursive: true });
  fs.writeFileSync(path.join(d, 'config.json'), JSON.stringify(c));
  process.env.DOCKER_CONFIG = d;
  forgetRegistryAuth();
  return d;
}

beforeAll(async () => {
  dir = tempDir('sous-registry-auth-');
  pki = makePki(path.join(dir, 'pki'));
  issuer = await startTokenIssuer(path.join(dir, 'issuer'), pki, USERS);
  [basic, tokenReg, proxy] = await Promise.all([
    startSecureRegistry(path.join(dir, 'basic'), pki, { htpasswd: USERS }),
    startSecureRegistry(path.join(dir, 'token'), pki, { token: { realm: issuer.realm, service: issuer.service, issuer: issuer.issuer, rootcertbundle: issuer.certFile } }),
    startProxy(),
  ]);
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

const withCa = (host: string, extra: Record<string, unknown> = {}): RegistryConfig => ({ registries: { [host]: { caFile: pki.caFile, ...extra } } });

describe('htpasswd behind TLS', () => {
  it('pushes and pulls with the password from passwordEnv, over TLS the configured CA signed', async () => {
    process.env.SOUS_T13_PW = USERS.ci;
    const c = new RegistryClient(basic.addr, { config: withCa(basic.addr, { username: 'ci', passwordEnv: 'SOUS_T13_PW' }) });
    expect(c.baseURL).toBe(`https://${basic.addr}`);
    const digest = await push(c, 'acme/shop', '1.0.0');
    expect((await c.headManifest('acme/shop', '1.0.0'))?.digest).toBe(digest);
    expect((await c.getManifest('acme/shop', digest)).digest).toBe(digest);
    expect(await c.tags('acme/shop')).toEqual(['1.0.0']);
    expect(await c.deleteManifest('acme/shop', digest)).toBe(true);
  });

  it('uses what docker login left in config.json, and a docker-credential helper on PATH', async () => {
    dockerConfig({ auths: { [`https://${basic.addr}`]: { auth: Buffer.from(`ci:${USERS.ci}`).toString('base64') } } });
    await push(new RegistryClient(basic.addr, { config: withCa(basic.addr) }), 'acme/from-config-json', 'v1');
    const bin = path.join(dir, 'bin');
    const h = credentialHelper(bin, 'soustest', { [basic.addr]: { Username: 'alice', Secret: USERS.alice } });
    process.env.PATH = `${bin}:${process.env.PATH}`;
    dockerConfig({ credHelpers: { [basic.addr]: 'soustest' } });
    const c = new RegistryClient(basic.addr, { config: withCa(basic.addr) });
    await push(c, 'acme/from-helper', 'v1');
    expect((await c.auth()).source).toContain('docker-credential-soustest (credHelpers in');
    // Looked up once for all those calls.
    expect(fs.readFileSync(h.calls, 'utf8').trim().split('\n')).toEqual(['get']);
  });

  it('trusts the CA in Docker\'s certs.d directory for the host:port', async () => {
    const certs = path.join(dir, 'certs.d');
    fs.mkdirSync(path.join(certs, basic.addr), { recursive: true });
    fs.copyFileSync(pki.caFile, path.join(certs, basic.addr, 'ca.crt'));
    process.env.SOUS_T13_PW = USERS.ci;
    const c = new RegistryClient(basic.addr, { certsDir: certs, config: { registries: { [basic.addr]: { username: 'ci', passwordEnv: 'SOUS_T13_PW' } } } });
    await push(c, 'acme/certs-d', 'v1');
  });

  it('presents the client certificate of certs.d to a registry that wants one', async () => {
    const client = makeClientCert(pki, path.join(dir, 'client'));
    const mtls = await startSecureRegistry(path.join(dir, 'mtls'), pki, { htpasswd: USERS }, '127.0.0.1', { clientCa: pki.caFile, clientCert: client });
    try {
      process.env.SOUS_T13_PW = USERS.ci;
      const creds = { username: 'ci', passwordEnv: 'SOUS_T13_PW' };
      const certs = path.join(dir, 'certs-mtls');
      fs.mkdirSync(path.join(certs, mtls.addr), { recursive: true });
      fs.copyFileSync(pki.caFile, path.join(certs, mtls.addr, 'ca.crt'));
      // Without the client certificate the handshake is refused.
      const e = await refusal(new RegistryClient(mtls.addr, { certsDir: certs, config: { registries: { [mtls.addr]: creds } } }).ping());
      expect(e.code).toBe('REGISTRY_UNREACHABLE');
      expect(e.hints.join(' ')).toContain(`client.cert and client.key in ${certs}/${mtls.addr}`);
      fs.copyFileSync(client.cert, path.join(certs, mtls.addr, 'client.cert'));
      fs.copyFileSync(client.key, path.join(certs, mtls.addr, 'client.key'));
      await push(new RegistryClient(mtls.addr, { certsDir: certs, config: { registries: { [mtls.addr]: creds } } }), 'acme/mtls', 'v1');
    } finally {
      await mtls.stop();
    }
  });

  it('refuses a wrong password with REGISTRY_UNAUTHORIZED, naming the host and the variable it came from', async () => {
    process.env.SOUS_T13_PW = 'not-the-password-13';
    const e = await refusal(new RegistryClient(basic.addr, { config: withCa(basic.addr, { username: 'ci', passwordEnv: 'SOUS_T13_PW' }) }).headManifest('acme/shop', 'x'));
    expect(e.code).toBe('REGISTRY_UNAUTHORIZED');
    expect(e.message).toContain(basic.addr);
    expect(e.message).toContain('SOUS_T13_PW');
    expect(e.message).not.toContain('not-the-password-13');
    expect(e.hints.join(' ')).toContain(`sous registry login ${basic.addr}`);
  });

  it('says where it looked when there is no credential at all', async () => {
    const d = dockerConfig({});
    const e = await refusal(new RegistryClient(basic.addr, { config: withCa(basic.addr) }).headManifest('acme/shop', 'x'));
    expect(e.code).toBe('REGISTRY_UNAUTHORIZED');
    expect(e.message).toContain('found none');
    expect(e.message).toContain(path.join(d, 'config.json'));
  });

  it('refuses a certificate no trusted CA signed with REGISTRY_TLS_UNTRUSTED and the certs.d hint, unless insecure', async () => {
    process.env.SOUS_T13_PW = USERS.ci;
    const creds = { username: 'ci', passwordEnv: 'SOUS_T13_PW' };
    const e = await refusal((async () => new RegistryClient(basic.addr, { config: { registries: { [basic.addr]: { ...creds, caFile: path.join(dir, 'missing-ca.pem') } } } }).ping())());
    expect(e).toMatchObject({ code: 'REGISTRY_TLS_FILE_UNREADABLE', exit: 2 });
    const u = await refusal(new RegistryClient(basic.addr, { config: { registries: { 'other.example:1': {}, [basic.addr]: creds } } }).ping());
    expect(u.code).toBe('REGISTRY_TLS_UNTRUSTED');
    expect(u.message).toContain(basic.addr);
    expect(u.hints.join(' ')).toContain(`/etc/docker/certs.d/${basic.addr}/ca.crt`);
    // Insecure: TLS without checking the certificate.
    await new RegistryClient(basic.addr, { certsDir: path.join(dir, 'no-certs'), config: { registries: { [basic.addr]: { ...creds, insecure: true } } } }).ping();
  });

  it('runs a failing helper once and reports CREDENTIAL_HELPER_FAILED with its stderr', async () => {
    const bin = path.join(dir, 'bin-broken');
    fs.mkdirSync(bin, { recursive: true });
    fs.writeFileSync(path.join(bin, 'docker-credential-locked'), '#!/bin/sh\necho "gpg: decryption failed: No secret key" >&2\nexit 1\n', { mode: 0o755 });
    process.env.PATH = `${bin}:${process.env.PATH}`;
    dockerConfig({ credsStore: 'locked' });
    const e = await refusal(new RegistryClient(basic.addr, { config: withCa(basic.addr) }).headManifest('acme/shop', 'x'));
    expect(e.code).toBe('CREDENTIAL_HELPER_FAILED');
    expect(e.message).toContain('docker-credential-locked');
    expect(e.message).toContain('gpg: decryption failed');
    dockerConfig({ credsStore: 'nowhere-13' });
    expect((await refusal(new RegistryClient(basic.addr, { config: withCa(basic.addr) }).headManifest('acme/shop', 'x'))).message).toContain('docker-credential-nowhere-13 is not on PATH');
  });
});

describe('token auth', () => {
  const cfg = (extra: Record<string, unknown> = {}) => withCa(tokenReg.addr, { username: 'ci', passwordEnv: 'SOUS_T13_TPW', ...extra });

  it('gets a token per scope from the realm with the credentials, and reuses it until it expires', async () => {
    process.env.SOUS_T13_TPW = USERS.ci;
    const c = new RegistryClient(tokenReg.addr, { config: cfg() });
    const before = issuer.requests.length;
    const digest = await push(c, 'acme/tokened', '1.0.0');
    await c.headManifest('acme/tokened', '1.0.0');
    await c.getManifest('acme/tokened', digest);
    const mine = issuer.requests.slice(before);
    // A token for the first look (pull), one for the upload (push, which covers every read after it): nothing more.
    expect(mine.map((r) => [r.user, r.scopes.join(' ')])).toEqual([
      ['ci', 'repository:acme/tokened:pull'],
      ['ci', 'repository:acme/tokened:pull,push'],
    ]);
    expect(mine[1].granted).toEqual([{ type: 'repository', name: 'acme/tokened', actions: ['pull', 'push'] }]);
  });

  it('asks for a token again once, when the registry refuses the one it holds', async () => {
    process.env.SOUS_T13_TPW = USERS.ci;
    const c = new RegistryClient(tokenReg.addr, { config: cfg() });
    const before = issuer.requests.length;
    issuer.spoilNext = 1;
    await c.tags('acme/tokened');
    expect(issuer.requests.length - before).toBe(2);
    // Both refused: no third attempt.
    issuer.spoilNext = 2;
    const e = await refusal(new RegistryClient(tokenReg.addr, { config: cfg() }).tags('acme/tokened'));
    expect(e.code).toBe('REGISTRY_DENIED');
    issuer.spoilNext = 0;
  });

  it('asks for both scopes for a cross-repository mount', async () => {
    process.env.SOUS_T13_TPW = USERS.ci;
    const c = new RegistryClient(tokenReg.addr, { config: cfg() });
    await push(c, 'acme/mount-from', 'v1');
    const before = issuer.requests.length;
    const r = await copyImage(`${tokenReg.addr}/acme/mount-from:v1`, { registry: tokenReg.addr, repository: 'acme/mount-to' }, { clients: new Map([[tokenReg.addr, c]]) });
    expect(r.blobs.mounted).toBe(2);
    expect(r.blobs.uploaded).toBe(0);
    expect(issuer.requests.slice(before).some((q) => q.scopes.includes('repository:acme/mount-from:pull') && q.scopes.includes('repository:acme/mount-to:pull,push'))).toBe(true);
  });

  it('uses an identity token from config.json as a refresh token (the OAuth2 form)', async () => {
    issuer.refreshTokens.set('alice', 'refresh-token-of-alice-13');
    dockerConfig({ auths: { [tokenReg.addr]: { auth: Buffer.from('<token>:').toString('base64'), identitytoken: 'refresh-token-of-alice-13' } } });
    const before = issuer.requests.length;
    await push(new RegistryClient(tokenReg.addr, { config: withCa(tokenReg.addr) }), 'alice/app', 'v1');
    const mine = issuer.requests.slice(before);
    expect(mine.length).toBeGreaterThan(0);
    expect(mine.every((r) => r.method === 'POST' && r.grant === 'refresh_token' && r.user === 'alice' && r.status === 200)).toBe(true);
  });

  it('pulls a public repository anonymously, and refuses pushes without a credential', async () => {
    process.env.SOUS_T13_TPW = USERS.ci;
    await push(new RegistryClient(tokenReg.addr, { config: cfg() }), 'public/base', 'v1');
    dockerConfig({});
    const anon = new RegistryClient(tokenReg.addr, { config: withCa(tokenReg.addr) });
    expect((await anon.headManifest('public/base', 'v1'))?.digest).toMatch(/^sha256:/);
    expect((await refusal(push(anon, 'acme/anon', 'v1'))).code).toBe('REGISTRY_UNAUTHORIZED');
  });

  it('refuses a wrong password at the token service, a name outside the account, and a realm that refuses', async () => {
    process.env.SOUS_T13_TPW = 'wrong-token-password-13';
    const wrong = await refusal(new RegistryClient(tokenReg.addr, { config: cfg() }).headManifest('acme/x', 'v1'));
    expect(wrong.code).toBe('REGISTRY_UNAUTHORIZED');
    expect(wrong.message).toContain('token service');
    expect(wrong.message).toContain('SOUS_T13_TPW');
    process.env.SOUS_T13_TPW = USERS.ci;
    const denied = await refusal(push(new RegistryClient(tokenReg.addr, { config: cfg() }), 'github.com/acme/shop', 'v1'));
    expect(denied.code).toBe('REGISTRY_DENIED');
    expect(denied.message).toContain('does not let ci');
    expect(denied.message).toContain('github.com/acme/shop');
    expect(denied.hints.join(' ')).toContain('imageName');
    issuer.refuseWith = 503;
    try {
      const down = await refusal(new RegistryClient(tokenReg.addr, { config: cfg() }).headManifest('acme/x', 'v1'));
      expect(down.code).toBe('REGISTRY_TOKEN_REFUSED');
      expect(down.message).toContain('HTTP 503');
      expect(down.message).toContain('down for maintenance');
    } finally {
      issuer.refuseWith = undefined;
    }
  });
});

describe('proxies', () => {
  it('reaches a registry through HTTPS_PROXY, leaves NO_PROXY hosts and loopback alone, and names a proxy that refuses', async () => {
    process.env.SOUS_T13_PW = USERS.ci;
    const host = `registry.sous.test:${basic.port}`;
    const config: RegistryConfig = { registries: { [host]: { caFile: pki.caFile, username: 'ci', passwordEnv: 'SOUS_T13_PW' } } };
    process.env.HTTPS_PROXY = proxy.url;
    const n = proxy.tunnels.length;
    await push(new RegistryClient(host, { config }), 'acme/via-proxy', 'v1');
    expect(proxy.tunnels.slice(n).every((t) => t === host)).toBe(true);
    expect(proxy.tunnels.length).toBeGreaterThan(n);
    // Loopback never goes through the proxy.
    const m = proxy.tunnels.length;
    await new RegistryClient(basic.addr, { config: withCa(basic.addr, { username: 'ci', passwordEnv: 'SOUS_T13_PW' }) }).ping();
    expect(proxy.tunnels.length).toBe(m);
    // NO_PROXY: straight to a name only the proxy knows, which fails.
    process.env.NO_PROXY = '.sous.test';
    expect((await refusal(new RegistryClient(host, { config, timeoutMs: 5000 }).ping())).code).toBe('REGISTRY_UNREACHABLE');
    expect(proxy.tunnels.length).toBe(m);
    delete process.env.NO_PROXY;
    proxy.refuseWith = 403;
    try {
      const e = await refusal(new RegistryClient(host, { config }).ping());
      expect(e.code).toBe('REGISTRY_PROXY_REFUSED');
      expect(e.message).toContain('403');
      expect(e.message).toContain(host);
    } finally {
      proxy.refuseWith = undefined;
    }
  });

  it('sends notifier and scheduler calls through the proxy too', async () => {
    const http = await import('node:http');
    const seen: string[] = [];
    const server = http.createServer((req, res) => {
      seen.push(`${req.headers.host} ${req.url}`);
      res.end('{}');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as import('node:net').AddressInfo).port;
    try {
      process.env.HTTP_PROXY = proxy.url;
      const { httpPost } = await import('@sous/core');
      expect((await httpPost(`http://hooks.sous.test:${port}/hook`, '{}', { headers: {}, timeoutMs: 5000 })).status).toBe(200);
      const { SingularityClient } = await import('@sous/plugin-scheduler-singularity');
      await new SingularityClient({ baseURL: `http://singularity.sous.test:${port}/singularity`, timeoutMs: 5000, maxConcurrency: 1 }).call('GET', '/api/requests');
      expect((await sousFetch(`http://hooks.sous.test:${port}/direct`)).status).toBe(200);
      expect(seen).toEqual([`hooks.sous.test:${port} /hook`, `singularity.sous.test:${port} /singularity/api/requests`, `hooks.sous.test:${port} /direct`]);
    } finally {
      server.close();
      server.closeAllConnections();
    }
  });
});
