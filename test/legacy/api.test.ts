/**
 * `sous server --legacy-api`: the requests the original Sous's CLI sends
 * (test/helpers/original-client.ts, built from its util/restful client),
 * replayed against the real server, and every answer checked against the Go
 * types its decoders fill.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { makeSousEnv, requireBuilt, sousSync, type SousEnv } from '../helpers/sous';
import { api, realArtifact, startServer, type RunningServer } from '../helpers/server';
import { commitCount, git, tempDir } from '../helpers/state-repo';
import { Defs, GDMWrapper, goDecodeProblems, Manifest, OriginalClient, R11nResponse, ServerListData, SingleDeploymentBody, StatusData } from '../helpers/original-client';

const USER = { name: 'Jenkins CI', email: 'ci@acme.example' };
const SHOP = { flavor: '', offset: '', repo: 'github.com/acme/shop' };
const auditLines = (e: SousEnv) => fs.readFileSync(path.join(e.state, '.git', 'sous', 'audit.log'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);

beforeAll(() => requireBuilt());

describe('the original CLI against sous server --legacy-api', () => {
  let e: SousEnv;
  let srv: RunningServer;
  let client: OriginalClient;

  beforeAll(async () => {
    e = makeSousEnv(tempDir('sous-legacy18-'));
    expect(sousSync(e, ['cluster', 'add', '--name', 'mem', '--kind', 'memory']).code).toBe(0);
    expect(sousSync(e, ['init', '--kind', 'http-service', '--repo', 'github.com/acme/shop']).code).toBe(0);
    srv = await startServer(e, ['--autoresolver', '--resync', '1h', '--legacy-api', '--legacy-trust', '127.0.0.1/32']);
    client = new OriginalClient(srv.url, USER);
  });

  afterAll(async () => {
    const code = await srv.stop();
    if (code !== 0) throw new Error(`the server exited ${code}: ${srv.log()}`);
  });

  it('answers `sous manifest get` in the original form: unquoted base64 ETag, the canary field, a body its Manifest decoder takes', async () => {
    const r = await client.retrieve('./manifest', SHOP);
    expect(r.status).toBe(200);
    expect(r.contentType).toBe('application/json');
    expect(r.etag).toMatch(/^[A-Za-z0-9_-]{22}==$/);
    expect(r.text.startsWith(`{"${r.etag}": "canary",`)).toBe(true);
    expect(goDecodeProblems(Manifest, r.body)).toEqual([]);
    expect(r.body).toMatchObject({ Source: { Repo: 'github.com/acme/shop', Dir: '' }, Flavor: '', Kind: 'http-service', Deployments: { mem: { NumInstances: 1, Startup: { SkipCheck: false } } } });
    const missing = await client.retrieve('./manifest', { ...SHOP, repo: 'github.com/acme/none' });
    expect(missing.status).toBe(404);
    expect(missing.contentType).toMatch(/^text\/plain/);
  });

  it('takes `sous metadata set` (GET, change, PUT with If-Match and the canary back) as one commit by the header\'s user, audited as legacy', async () => {
    const before = commitCount(e.state);
    const got = await client.retrieve('./manifest', SHOP);
    const changed = JSON.parse(JSON.stringify(got.body)) as { Deployments: Record<string, { Metadata: Record<string, string> | null }> };
    delete (changed as Record<string, unknown>)[got.etag];
    changed.Deployments.mem.Metadata = { team: 'shop' };
    const put = await client.update(got, './manifest', SHOP, changed, Manifest);
    expect([put.status, put.text.slice(0, 80)]).toEqual([200, expect.any(String)]);
    expect(put.contentType).toBe('application/json');
    expect(goDecodeProblems(Manifest, JSON.parse(put.text))).toEqual([]);
    expect(commitCount(e.state)).toBe(before + 1);
    expect(git(e.state, 'log', '-1', '--format=%an <%ae>')).toBe('Jenkins CI <ci@acme.example>');
    expect(fs.readFileSync(path.join(e.state, 'manifests/github.com/acme/shop.yaml'), 'utf8')).toContain('team: shop');
    expect(auditLines(e).at(-1)).toMatchObject({ who: { name: 'Jenkins CI', email: 'ci@acme.example', token: 'legacy' }, method: 'PUT', path: '/manifest', status: 200, legacy: true });
  });

  it('refuses, in the original\'s words and codes, a PUT without a precondition, a stale ETag, a missing canary and a malformed body, writing nothing', async () => {
    const before = commitCount(e.state);
    const got = await client.retrieve('./manifest', SHOP);
    const body = got.text;
    expect((await client.put('./manifest', SHOP, body, {})).status).toBe(428);
    const stale = await client.put('./manifest', SHOP, body, { 'If-Match': 'AAAAAAAAAAAAAAAAAAAAAA==' });
    expect(stale.status).toBe(412);
    expect(stale.text).toContain('Etag mismatch');
    const noCanary = await client.put('./manifest', SHOP, body.replace(`"${got.etag}": "canary",`, ''), { 'If-Match': got.etag });
    expect(noCanary.status).toBe(400);
    expect(noCanary.text).toContain('Absent or malformed canary field');
    expect((await client.put('./manifest', SHOP, '{"Source": ', { 'If-Match': got.etag })).status).toBe(400);
    const wrongType = await client.update(got, './manifest', SHOP, { ...got.body, Deployments: { mem: { NumInstances: 'three' } } }, Manifest);
    expect(wrongType.status).toBe(400);
    expect(wrongType.text).toContain('NumInstances is not a whole number');
    expect(commitCount(e.state)).toBe(before);
    expect(auditLines(e).slice(-4).map((l) => [l.status, l.legacy])).toEqual([[412, true], [400, true], [400, true], [400, true]]);
  });

  it('runs `sous deploy` as the original client does: GET and PUT /single-deployment, then the queue item it names until the rectification resolves', async () => {
    const art = await api(srv.url, srv.tokens.deploy, 'PUT', '/artifact?repo=github.com/acme/shop&version=1.0.0', { body: await realArtifact('github.com/acme/shop', '1.0.0'), headers: { 'if-none-match': '*' } });
    expect(art.status).toBe(201);
    const q = { ...SHOP, cluster: 'mem', force: 'false' };
    const got = await client.retrieve('./single-deployment', q);
    expect(got.status).toBe(200);
    expect(goDecodeProblems(SingleDeploymentBody, got.body)).toEqual([]);
    const d = JSON.parse(JSON.stringify(got.body)) as { Deployment: { Version: string } };
    delete (d as Record<string, unknown>)[got.etag];
    d.Deployment.Version = '1.0.0';
    const put = await client.update(got, './single-deployment', q, d, SingleDeploymentBody);
    expect(put.status).toBe(201);
    expect(put.contentType).toBe('application/json');
    expect(goDecodeProblems(SingleDeploymentBody, JSON.parse(put.text))).toEqual([]);
    // The original client prepends "http://" to the Location.
    expect(put.location).toMatch(/^127\.0\.0\.1:\d+\/deploy-queue-item\?action=[^&]+&cluster=mem&repo=github\.com%2Facme%2Fshop&offset=&flavor=$/);
    const polled = await client.retrieve(`http://${put.location}&wait=true`);
    expect(polled.status).toBe(200);
    expect(goDecodeProblems(R11nResponse, polled.body)).toEqual([]);
    expect(polled.body).toMatchObject({ QueuePosition: -1, Resolution: { Cluster: 'mem', ManifestID: { Source: { Repo: 'github.com/acme/shop', Dir: '' } }, Desc: 'created', Error: null, DeployState: { Status: 2, SourceID: { Version: '1.0.0' } } } });
    // The digest the original never sends was recorded from the artifact, and is kept.
    expect(fs.readFileSync(path.join(e.state, 'manifests/github.com/acme/shop.yaml'), 'utf8')).toMatch(/Digest: sha256:[0-9a-f]{64}/);
    expect(auditLines(e).at(-1)).toMatchObject({ path: '/single-deployment', status: 201, legacy: true, detail: expect.stringContaining('→ 1.0.0') });
    const again = await client.retrieve('./single-deployment', q);
    expect((again.body.Deployment as { Version: string }).Version).toBe('1.0.0');
  });

  it('takes `sous update` as the original client does it: GET /defs and /gdm, PUT /defs unchanged, PUT /gdm with one version changed', async () => {
    await api(srv.url, srv.tokens.deploy, 'PUT', '/artifact?repo=github.com/acme/shop&version=1.1.0', { body: await realArtifact('github.com/acme/shop', '1.1.0'), headers: { 'if-none-match': '*' } });
    const defs = await client.retrieve('./defs');
    expect(goDecodeProblems(Defs, defs.body)).toEqual([]);
    const gdm = await client.retrieve('./gdm');
    expect(goDecodeProblems(GDMWrapper, gdm.body)).toEqual([]);
    const defsBack = JSON.parse(JSON.stringify(defs.body));
    delete defsBack[defs.etag];
    expect((await client.update(defs, './defs', undefined, defsBack, Defs)).status).toBe(200);
    const changed = JSON.parse(JSON.stringify(gdm.body)) as { Deployments: { SourceID: { Version: string } }[] };
    delete (changed as Record<string, unknown>)[gdm.etag];
    changed.Deployments[0].SourceID.Version = '1.1.0';
    const put = await client.update(gdm, './gdm', undefined, changed, GDMWrapper);
    expect([put.status, put.text]).toEqual([204, '']);
    expect(fs.readFileSync(path.join(e.state, 'manifests/github.com/acme/shop.yaml'), 'utf8')).toContain('Version: 1.1.0');
    expect(auditLines(e).at(-1)).toMatchObject({ method: 'PUT', path: '/gdm', status: 204, legacy: true, detail: 'mem:github.com/acme/shop → 1.1.0' });
    // A change the legacy PUT /gdm does not carry out is refused whole.
    const again = await client.retrieve('./gdm');
    const env = JSON.parse(JSON.stringify(again.body)) as { Deployments: { Env: Record<string, string> | null }[] };
    delete (env as Record<string, unknown>)[again.etag];
    env.Deployments[0].Env = { X: '1' };
    const refused = await client.update(again, './gdm', undefined, env, GDMWrapper);
    expect(refused.status).toBe(400);
    expect(refused.text).toContain('changes Env');
  });

  it('serves `sous query gdm`, /servers, /state/deployments and /status in shapes its decoders take', async () => {
    for (const [p, model] of [['./gdm', GDMWrapper], ['./state/deployments', GDMWrapper], ['./servers', ServerListData], ['./status', StatusData]] as const) {
      const r = await client.retrieve(p);
      expect([p, r.status, r.contentType]).toEqual([p, 200, 'application/json']);
      expect([p, goDecodeProblems(model, r.body)]).toEqual([p, []]);
    }
    const gdm = await client.retrieve('./gdm');
    expect(gdm.body.Deployments).toEqual([expect.objectContaining({ ClusterName: 'mem', SourceID: { Location: { Repo: 'github.com/acme/shop', Dir: '' }, Version: '1.1.0' }, Owners: {}, Kind: 'http-service' })]);
  });

  it('leaves Sous\'s own API as it was: a bearer token still reaches it, no token outside the legacy routes is still 401', async () => {
    const own = await api(srv.url, srv.tokens.read, 'GET', '/gdm');
    expect(own.status).toBe(200);
    expect(own.headers.get('etag')).toMatch(/^"/);
    expect((await api(srv.url, undefined, 'GET', '/all-deploy-queues')).status).toBe(401);
    expect((await api(srv.url, undefined, 'GET', '/plan')).status).toBe(401);
    expect((await api(srv.url, undefined, 'GET', '/health')).status).toBe(200);
  });
});

describe('the legacy API from an address the operator does not trust', () => {
  it('is refused with 403, audited, and writes nothing', async () => {
    const e = makeSousEnv(tempDir('sous-legacy18-'));
    expect(sousSync(e, ['cluster', 'add', '--name', 'mem', '--kind', 'memory']).code).toBe(0);
    expect(sousSync(e, ['init', '--kind', 'http-service', '--repo', 'github.com/acme/shop']).code).toBe(0);
    const srv = await startServer(e, ['--legacy-api', '--legacy-trust', '10.0.0.0/8']);
    try {
      const before = commitCount(e.state);
      const client = new OriginalClient(srv.url, USER);
      const r = await client.retrieve('./manifest', SHOP);
      expect(r.status).toBe(403);
      expect(r.text).toContain('not in the server\'s --legacy-trust networks');
      const w = await client.put('./manifest', SHOP, '{}', { 'If-None-Match': '*' });
      expect(w.status).toBe(403);
      expect(commitCount(e.state)).toBe(before);
      expect(auditLines(e).map((l) => [l.method, l.path, l.status, l.legacy])).toEqual([['GET', '/manifest', 403, true], ['PUT', '/manifest', 403, true]]);
    } finally {
      await srv.stop();
    }
  });

  it('needs --legacy-trust, of networks that parse', () => {
    const e = makeSousEnv(tempDir('sous-legacy18-'));
    const none = sousSync(e, ['server', '--legacy-api', '--json']);
    expect([none.code, none.json.error.code]).toEqual([2, 'LEGACY_TRUST_MISSING']);
    const bad = sousSync(e, ['server', '--legacy-api', '--legacy-trust', '10.0.0.0/33', '--json']);
    expect([bad.code, bad.json.error.code]).toEqual([2, 'LEGACY_TRUST_INVALID']);
    const alone = sousSync(e, ['server', '--legacy-trust', '10.0.0.0/8', '--json']);
    expect([alone.code, alone.json.error.code]).toEqual([2, 'LEGACY_TRUST_WITHOUT_API']);
  });
});
