import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { engineAuthConfig, resolveRegistryAuth } from './auth';
import { redactText } from '../log';

let dir: string;
let env: Record<string, string>;

/** A docker-credential-<name> script answering the protocol from a JSON file of ServerURL → {Username, Secret}. */
function helper(name: string, store: Record<string, { Username: string; Secret: string }>, opts: { fail?: string } = {}): void {
  const bin = path.join(dir, 'bin');
  fs.mkdirSync(bin, { recursive: true });
  const db = path.join(dir, `${name}.json`);
  fs.writeFileSync(db, JSON.stringify(store));
  const script = opts.fail
    ? `#!/bin/sh\necho "${opts.fail}" >&2\nexit 3\n`
    : `#!/bin/sh\nread url\nnode -e 'const s=require(process.argv[1]);const c=s[process.argv[2]];if(!c){console.log("credentials not found in native keychain");process.exit(1)}console.log(JSON.stringify({ServerURL:process.argv[2],...c}))' ${db} "$url"\n`;
  fs.writeFileSync(path.join(bin, `docker-credential-${name}`), script, { mode: 0o755 });
}

function dockerConfig(c: unknown): void {
  fs.mkdirSync(path.join(dir, 'docker'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'docker', 'config.json'), JSON.stringify(c));
}

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sous-auth-'));
  env = { HOME: dir, DOCKER_CONFIG: path.join(dir, 'docker'), PATH: `${path.join(dir, 'bin')}:${process.env.PATH}` };
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('resolveRegistryAuth', () => {
  it('reads auths from config.json, whichever form the key has, and registers the password as a secret', async () => {
    dockerConfig({ auths: { 'https://registry.acme.com': { auth: Buffer.from('ci:pa55-w0rd-1').toString('base64') }, [`https://index.docker.io/v1/`]: { auth: Buffer.from('hubuser:hub-pass-2').toString('base64') } } });
    const a = await resolveRegistryAuth('registry.acme.com', {}, { env });
    expect(a.credential).toEqual({ username: 'ci', password: 'pa55-w0rd-1' });
    expect(a.kind).toBe('docker-config');
    expect(a.source).toContain('config.json');
    expect(a.source).toContain('auths.https://registry.acme.com');
    expect(redactText('it said pa55-w0rd-1')).toBe('it said [redacted]');
    const hub = await resolveRegistryAuth('index.docker.io', {}, { env });
    expect(hub.host).toBe('docker.io');
    expect(hub.credential?.username).toBe('hubuser');
    expect(engineAuthConfig(hub).serveraddress).toBe('https://index.docker.io/v1/');
  });

  it('asks credHelpers first, then credsStore, as docker does', async () => {
    helper('one', { 'ghcr.io': { Username: 'octo', Secret: 'helper-secret-1' } });
    helper('store', { 'quay.io': { Username: '<token>', Secret: 'identity-token-9' } });
    dockerConfig({ credHelpers: { 'ghcr.io': 'one' }, credsStore: 'store', auths: { 'ghcr.io': { auth: Buffer.from('x:y-not-this').toString('base64') } } });
    const g = await resolveRegistryAuth('ghcr.io', {}, { env });
    expect(g).toMatchObject({ kind: 'helper', credential: { username: 'octo', password: 'helper-secret-1' } });
    expect(g.source).toContain('docker-credential-one (credHelpers in');
    const q = await resolveRegistryAuth('quay.io', {}, { env });
    expect(q.credential).toEqual({ username: '<token>', identityToken: 'identity-token-9' });
    expect(engineAuthConfig(q)).toEqual({ serveraddress: 'quay.io', identitytoken: 'identity-token-9' });
    const none = await resolveRegistryAuth('other.io', {}, { env });
    expect(none.kind).toBe('none');
    expect(none.searched.join(' ')).toContain('docker-credential-store (credsStore');
  });

  it('prefers the config: passwordEnv, then credentialHelper', async () => {
    helper('cfg', { 'r.io:5000': { Username: 'h', Secret: 'from-helper-3' } });
    dockerConfig({ auths: { 'r.io:5000': { auth: Buffer.from('d:from-docker').toString('base64') } } });
    const a = await resolveRegistryAuth('r.io:5000', { registries: { 'r.io:5000': { username: 'ci', passwordEnv: 'R_PW' } } }, { env: { ...env, R_PW: 'from-env-4' } });
    expect(a).toMatchObject({ kind: 'config', credential: { username: 'ci', password: 'from-env-4' } });
    expect(a.source).toContain('R_PW');
    const b = await resolveRegistryAuth('r.io:5000', { registries: { 'r.io': { credentialHelper: 'cfg' } } }, { env });
    expect(b).toMatchObject({ kind: 'helper', credential: { password: 'from-helper-3' } });
    expect(b.source).toContain('registries.r.io.credentialHelper');
  });

  it('says what is wrong with a missing variable, a missing helper and a failing one', async () => {
    await expect(resolveRegistryAuth('r.io', { registries: { 'r.io': { username: 'ci', passwordEnv: 'NOPE_PW' } } }, { env })).rejects.toMatchObject({ code: 'REGISTRY_PASSWORD_ENV_UNSET', exit: 2 });
    dockerConfig({ credsStore: 'absent' });
    const missing = resolveRegistryAuth('x.io', {}, { env });
    await expect(missing).rejects.toMatchObject({ code: 'CREDENTIAL_HELPER_FAILED' });
    await expect(missing).rejects.toThrow(/docker-credential-absent is not on PATH/);
    helper('broken', {}, { fail: 'the keyring is locked' });
    dockerConfig({ credsStore: 'broken' });
    const broken = resolveRegistryAuth('y.io', {}, { env });
    await expect(broken).rejects.toMatchObject({ code: 'CREDENTIAL_HELPER_FAILED', details: { stderr: 'the keyring is locked' } });
    await expect(broken).rejects.toThrow(/exited with 3: the keyring is locked/);
  });

  it('refuses a broken config.json, naming it', async () => {
    fs.mkdirSync(path.join(dir, 'docker'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'docker', 'config.json'), '{ nope');
    await expect(resolveRegistryAuth('z.io', {}, { env })).rejects.toMatchObject({ code: 'DOCKER_CONFIG_INVALID', file: path.join(dir, 'docker', 'config.json') });
  });
});
