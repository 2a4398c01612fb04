import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { makeSousEnv, requireBuilt, sousSync, type SousEnv } from './helpers/sous';
import { api, realArtifact, startServer, type RunningServer } from './helpers/server';
import { head } from './helpers/state-repo';

const artifact = (version: string, advisories: string[] = []) => realArtifact('github.com/acme/shop', version, advisories);

describe('sous server API', () => {
  let e: SousEnv;
  let srv: RunningServer;

  beforeAll(async () => {
    requireBuilt();
    e = makeSousEnv(fs.mkdtempSync(path.join(os.tmpdir(), 'sous-server-')));
    expect(sousSync(e, ['cluster', 'add', '--name', 'mem', '--kind', 'memory']).code).toBe(0);
    expect(sousSync(e, ['init', '--kind', 'http-service', '--repo', 'github.com/acme/shop']).code).toBe(0);
    srv = await startServer(e, ['--autoresolver', '--resync', '1h']);
  });

  afterAll(async () => {
    const code = await srv.stop();
    if (code !== 0) throw new Error(`the server exited ${code}: ${srv.log()}`);
  });

  const revision = () => head(e.state);

  it('answers /health without a token, and nothing else', async () => {
    const h = await api(srv.url, undefined, 'GET', '/health');
    expect(h.status).toBe(200);
    expect(h.body).toMatchObject({ status: 'ok', revision: revision() });
    for (const p of ['/gdm', '/defs', '/status', '/metrics', '/servers', '/all-deploy-queues', '/history', '/logs?repo=github.com/acme/shop&cluster=mem']) {
      const r = await api(srv.url, undefined, 'GET', p);
      expect([p, r.status, r.body.error?.code]).toEqual([p, 401, 'UNAUTHORIZED']);
      expect(r.headers.get('www-authenticate')).toMatch(/^Bearer/);
    }
    const wrong = await api(srv.url, srv.tokens.read.slice(0, -2) + 'xx', 'GET', '/gdm');
    expect(wrong.status).toBe(401);
    // The status page sends a browser to its login form instead.
    const page = await fetch(srv.url + '/', { redirect: 'manual' });
    expect([page.status, page.headers.get('location')]).toEqual([303, '/login?next=%2F']);
  });

  it('lets each scope do only its own writes', async () => {
    const before = revision();
    const m = await api(srv.url, srv.tokens.read, 'GET', '/manifest?repo=github.com/acme/shop');
    expect(m.status).toBe(200);
    const etag = m.headers.get('etag')!;
    const asRead = await api(srv.url, srv.tokens.read, 'PUT', '/manifest?repo=github.com/acme/shop', { body: { text: m.body.text }, headers: { 'if-match': etag } });
    expect([asRead.status, asRead.body.error.code]).toEqual([403, 'FORBIDDEN']);
    const defs = await api(srv.url, srv.tokens.read, 'GET', '/defs');
    const asDeploy = await api(srv.url, srv.tokens.deploy, 'PUT', '/defs', { body: defs.body, headers: { 'if-match': defs.headers.get('etag')! } });
    expect([asDeploy.status, asDeploy.body.error.code]).toEqual([403, 'FORBIDDEN']);
    expect(revision()).toBe(before);
  });

  it('needs a precondition on writes (428) and refuses a stale one (412)', async () => {
    const before = revision();
    const m = await api(srv.url, srv.tokens.read, 'GET', '/manifest?repo=github.com/acme/shop');
    const text = (m.body.text as string).replace('NumInstances: 1', 'NumInstances: 2');
    const none = await api(srv.url, srv.tokens.deploy, 'PUT', '/manifest?repo=github.com/acme/shop', { body: { text } });
    expect([none.status, none.body.error.code]).toEqual([428, 'PRECONDITION_REQUIRED']);
    const stale = await api(srv.url, srv.tokens.deploy, 'PUT', '/manifest?repo=github.com/acme/shop', { body: { text }, headers: { 'if-match': '"0000000000000000000000000000000000000000"' } });
    expect([stale.status, stale.body.error.code]).toEqual([412, 'PRECONDITION_FAILED']);
    expect(revision()).toBe(before);
    const ok = await api(srv.url, srv.tokens.deploy, 'PUT', '/manifest?repo=github.com/acme/shop', { body: { text }, headers: { 'if-match': m.headers.get('etag')! } });
    expect(ok.status).toBe(200);
    expect(revision()).not.toBe(before);
    const again = await api(srv.url, srv.tokens.deploy, 'PUT', '/manifest?repo=github.com/acme/shop', { body: { text }, headers: { 'if-match': m.headers.get('etag')! } });
    expect(again.status).toBe(412);
  });

  it('refuses bad bodies and hostile IDs, changing nothing', async () => {
    const before = revision();
    const cases: [string, string, string, unknown, Record<string, string>, number, string][] = [
      ['schema', 'PUT', '/manifest?repo=github.com/acme/shop', { manifest: { Source: 'github.com/acme/shop', Kind: 'rocket' } }, { 'if-match': '*' }, 400, 'INVALID_BODY'],
      ['unknown key', 'PUT', '/single-deployment?repo=github.com/acme/shop&cluster=mem', { version: '1.0.0', sudo: true }, { 'if-match': '*' }, 400, 'INVALID_BODY_UNKNOWN_KEY'],
      ['dot-dot repo', 'GET', '/manifest?repo=github.com/../../etc', undefined, {}, 400, 'UNSAFE_PATH'],
      ['absolute offset', 'GET', '/manifest?repo=github.com/acme/shop&offset=/etc/passwd', undefined, {}, 400, 'UNSAFE_PATH'],
      ['NUL', 'GET', '/manifest?repo=github.com/acme/shop%00x', undefined, {}, 400, 'UNSAFE_PATH'],
      ['dot-dot write', 'PUT', '/manifest?repo=github.com/acme/../../../tmp/x', { manifest: { Source: 'github.com/acme/../../../tmp/x', Kind: 'worker' } }, { 'if-none-match': '*' }, 400, 'UNSAFE_PATH'],
      ['unknown cluster', 'PUT', '/single-deployment?repo=github.com/acme/shop&cluster=mars', { version: '1.0.0' }, { 'if-match': '*' }, 404, 'UNKNOWN_CLUSTER'],
      ['cluster in manifest', 'PUT', '/manifest?repo=github.com/acme/other', { manifest: { Source: 'github.com/acme/other', Kind: 'worker', Deployments: { mars: {} } } }, { 'if-none-match': '*' }, 404, 'UNKNOWN_CLUSTER'],
      ['not JSON', 'PUT', '/servers', '{"servers": ', { 'if-match': '*' }, 400, 'BAD_REQUEST'],
    ];
    for (const [name, method, p, body, headers, status, code] of cases) {
      const r = await api(srv.url, srv.tokens.admin, method, p, { body, headers });
      expect([name, r.status, r.body.error?.code]).toEqual([name, status, code]);
    }
    const big = await api(srv.url, srv.tokens.admin, 'PUT', '/servers', { body: { servers: { mem: 'http://x/' + 'a'.repeat(2 * 1024 * 1024) } }, headers: { 'if-match': '*' } });
    expect([big.status, big.body.error.code]).toEqual([413, 'BODY_TOO_LARGE']);
    expect(revision()).toBe(before);
  });

  it('deploys through PUT /single-deployment: 201, a Location to poll, and the rectification resolved', async () => {
    const put = await api(srv.url, srv.tokens.deploy, 'PUT', '/artifact?repo=github.com/acme/shop&version=1.0.0', { body: await artifact('1.0.0'), headers: { 'if-none-match': '*' } });
    expect(put.status).toBe(201);
    const d = await api(srv.url, srv.tokens.read, 'GET', '/single-deployment?repo=github.com/acme/shop&cluster=mem');
    const r = await api(srv.url, srv.tokens.deploy, 'PUT', '/single-deployment?repo=github.com/acme/shop&cluster=mem', { body: { version: '1.0.0' }, headers: { 'if-match': d.headers.get('etag')! } });
    expect(r.status).toBe(201);
    const location = r.headers.get('location')!;
    expect(location).toMatch(/^\/deploy-queue-item\?id=/);
    let item = r.body.queueItem;
    for (let i = 0; i < 100 && item.state !== 'done'; i++) {
      await new Promise((res) => setTimeout(res, 100));
      item = (await api(srv.url, srv.tokens.read, 'GET', location)).body;
    }
    expect(item).toMatchObject({ state: 'done', position: 0, deploymentID: 'mem:github.com/acme/shop', resolution: { status: 'Active' } });
    const status = await api(srv.url, srv.tokens.read, 'GET', '/status');
    expect(status.body.deployments).toEqual([expect.objectContaining({ deploymentID: 'mem:github.com/acme/shop', last: expect.objectContaining({ status: 'Active', version: '1.0.0' }) })]);
    const log = fs.readFileSync(path.join(e.state, '.git/sous/audit.log'), 'utf8');
    expect(log).toContain('"name":"ci"');
    expect(log).toContain('/single-deployment mem:github.com/acme/shop');
  });

  it('refuses an unverified artifact exactly as the CLI does', async () => {
    await api(srv.url, srv.tokens.deploy, 'PUT', '/artifact?repo=github.com/acme/shop&version=1.1.0', { body: await artifact('1.1.0', ['dirty workspace']), headers: { 'if-none-match': '*' } });
    const before = revision();
    const r = await api(srv.url, srv.tokens.deploy, 'PUT', '/single-deployment?repo=github.com/acme/shop&cluster=mem', { body: { version: '1.1.0' }, headers: { 'if-match': '*' } });
    expect([r.status, r.body.error.code]).toEqual([422, 'ADVISORY_NOT_ALLOWED']);
    expect(revision()).toBe(before);
    const cli = sousSync(e, ['update', '--cluster', 'mem', '--tag', '1.1.0', '--repo', 'github.com/acme/shop', '--json']);
    expect(cli.code).toBe(1);
    expect(cli.json.error.code).toBe('ADVISORY_NOT_ALLOWED');
    expect(revision()).toBe(before);
  });

  it('refuses an artifact whose image is not in any registry', async () => {
    const ghost = { ...(await artifact('1.2.0')), Digest: 'sha256:' + '9'.repeat(64) };
    await api(srv.url, srv.tokens.deploy, 'PUT', '/artifact?repo=github.com/acme/shop&version=1.2.0', { body: ghost, headers: { 'if-none-match': '*' } });
    const before = revision();
    const r = await api(srv.url, srv.tokens.deploy, 'PUT', '/single-deployment?repo=github.com/acme/shop&cluster=mem', { body: { version: '1.2.0' }, headers: { 'if-match': '*' } });
    expect([r.status, r.body.error.code]).toEqual([422, 'IMAGE_MISSING']);
    expect(revision()).toBe(before);
  });

  it('reports metrics in the Prometheus text format', async () => {
    const r = await api(srv.url, srv.tokens.read, 'GET', '/metrics');
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(r.body).toMatch(/^sous_rectify_passes_total\{result="ok"\} [1-9]/m);
    expect(r.body).toMatch(/^sous_rectify_actions_total\{kind="create",status="Active",cluster="mem"\} 1$/m);
    expect(r.body).toMatch(/^sous_deploy_queue_depth 0$/m);
    expect(r.body).toMatch(/^sous_rectify_pass_duration_seconds_count [1-9]/m);
  });

  it('stores tokens hashed and never writes them to its logs or audit trail', () => {
    const stored = fs.readFileSync(path.join(e.state, '.git/sous/tokens.json'), 'utf8');
    const all = [srv.tokens.admin, srv.tokens.deploy, srv.tokens.read];
    for (const t of all) {
      const secret = t.split('_').slice(2).join('_');
      expect(stored).not.toContain(secret);
      expect(srv.log()).not.toContain(secret);
      expect(fs.readFileSync(path.join(e.state, '.git/sous/audit.log'), 'utf8')).not.toContain(secret);
    }
    expect(fs.statSync(path.join(e.state, '.git/sous/tokens.json')).mode & 0o077).toBe(0);
  });
});
