import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { makeSousEnv, requireBuilt, sousSync, type SousEnv } from './helpers/sous';
import { api, realArtifact, startServer, type RunningServer } from './helpers/server';
import { git } from './helpers/state-repo';

/** The same command against the embedded store and through a server gives the same output and exit code. */
describe('one CLI, two back ends', () => {
  let local: SousEnv;
  let remote: SousEnv;
  let srv: RunningServer;
  let asClient: Record<string, string>;

  beforeAll(async () => {
    requireBuilt();
    local = makeSousEnv(fs.mkdtempSync(path.join(os.tmpdir(), 'sous-local-')));
    remote = makeSousEnv(fs.mkdtempSync(path.join(os.tmpdir(), 'sous-remote-')));
    srv = await startServer(remote, ['--autoresolver', '--resync', '1h']);
    // The client of the server has a state location of its own that must stay untouched.
    asClient = { SOUS_SERVER: srv.url, SOUS_TOKEN: srv.tokens.admin, SOUS_STATE_LOCATION: path.join(remote.home, 'unused-state') };
  });

  afterAll(async () => {
    expect(await srv.stop()).toBe(0);
  });

  const both = (args: string[], stdin?: string) => {
    const a = sousSync(local, args, { stdin });
    const b = sousSync(remote, args, { stdin, env: asClient });
    return { a, b };
  };
  const strip = (s: string) => s.replace(/\b[0-9a-f]{40}\b/g, '<rev>').replace(/\(([0-9a-f]{12})\)/g, '(<rev>)');

  const steps: [string, string[], string?][] = [
    ['define a cluster', ['cluster', 'add', '--name', 'mem', '--kind', 'memory', '--env', 'LOG=info']],
    ['define another', ['cluster', 'add', '-name', 'other', '-kind', 'memory']],
    ['list clusters', ['cluster', 'list']],
    ['register an app (workflow step 0)', ['init', '--kind', 'http-service', '--repo', 'github.com/acme/shop', '--owner', 'alice@example.com']],
    ['register it twice', ['init', '--kind', 'http-service', '--repo', 'github.com/acme/shop']],
    ['read the manifest', ['manifest', 'get', '--repo', 'github.com/acme/shop']],
    ['scale', ['scale', '-cluster', 'mem', '3', '-repo', 'github.com/acme/shop']],
    ['set metadata', ['metadata', 'set', 'team', 'payments', '--repo', 'github.com/acme/shop']],
    ['get metadata', ['metadata', 'get', '--repo', 'github.com/acme/shop', '--json']],
    ['query the GDM', ['query', 'gdm']],
    ['query the GDM as JSON', ['query', 'gdm', '--cluster', 'mem', '--json']],
    ['a manifest naming an unknown cluster', ['manifest', 'set', '--repo', 'github.com/acme/shop'], 'Source: github.com/acme/shop\nKind: http-service\nDeployments:\n  mars: {}\n'],
    ['an unknown manifest', ['manifest', 'get', '--repo', 'github.com/acme/nope']],
    ['a version never built', ['update', '--cluster', 'mem', '--tag', '9.9.9', '--repo', 'github.com/acme/shop']],
    ['a cluster in use', ['cluster', 'remove', 'mem']],
    ['remove a cluster with its deployments', ['cluster', 'remove', 'other', '--force']],
    ['query artifacts', ['query', 'artifacts', '--json']],
  ];

  it.each(steps)('%s', (...row) => {
    const [, args, stdin] = row;
    const { a, b } = both(args, stdin);
    expect({ code: b.code, stdout: strip(b.stdout) }).toEqual({ code: a.code, stdout: strip(a.stdout) });
    expect(strip(b.stderr)).toEqual(strip(a.stderr));
  });

  it('wrote nothing to the client side, and everything through the server, authored by the token', () => {
    expect(fs.existsSync(path.join(remote.home, 'unused-state'))).toBe(false);
    const authors = git(remote.state, 'log', '--format=%an', '-n', '5').split('\n');
    expect(authors).toContain('alice');
    const stored = fs.readFileSync(path.join(remote.state, 'manifests/github.com/acme/shop.yaml'), 'utf8');
    expect(stored).toBe(fs.readFileSync(path.join(local.state, 'manifests/github.com/acme/shop.yaml'), 'utf8'));
  });

  it('refuses a read-only token on writes, with the same shape of error', async () => {
    const r = sousSync(remote, ['scale', '--cluster', 'mem', '--instances', '1', '--repo', 'github.com/acme/shop', '--json'], { env: { ...asClient, SOUS_TOKEN: srv.tokens.read } });
    expect(r.code).toBe(2);
    expect(r.json.error.code).toBe('FORBIDDEN');
    const none = sousSync(remote, ['query', 'gdm'], { env: { ...asClient, SOUS_TOKEN: '' } });
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('NO_TOKEN');
  });

  it('deploys through the server and waits for the outcome', async () => {
    const artifact = await realArtifact('github.com/acme/shop', '1.0.0');
    expect((await api(srv.url, srv.tokens.deploy, 'PUT', '/artifact?repo=github.com/acme/shop&version=1.0.0', { body: artifact, headers: { 'if-none-match': '*' } })).status).toBe(201);
    const r = sousSync(remote, ['deploy', '--cluster', 'mem', '--tag', '1.0.0', '--repo', 'github.com/acme/shop', '--json'], { env: { ...asClient, SOUS_TOKEN: srv.tokens.deploy } });
    expect(r.code).toBe(0);
    expect(r.json).toMatchObject({ status: 'live', deploymentID: 'mem:github.com/acme/shop', version: '1.0.0' });
    const status = sousSync(remote, ['status', '--json'], { env: asClient });
    expect(status.code).toBe(0);
    expect(status.json.deployments).toEqual([expect.objectContaining({ deploymentID: 'mem:github.com/acme/shop', actual: { version: '1.0.0', instances: 3, status: 'Active' } })]);
    const plan = sousSync(remote, ['plan', '--all', '--exit-code'], { env: asClient });
    expect(plan.code).toBe(0);
  });
});
