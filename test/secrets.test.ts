/**
 * Secrets end to end through the real, built `sous` binary on a real engine:
 * a docker cluster and a swarm cluster, values from the file and command
 * providers, rotation, a missing key, and a canary value that must appear in
 * nothing Sous prints, writes, labels, commits or serves.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Gdm } from '@sous/core';
import { LABELS } from '@sous/plugin-scheduler-docker';
import { httpGet, USER } from './helpers/rectify-world';
import { appImage, type AppImage } from './helpers/sched-images';
import { api, startServer } from './helpers/server';
import { makeSousEnv, requireBuilt, sous, type SousEnv, type SousResult } from './helpers/sous';
import { git, head, tempDir } from './helpers/state-repo';
import { startTestEngine, type TestEngine } from './helpers/test-engine';

jest.setTimeout(300_000);

const REPO = 'github.com/acme/ledger';
const CANARY = 'canary-7f3a9c-value';
const ROTATED = 'canary-rotated-2b81';
let engine: TestEngine;
let dir: string;
let env: SousEnv;
let secretsDir: string;
let app: AppImage;
/** Everything every command printed, for the leak check. */
const printed: string[] = [];

async function run(args: string[], extra: Record<string, string> = {}, stdin?: string): Promise<SousResult> {
  const r = await sous(env, args, { env: extra, stdin });
  printed.push(`$ sous ${args.join(' ')}\n${r.stdout}\n${r.stderr}`);
  return r;
}

async function ok(args: string[], stdin?: string) {
  const r = await run([...args, '--json'], {}, stdin);
  if (r.code !== 0) throw new Error(`sous ${args.join(' ')} exited ${r.code}:\n${r.stdout}\n${r.stderr}`);
  return r.json;
}

/** What each running instance of the deployment has in its DB_PASSWORD. */
async function secretsServed(cluster: string): Promise<string[]> {
  const ids = engine.docker(['ps', '-q', '--filter', `label=${LABELS.deployment}=${cluster}:${REPO}`]).split('\n').filter(Boolean);
  const out: string[] = [];
  for (const id of ids) {
    const port = engine.docker(['port', id, '8080/tcp']).split('\n')[0].split(':').pop();
    out.push((await httpGet(`http://127.0.0.1:${port}/secret`)).body);
  }
  return out.sort();
}

async function waitFor<T>(what: () => Promise<T>, until: (v: T) => boolean, ms = 60_000): Promise<T> {
  const end = Date.now() + ms;
  let v = await what();
  while (!until(v) && Date.now() < end) {
    await new Promise((r) => setTimeout(r, 500));
    v = await what();
  }
  return v;
}

/** The manifest with this reference for DB_PASSWORD; after the first deploy, at the deployed version. */
function manifest(ref: string, deployed = true): string {
  const spec = (cluster: string) => `  ${cluster}:
    Resources:
      cpus: "0.1"
      memory: "64"
      ports: "1"
    Env:
      LOG_LEVEL: info
    Secrets:
      DB_PASSWORD: ${ref}
    NumInstances: 1
    Volumes: []
    Schedule: ""
${deployed ? `    Version: 1.0.0\n    Digest: ${app.digest}\n    Image: ${app.image}\n` : '    Version: ""\n'}`;
  return `Source: ${REPO}\nOwners: []\nKind: http-service\nDeployments:\n${spec('local')}${spec('swarm')}`;
}

beforeAll(async () => {
  requireBuilt();
  app = appImage('secret');
  engine = await startTestEngine('sec', 43);
  engine.swarmInit();
  dir = tempDir('sous-secrets-');
  env = makeSousEnv(dir);
  secretsDir = path.join(dir, 'secrets');
  fs.mkdirSync(path.join(secretsDir, 'ledger'), { recursive: true, mode: 0o700 });
  fs.writeFileSync(path.join(secretsDir, 'ledger/db-password'), `${CANARY}\n`);
  const provider = path.join(dir, 'vault.sh');
  fs.writeFileSync(provider, `#!/bin/sh\nif [ "$1" = slow ]; then echo "vault is thinking" >&2; sleep 30; fi\necho "vault: no such secret $1" >&2\nexit 3\n`, { mode: 0o755 });
  fs.mkdirSync(path.join(env.config, 'sous'), { recursive: true });
  fs.writeFileSync(path.join(env.config, 'sous', 'config.yaml'), `secrets:\n  file:\n    dir: ${secretsDir}\n  command:\n    run: [${provider}, "{key}"]\n    timeoutSeconds: 1\n`);
});

afterAll(async () => {
  if (engine) {
    engine.docker(['service', 'rm', ...engine.docker(['service', 'ls', '-q']).split('\n').filter(Boolean)], { allowFail: true });
    engine.removeLabelled(LABELS.cluster);
    await engine.destroy();
  }
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe('secrets', () => {
  it('reach the process on a docker and a swarm cluster, from the file provider, without entering the GDM', async () => {
    await ok(['cluster', 'add', '--name', 'local', '--kind', 'docker', '--base-url', engine.address]);
    await ok(['cluster', 'add', '--name', 'swarm', '--kind', 'swarm', '--base-url', engine.address]);
    await ok(['init', '--repo', REPO]);
    await ok(['manifest', 'set', '--repo', REPO], manifest('file:ledger/db-password', false));
    const gdm = await Gdm.open(env.state, { user: USER });
    await gdm.update(() => ({ change: { message: 'build 1.0.0', artifacts: [{ Source: REPO, Version: '1.0.0', Image: app.image, Digest: app.digest, Advisories: [], Deployable: true, BuiltAt: new Date().toISOString() }] }, result: undefined }), USER);
    await ok(['deploy', '--cluster', 'local', '--tag', '1.0.0', '--repo', REPO]);
    await ok(['deploy', '--cluster', 'swarm', '--tag', '1.0.0', '--repo', REPO]);
    expect(await secretsServed('local')).toEqual([CANARY]);
    expect(await waitFor(() => secretsServed('swarm'), (v) => v.length === 1)).toEqual([CANARY]);
    expect((await run(['plan', '--all'])).stdout).toMatch(/0 change\(s\), 2 unchanged/);
  });

  it('a rotated value is seen by the next pass: plan names the variable only, rectify rolls both, and old swarm secrets go', async () => {
    fs.writeFileSync(path.join(secretsDir, 'ledger/db-password'), ROTATED);
    const plan = await run(['plan', '--all']);
    expect(plan.stdout).toMatch(/update +local:github\.com\/acme\/ledger: secrets changed: DB_PASSWORD/);
    expect(plan.stdout).toMatch(/update +swarm:github\.com\/acme\/ledger: secrets changed: DB_PASSWORD/);
    await ok(['rectify', '--all']);
    expect(await secretsServed('local')).toEqual([ROTATED]);
    expect(await waitFor(() => secretsServed('swarm'), (v) => v.length === 1 && v[0] === ROTATED)).toEqual([ROTATED]);
    const names = await waitFor(
      async () => engine.docker(['secret', 'ls', '--format', '{{.Name}}']).split('\n').filter(Boolean),
      (v) => v.length === 1,
    );
    expect(names).toHaveLength(1);
  });

  it('a key the provider lacks fails that deployment with SECRET_NOT_FOUND; the running version keeps serving', async () => {
    await ok(['manifest', 'set', '--repo', REPO], manifest('file:ledger/gone'));
    const r = await run(['rectify', '--all', '--json']);
    expect(r.code).toBe(1);
    expect(JSON.stringify(r.json)).toMatch(/SECRET_NOT_FOUND/);
    expect(JSON.stringify(r.json)).toMatch(/no key \\"ledger\/gone\\"/);
    expect(await secretsServed('local')).toEqual([ROTATED]);
    expect(await secretsServed('swarm')).toEqual([ROTATED]);
  });

  it('a provider command that fails or times out is SECRET_PROVIDER_FAILED with its stderr', async () => {
    await ok(['manifest', 'set', '--repo', REPO], manifest('command:prod/db'));
    const failed = await run(['rectify', '--cluster', 'local', '--json']);
    expect(failed.code).toBe(1);
    expect(JSON.stringify(failed.json)).toMatch(/SECRET_PROVIDER_FAILED/);
    expect(JSON.stringify(failed.json)).toMatch(/vault: no such secret prod\/db/);
    await ok(['manifest', 'set', '--repo', REPO], manifest('command:slow'));
    const slow = await run(['rectify', '--cluster', 'local', '--json']);
    expect(JSON.stringify(slow.json)).toMatch(/did not answer within 1s: vault is thinking/);
    expect(await secretsServed('local')).toEqual([ROTATED]);
    await ok(['manifest', 'set', '--repo', REPO], manifest('file:ledger/db-password'));
  });

  it('bad references are refused when written, and nothing changes', async () => {
    const before = head(env.state);
    const cases: [string, string, number][] = [
      [manifest('file:../../etc/shadow'), 'SECRET_REF_INVALID', 2],
      [manifest('vault-of-nowhere:x'), 'SECRET_PROVIDER_UNKNOWN', 2],
      [manifest(CANARY), 'MANIFEST_INVALID', 2],
      [manifest('file:ledger/db-password').replace('LOG_LEVEL: info', `LOG_LEVEL: info\n      DB_PASSWORD: plain`), 'SECRET_ENV_CLASH', 2],
    ];
    for (const [text, code, exit] of cases) {
      const r = await run(['manifest', 'set', '--repo', REPO, '--json'], {}, text);
      expect({ code: r.code, error: r.json?.error?.code }).toEqual({ code: exit, error: code });
    }
    expect(head(env.state)).toBe(before);
  });

  it('no value appears in anything printed (--json, --debug), labelled, committed, kept beside the state, or served', async () => {
    for (const args of [['status'], ['plan', '--all'], ['query', 'ads'], ['query', 'gdm'], ['manifest', 'get', '--repo', REPO], ['rectify', '--all', '--force'], ['config'], ['metadata', 'get', '--repo', REPO]]) {
      await run([...args, '--json']);
      await run([...args, '--debug']);
    }
    const server = await startServer(env, ['--autoresolver']);
    try {
      for (const p of ['/gdm', '/status', '/metrics', '/', `/manifest?repo=${REPO}`, '/all-deploy-queues']) printed.push(JSON.stringify((await api(server.url, server.tokens.admin, 'GET', p)).body));
      printed.push(JSON.stringify((await api(server.url, server.tokens.admin, 'POST', '/rectify', { body: { force: true } })).body));
    } finally {
      await server.stop();
      printed.push(server.log());
    }
    const everything = [
      ...printed,
      ...engine.docker(['ps', '-aq']).split('\n').filter(Boolean).map((id) => engine.docker(['inspect', id, '--format', '{{json .Config.Labels}}'], { allowFail: true })),
      engine.docker(['service', 'inspect', ...engine.docker(['service', 'ls', '-q']).split('\n').filter(Boolean)]),
      git(env.state, 'log', '-p', '--all'),
      ...listFiles(path.join(env.state, '.git', 'sous')).map((f) => fs.readFileSync(f, 'utf8')),
      ...listFiles(path.join(env.home, 'data')).map((f) => fs.readFileSync(f, 'utf8')),
    ].join('\n');
    expect(everything.length).toBeGreaterThan(10_000);
    expect(everything).toContain('DB_PASSWORD');
    for (const v of [CANARY, ROTATED]) expect(everything).not.toContain(v);
    // It is where it belongs: in the instances' environment.
    expect(await secretsServed('local')).toEqual([ROTATED]);
  });
});

function listFiles(d: string): string[] {
  if (!fs.existsSync(d)) return [];
  return fs.readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? listFiles(path.join(d, e.name)) : e.isFile() ? [path.join(d, e.name)] : []));
}
