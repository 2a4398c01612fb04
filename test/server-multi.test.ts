import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { makeSousEnv, requireBuilt, sousSync, type SousEnv } from './helpers/sous';
import { freePort } from './helpers/registries';
import { api, realArtifact, startServer, type RunningServer } from './helpers/server';
import { git } from './helpers/state-repo';

async function until<T>(what: string, fn: () => Promise<T | undefined>, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const manifestFor = (repo: string, clusters: string[]) => ({
  manifest: { Source: repo, Kind: 'http-service', Owners: [], Deployments: Object.fromEntries(clusters.map((c) => [c, { NumInstances: 1, Resources: { cpus: '0.1', memory: '100', ports: '1' } }])) },
});

/** Two servers, two clusters, one GDM shared through a git remote. */
describe('several servers, one GDM', () => {
  let remote: string;
  let east: SousEnv;
  let west: SousEnv;
  let a: RunningServer;
  let b: RunningServer;

  beforeAll(async () => {
    requireBuilt();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sous-multi-'));
    remote = path.join(dir, 'gdm.git');
    git(dir, 'init', '-q', '--bare', '-b', 'main', remote);
    // Seed the shared GDM through a first clone.
    const seed = makeSousEnv(path.join(dir, 'seed'));
    git(dir, 'clone', '-q', remote, seed.state);
    expect(sousSync(seed, ['cluster', 'add', '--name', 'east', '--kind', 'memory']).code).toBe(0);
    expect(sousSync(seed, ['cluster', 'add', '--name', 'west', '--kind', 'memory']).code).toBe(0);
    east = makeSousEnv(path.join(dir, 'east'));
    west = makeSousEnv(path.join(dir, 'west'));
    git(dir, 'clone', '-q', remote, east.state);
    git(dir, 'clone', '-q', remote, west.state);
    const [pa, pb] = [await freePort(), await freePort()];
    a = await startServer(east, ['--cluster', 'east', '--autoresolver', '--resync', '1s', '--url', `http://127.0.0.1:${pa}`, '--listen', `127.0.0.1:${pa}`]);
    b = await startServer(west, ['--cluster', 'west', '--autoresolver', '--resync', '1s', '--url', `http://127.0.0.1:${pb}`, '--listen', `127.0.0.1:${pb}`]);
  });

  afterAll(async () => {
    expect(await a?.stop()).toBe(0);
    expect(await b?.stop()).toBe(0);
  });

  it('tells where each cluster is rectified', async () => {
    const servers = await until('both servers in /servers', async () => {
      const r = await api(b.url, b.tokens.read, 'GET', '/servers');
      return Object.keys(r.body.servers).length === 2 ? r.body.servers : undefined;
    });
    expect(servers).toEqual({ east: a.url, west: b.url });
  });

  it('a write through one server reaches the other', async () => {
    const w = await api(a.url, a.tokens.admin, 'PUT', '/manifest?repo=github.com/acme/one', { body: manifestFor('github.com/acme/one', ['east', 'west']), headers: { 'if-none-match': '*' } });
    expect(w.status).toBe(201);
    const seen = await until('the manifest on the other server', async () => {
      const r = await api(b.url, b.tokens.read, 'GET', '/manifest?repo=github.com/acme/one');
      return r.status === 200 ? r.body : undefined;
    });
    expect(seen.manifest.Source).toBe('github.com/acme/one');
  });

  it('concurrent writes through both servers lose nothing', async () => {
    const writes = Array.from({ length: 16 }, (_, i) => {
      const srv = i % 2 ? a : b;
      const repo = `github.com/acme/app${i}`;
      return api(srv.url, srv.tokens.admin, 'PUT', `/manifest?repo=${repo}`, { body: manifestFor(repo, ['east']), headers: { 'if-none-match': '*' } });
    });
    // And both servers scale the same manifest: each must win or be told it lost (412), never be lost silently.
    const cur = await api(a.url, a.tokens.read, 'GET', '/manifest?repo=github.com/acme/one');
    const racers = [a, b].map((srv, i) =>
      api(srv.url, srv.tokens.admin, 'PUT', '/manifest?repo=github.com/acme/one', {
        body: { text: (cur.body.text as string).replace(/NumInstances: 1/g, `NumInstances: ${i + 5}`) },
        headers: { 'if-match': cur.headers.get('etag')! },
      }),
    );
    const results = await Promise.all([...writes, ...racers]);
    expect(results.slice(0, 16).map((r) => r.status)).toEqual(Array(16).fill(201));
    const raced = results.slice(16).map((r) => r.status).sort();
    expect(raced).toEqual([200, 412]);
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sous-check-'));
    git(tmp, 'clone', '-q', remote, 'c');
    const files = fs.readdirSync(path.join(tmp, 'c/manifests/github.com/acme'));
    for (let i = 0; i < 16; i++) expect(files).toContain(`app${i}.yaml`);
    const winner = results.slice(16).findIndex((r) => r.status === 200);
    expect(fs.readFileSync(path.join(tmp, 'c/manifests/github.com/acme/one.yaml'), 'utf8')).toContain(`NumInstances: ${winner + 5}`);
    expect(() => git(path.join(tmp, 'c'), 'fsck', '--strict')).not.toThrow();
  });

  it('each server rectifies only its own clusters, and deploys go to the right one', async () => {
    const artifact = await realArtifact('github.com/acme/one', '2.0.0');
    expect((await api(a.url, a.tokens.deploy, 'PUT', '/artifact?repo=github.com/acme/one&version=2.0.0', { body: artifact, headers: { 'if-none-match': '*' } })).status).toBe(201);
    const misdirected = await api(a.url, a.tokens.deploy, 'PUT', '/single-deployment?repo=github.com/acme/one&cluster=west', { body: { version: '2.0.0' }, headers: { 'if-match': '*' } });
    expect([misdirected.status, misdirected.body.error.code, misdirected.body.error.details.server]).toEqual([421, 'MISDIRECTED', b.url]);
    // The CLI, pointed at server A, finds server B for the west cluster.
    const cli = makeSousEnv(fs.mkdtempSync(path.join(os.tmpdir(), 'sous-cli-')));
    const r = sousSync(cli, ['deploy', '--cluster', 'west', '--tag', '2.0.0', '--repo', 'github.com/acme/one', '--json'], { env: { SOUS_SERVER: a.url, SOUS_TOKEN: a.tokens.deploy } });
    // Tokens are per server here: the deploy to B needs B's token, and says so.
    expect(r.json?.error?.code).toBe('UNAUTHORIZED');
    const ok = sousSync(cli, ['deploy', '--cluster', 'west', '--tag', '2.0.0', '--repo', 'github.com/acme/one', '--json'], { env: { SOUS_SERVER: b.url, SOUS_TOKEN: b.tokens.deploy } });
    expect([ok.code, ok.json?.status]).toEqual([0, 'live']);
    const statusA = await api(a.url, a.tokens.read, 'GET', '/status');
    const statusB = await api(b.url, b.tokens.read, 'GET', '/status');
    expect(statusA.body.clusters).toEqual(['east']);
    expect(statusB.body.clusters).toEqual(['west']);
    expect(statusB.body.deployments.find((d: { deploymentID: string }) => d.deploymentID === 'west:github.com/acme/one').last.status).toBe('Active');
    expect(statusA.body.deployments.every((d: { cluster: string }) => d.cluster === 'east')).toBe(true);
  });
});
