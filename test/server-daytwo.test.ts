/**
 * Day two through a real `sous server` (memory clusters): history and
 * rollback over HTTP and through the CLI with SOUS_SERVER, the AutoDeploy
 * pause a rollback leaves, refusals that write nothing, the logs route's
 * refusals, and the status page's sign-in: hashed sessions, cookies,
 * CSRF, revoked and expired tokens and sessions, --public-status.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { validateOrThrow } from '@sous/core';
import { makeSousEnv, requireBuilt, sous, sousSync, type SousEnv } from './helpers/sous';
import { api, makeToken, realArtifact, startServer, type RunningServer } from './helpers/server';
import { commitCount, git, head } from './helpers/state-repo';

jest.setTimeout(120_000);

const REPO = 'github.com/acme/shop';
let e: SousEnv;
let srv: RunningServer;
const dirs: string[] = [];

function tmp(prefix: string): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  dirs.push(d);
  return d;
}

async function cli(args: string[], token = srv.tokens.deploy) {
  return sous(e, [...args, '--json'], { env: { SOUS_SERVER: srv.url, SOUS_TOKEN: token } });
}

async function ok(args: string[], token?: string) {
  const r = await cli(args, token);
  if (r.code !== 0) throw new Error(`sous ${args.join(' ')} exited ${r.code}:\n${r.stdout}\n${r.stderr}`);
  return r.json;
}

/** A sign-in through the form: the Set-Cookie and where it sends the browser. */
async function signIn(url: string, token: string, next = '/') {
  const r = await fetch(url + '/login', { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ token, next }).toString() });
  return { status: r.status, location: r.headers.get('location'), cookie: r.headers.get('set-cookie'), text: await r.text() };
}

const cookieOf = (setCookie: string | null) => /sous_session=([^;]+)/.exec(setCookie ?? '')![1];

beforeAll(async () => {
  requireBuilt();
  e = makeSousEnv(tmp('sous-daytwo-'));
  expect(sousSync(e, ['cluster', 'add', '--name', 'mem', '--kind', 'memory']).code).toBe(0);
  expect(sousSync(e, ['init', '--kind', 'http-service', '--repo', REPO]).code).toBe(0);
  expect(sousSync(e, ['init', '--kind', 'worker', '--repo', 'github.com/acme/jobs']).code).toBe(0);
  srv = await startServer(e, ['--autoresolver', '--resync', '1h']);
  for (const v of ['1.0.0', '1.1.0', '1.2.0']) {
    const a = await api(srv.url, srv.tokens.deploy, 'PUT', `/artifact?repo=${REPO}&version=${v}`, { body: await realArtifact(REPO, v), headers: { 'if-none-match': '*' } });
    expect(a.status).toBe(201);
  }
  // An AutoDeploy range, so a rollback has something to pause.
  const m = await api(srv.url, srv.tokens.read, 'GET', `/manifest?repo=${REPO}`);
  const text = (m.body.text as string).replace(/(\n    Version: ")?"?\n/, '$&').replace('    Version: ""\n', '    Version: ""\n    AutoDeploy: ^1.0.0\n');
  expect(text).toContain('AutoDeploy: ^1.0.0');
  expect((await api(srv.url, srv.tokens.deploy, 'PUT', `/manifest?repo=${REPO}`, { body: { text }, headers: { 'if-match': m.headers.get('etag')! } })).status).toBe(200);
});

afterAll(async () => {
  if (srv) expect(await srv.stop()).toBe(0);
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

describe('history and rollback through the server', () => {
  it('rolls back to the last version that ran, pauses AutoDeploy, shows it in history and status, and resumes', async () => {
    for (const v of ['1.0.0', '1.1.0', '1.2.0']) expect(await ok(['deploy', '--cluster', 'mem', '--tag', v, '--repo', REPO])).toMatchObject({ version: v, status: 'live' });
    const r = await ok(['rollback', '--cluster', 'mem', '--repo', REPO]);
    expect(r).toMatchObject({ deploymentID: `mem:${REPO}`, version: '1.1.0', previousVersion: '1.2.0', status: 'live', rollback: { from: '1.2.0', to: '1.1.0' }, autoDeployPaused: { Reason: 'rollback of 1.2.0 to 1.1.0', By: 'ci <ci@sous-token>' } });
    // One commit, by the token's owner, that says what it is.
    const commit = git(e.state, 'log', '-1', '--format=%an <%ae>%n%B');
    expect(commit).toContain('ci <ci@sous-token>\nRoll back github.com/acme/shop in mem to 1.1.0 (from 1.2.0)');
    expect(commit).toMatch(/Sous-Change: rollback\nSous-Rollback-From: 1\.2\.0/);
    const manifest = fs.readFileSync(path.join(e.state, 'manifests', 'github.com', 'acme', 'shop.yaml'), 'utf8');
    expect(manifest).toMatch(/AutoDeploy: \^1\.0\.0\n\s+AutoDeployPaused:\n\s+Reason: rollback of 1\.2\.0 to 1\.1\.0\n/);

    const h = await ok(['history', '--cluster', 'mem', '--repo', REPO, '--limit', '4']);
    expect(h.entries.map((x: { kind: string; from?: { version: string }; to?: { version: string }; who: { name: string }; outcome: { status: string } | null }) => [x.kind, x.from?.version, x.to?.version, x.who.name, x.outcome?.status ?? null])).toEqual([
      ['rollback', '1.2.0', '1.1.0', 'ci', 'Active'],
      ['deploy', '1.1.0', '1.2.0', 'ci', 'Active'],
      ['deploy', '1.0.0', '1.1.0', 'ci', 'Active'],
      ['deploy', '', '1.0.0', 'ci', 'Active'],
    ]);
    const viaApi = await api(srv.url, srv.tokens.read, 'GET', `/history?repo=${REPO}&cluster=mem&limit=1`);
    expect(viaApi.body.entries).toHaveLength(1);
    // The answer is the documented shape (schemas/api.schema.json).
    expect(() => validateOrThrow('api', viaApi.body, 'HISTORY_SHAPE', { pointer: '/definitions/HistoryDoc' })).not.toThrow();
    expect(viaApi.body.entries[0]).toMatchObject({ kind: 'rollback', to: { version: '1.1.0' }, outcome: { status: 'Active', resolution: 'updated' } });

    const st = await ok(['status', '--repo', REPO]);
    expect(st.deployments[0]).toMatchObject({ deploymentID: `mem:${REPO}`, autoDeploy: { range: '^1.0.0', paused: { Reason: 'rollback of 1.2.0 to 1.1.0' } } });
    const plain = await sous(e, ['status', '--repo', REPO], { env: { SOUS_SERVER: srv.url, SOUS_TOKEN: srv.tokens.read } });
    expect(plain.stdout).toContain(`AutoDeploy paused on mem:${REPO}: rollback of 1.2.0 to 1.1.0`);

    const resumed = await ok(['autodeploy', 'resume', '--cluster', 'mem', '--repo', REPO]);
    expect(resumed).toMatchObject({ resumed: true, autoDeploy: '^1.0.0', wasPaused: { Reason: 'rollback of 1.2.0 to 1.1.0' } });
    expect(fs.readFileSync(path.join(e.state, 'manifests', 'github.com', 'acme', 'shop.yaml'), 'utf8')).not.toContain('AutoDeployPaused');
    expect((await ok(['autodeploy', 'resume', '--cluster', 'mem', '--repo', REPO])).resumed).toBe(false);
    expect((await ok(['history', '--cluster', 'mem', '--repo', REPO, '--limit', '1'])).entries[0].kind).toBe('resume');
  });

  it('an explicit deploy lifts the pause a rollback left', async () => {
    expect((await ok(['rollback', '--cluster', 'mem', '--repo', REPO, '--to', '1.0.0'])).autoDeployPaused).toBeTruthy();
    const d = await ok(['deploy', '--cluster', 'mem', '--tag', '1.2.0', '--repo', REPO]);
    expect(d).toMatchObject({ version: '1.2.0', autoDeployResumed: true });
    expect(fs.readFileSync(path.join(e.state, 'manifests', 'github.com', 'acme', 'shop.yaml'), 'utf8')).not.toContain('AutoDeployPaused');
  });

  it('refuses rollbacks that cannot be, writing nothing', async () => {
    const before = [head(e.state), commitCount(e.state)];
    const none = await cli(['rollback', '--cluster', 'mem', '--repo', 'github.com/acme/jobs']);
    expect([none.code, none.json.error.code]).toEqual([2, 'NO_EARLIER_VERSION']);
    expect(none.json.error.message).toContain('no version was ever deployed');
    const never = await cli(['rollback', '--cluster', 'mem', '--repo', REPO, '--to', '1.3.0']);
    expect([never.code, never.json.error.code]).toEqual([2, 'VERSION_NEVER_SUCCEEDED']);
    expect(never.json.error.message).toContain('1.2.0 (ran), 1.0.0 (ran), 1.1.0 (ran)');
    const forcedButUnbuilt = await cli(['rollback', '--cluster', 'mem', '--repo', REPO, '--to', '1.3.0', '--force']);
    expect([forcedButUnbuilt.code, forcedButUnbuilt.json.error.code]).toEqual([2, 'ARTIFACT_NOT_FOUND']);
    const asRead = await cli(['rollback', '--cluster', 'mem', '--repo', REPO], srv.tokens.read);
    expect(asRead.json.error.code).toBe('FORBIDDEN');
    const badBody = await api(srv.url, srv.tokens.deploy, 'POST', `/rollback?repo=${REPO}&cluster=mem`, { body: { to: '1.0.0', when: 'now' } });
    expect([badBody.status, badBody.body.error.code]).toEqual([400, 'INVALID_BODY_UNKNOWN_KEY']);
    const unknown = await api(srv.url, srv.tokens.deploy, 'POST', `/rollback?repo=${REPO}&cluster=nowhere`, { body: {} });
    expect([unknown.status, unknown.body.error.code]).toEqual([404, 'UNKNOWN_CLUSTER']);
    expect([head(e.state), commitCount(e.state)]).toEqual(before);
  });

  it('refuses history and logs queries that cannot be answered', async () => {
    const limit = await api(srv.url, srv.tokens.read, 'GET', `/history?repo=${REPO}&limit=0`);
    expect([limit.status, limit.body.error.code]).toEqual([400, 'INVALID_QUERY']);
    const unknown = await api(srv.url, srv.tokens.read, 'GET', '/history?repo=github.com/acme/nothing');
    expect([unknown.status, unknown.body.error.code]).toEqual([404, 'MANIFEST_NOT_FOUND']);
    const memory = await api(srv.url, srv.tokens.read, 'GET', `/logs?repo=${REPO}&cluster=mem`);
    expect([memory.status, memory.body.error.code]).toEqual([400, 'LOGS_NOT_SUPPORTED']);
    const tail = await api(srv.url, srv.tokens.read, 'GET', `/logs?repo=${REPO}&cluster=mem&tail=-3`);
    expect([tail.status, tail.body.error.code]).toEqual([400, 'INVALID_TAIL']);
    const since = await api(srv.url, srv.tokens.read, 'GET', `/logs?repo=${REPO}&cluster=mem&since=yesterday`);
    expect([since.status, since.body.error.code]).toEqual([400, 'INVALID_SINCE']);
    const viaCli = await cli(['logs', '--cluster', 'mem', '--repo', REPO]);
    expect([viaCli.code, viaCli.json.error.code]).toEqual([2, 'LOGS_NOT_SUPPORTED']);
  });
});

describe('signing in to the status page', () => {
  it('takes a token once and sets an HttpOnly, SameSite=Strict session cookie whose id is stored only hashed', async () => {
    const s = await signIn(srv.url, srv.tokens.read, '/ui/plan');
    expect([s.status, s.location]).toEqual([303, '/ui/plan']);
    expect(s.cookie).toMatch(/^sous_session=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Strict; Max-Age=\d+$/);
    expect(s.cookie).not.toContain('Secure');
    const id = cookieOf(s.cookie);
    const stored = fs.readFileSync(path.join(e.state, '.git', 'sous', 'sessions.json'), 'utf8');
    expect(stored).not.toContain(id);
    expect(stored).not.toContain(srv.tokens.read);
    expect(stored).toContain(require('node:crypto').createHash('sha256').update(id).digest('hex'));
    expect((fs.statSync(path.join(e.state, '.git', 'sous', 'sessions.json')).mode & 0o777).toString(8)).toBe('600');
    const page = await fetch(srv.url + '/', { headers: { cookie: `sous_session=${id}` } });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(await page.text()).toContain('Signed in as <b>viewer</b>');
    // A page that is not on this server is never where a sign-in sends you.
    expect((await signIn(srv.url, srv.tokens.read, 'https://evil.example/')).location).toBe('/');
    expect((await signIn(srv.url, srv.tokens.read, '//evil.example/')).location).toBe('/');
  });

  it('shows the form again, with the reason and no cookie, for a wrong, revoked or expired token', async () => {
    const wrong = await signIn(srv.url, srv.tokens.read.slice(0, -3) + 'abc');
    expect([wrong.status, wrong.cookie]).toEqual([401, null]);
    expect(wrong.text).toContain('That token is not valid here.');
    expect(wrong.text).toContain('<form class="login"');
    const junk = await signIn(srv.url, 'hunter2');
    expect([junk.status, junk.cookie]).toEqual([401, null]);
    expect(junk.text).toContain('That is not a Sous token');
    const doomed = makeToken(e, 'doomed', 'read');
    expect(sousSync(e, ['server', 'token', 'revoke', 'doomed']).code).toBe(0);
    await new Promise((r) => setTimeout(r, 1100));
    const revoked = await signIn(srv.url, doomed);
    expect([revoked.status, revoked.cookie]).toEqual([401, null]);
    expect(revoked.text).toMatch(/That token was revoked \(\d{4}-/);
    const brief = sousSync(e, ['server', 'token', 'create', '--name', 'brief', '--scope', 'read', '--expires', '1s']);
    expect(brief.code).toBe(0);
    await new Promise((r) => setTimeout(r, 1500));
    const expired = await signIn(srv.url, brief.stdout.trim());
    expect([expired.status, expired.cookie]).toEqual([401, null]);
    expect(expired.text).toMatch(/That token expired \(\d{4}-/);
    const crossSite = await fetch(srv.url + '/login', { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded', origin: 'https://evil.example' }, body: `token=${srv.tokens.read}` });
    expect([crossSite.status, crossSite.headers.get('set-cookie')]).toEqual([403, null]);
  });

  it('sends a forged or ended session back to the form, and refuses it on the API', async () => {
    const forged = await fetch(srv.url + '/ui/builds', { redirect: 'manual', headers: { cookie: `sous_session=${'A'.repeat(43)}` } });
    expect([forged.status, forged.headers.get('location')]).toEqual([303, '/login?next=%2Fui%2Fbuilds&reason=session-invalid']);
    expect(forged.headers.get('set-cookie')).toMatch(/^sous_session=; .*Max-Age=0/);
    const form = await (await fetch(srv.url + forged.headers.get('location')!)).text();
    expect(form).toContain('Your session is not valid');
    const api401 = await fetch(srv.url + '/gdm', { headers: { cookie: `sous_session=${'A'.repeat(43)}` } });
    expect([api401.status, ((await api401.json()) as { error: { code: string } }).error.code]).toEqual([401, 'UNAUTHORIZED']);
    const feed = await fetch(srv.url + '/ui/events?view=overview', { headers: { cookie: `sous_session=${'A'.repeat(43)}` } });
    expect(feed.status).toBe(401);

    // A session of a token that is then revoked ends with the token.
    const t = makeToken(e, 'shortlived', 'read');
    const id = cookieOf((await signIn(srv.url, t)).cookie);
    expect((await fetch(srv.url + '/', { headers: { cookie: `sous_session=${id}` } })).status).toBe(200);
    expect(sousSync(e, ['server', 'token', 'revoke', 'shortlived']).code).toBe(0);
    await new Promise((r) => setTimeout(r, 1100));
    const after = await fetch(srv.url + '/', { redirect: 'manual', headers: { cookie: `sous_session=${id}` } });
    expect([after.status, after.headers.get('location')]).toEqual([303, '/login?next=%2F&reason=token-revoked']);
  });

  it('refuses writes authorised by the cookie alone without the session CSRF token', async () => {
    const s = await signIn(srv.url, srv.tokens.deploy);
    const id = cookieOf(s.cookie);
    const before = [head(e.state), commitCount(e.state)];
    const m = await api(srv.url, srv.tokens.read, 'GET', `/manifest?repo=${REPO}`);
    const put = (headers: Record<string, string>) =>
      fetch(srv.url + `/manifest?repo=${REPO}`, { method: 'PUT', headers: { cookie: `sous_session=${id}`, 'content-type': 'application/json', 'if-match': m.headers.get('etag')!, ...headers }, body: JSON.stringify({ text: (m.body.text as string).replace('NumInstances: 1', 'NumInstances: 4') }) });
    const none = await put({});
    expect([none.status, ((await none.json()) as { error: { code: string } }).error.code]).toEqual([403, 'CSRF_TOKEN_MISSING']);
    const wrong = await put({ 'x-csrf-token': 'x'.repeat(43) });
    expect([wrong.status, ((await wrong.json()) as { error: { code: string } }).error.code]).toEqual([403, 'CSRF_TOKEN_INVALID']);
    expect([head(e.state), commitCount(e.state)]).toEqual(before);
    const page = await (await fetch(srv.url + '/', { headers: { cookie: `sous_session=${id}` } })).text();
    const csrf = /<meta name="csrf-token" content="([^"]+)">/.exec(page)![1];
    const good = await put({ 'x-csrf-token': csrf });
    expect(good.status).toBe(200);
    expect(commitCount(e.state)).toBe((before[1] as number) + 1);
    // Sign out needs the token too; after it the cookie is nothing.
    const noCsrf = await fetch(srv.url + '/logout', { method: 'POST', redirect: 'manual', headers: { cookie: `sous_session=${id}`, 'content-type': 'application/x-www-form-urlencoded' }, body: '' });
    expect(noCsrf.status).toBe(403);
    const out = await fetch(srv.url + '/logout', { method: 'POST', redirect: 'manual', headers: { cookie: `sous_session=${id}`, 'content-type': 'application/x-www-form-urlencoded' }, body: `_csrf=${csrf}` });
    expect([out.status, out.headers.get('location')]).toEqual([303, '/login?reason=signed-out']);
    expect(out.headers.get('set-cookie')).toMatch(/Max-Age=0/);
    const gone = await fetch(srv.url + '/', { redirect: 'manual', headers: { cookie: `sous_session=${id}` } });
    expect(gone.headers.get('location')).toBe('/login?next=%2F&reason=session-invalid');
  });

  it('ends a session when it expires', async () => {
    const e2 = makeSousEnv(tmp('sous-daytwo-ttl-'));
    expect(sousSync(e2, ['cluster', 'add', '--name', 'mem', '--kind', 'memory']).code).toBe(0);
    const s2 = await startServer(e2, ['--session-ttl', '1s']);
    try {
      const id = cookieOf((await signIn(s2.url, s2.tokens.read)).cookie);
      expect((await fetch(s2.url + '/', { headers: { cookie: `sous_session=${id}` } })).status).toBe(200);
      await new Promise((r) => setTimeout(r, 1300));
      const stale = await fetch(s2.url + '/', { redirect: 'manual', headers: { cookie: `sous_session=${id}` } });
      expect(stale.headers.get('location')).toBe('/login?next=%2F&reason=session-expired');
    } finally {
      expect(await s2.stop()).toBe(0);
    }
  });

  it('--public-status opens the read-only pages without signing in, and nothing else', async () => {
    const e3 = makeSousEnv(tmp('sous-daytwo-public-'));
    expect(sousSync(e3, ['cluster', 'add', '--name', 'mem', '--kind', 'memory']).code).toBe(0);
    expect(sousSync(e3, ['init', '--kind', 'worker', '--repo', REPO]).code).toBe(0);
    const s3 = await startServer(e3, ['--public-status']);
    try {
      for (const p of ['/', '/ui/plan', '/ui/builds', `/ui/deployment?id=mem:${REPO}`]) {
        const r = await fetch(s3.url + p, { redirect: 'manual' });
        expect([p, r.status]).toEqual([p, 200]);
        expect(await r.text()).toContain('Public view, read only');
      }
      expect((await fetch(s3.url + `/ui/deployment?id=mem:${REPO}`).then((r) => r.text()))).toContain('Sign in to see the logs.');
      expect((await fetch(s3.url + `/ui/logs?id=mem:${REPO}`)).status).toBe(401);
      expect((await fetch(s3.url + '/gdm')).status).toBe(401);
      expect((await fetch(s3.url + '/rectify', { method: 'POST' })).status).toBe(401);
    } finally {
      expect(await s3.stop()).toBe(0);
    }
  });
});
