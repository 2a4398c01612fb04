/**
 * POST /hooks/github refuses what it should, against a real server and a
 * real git daemon remote: unsigned and badly signed deliveries, malformed
 * payloads, replays, stale announcements (the remote says otherwise), and
 * repositories nobody registered. A refusal changes nothing: no job, no GDM
 * commit.
 */
import * as crypto from 'node:crypto';
import * as http from 'node:http';
import { api } from './helpers/server';
import { sousSync } from './helpers/sous';
import { head } from './helpers/state-repo';
import { makeWorld, type World } from './helpers/tag-world';

jest.setTimeout(180_000);

let w: World;
let commit: string;

beforeAll(async () => {
  w = await makeWorld({ name: 'refuse', hook: false, clusters: { mem: { Kind: 'memory' } } });
  commit = w.tag('2.0.0');
  w.push('2.0.0');
  await w.start();
}, 120_000);

afterAll(async () => {
  if (w) await w.destroy();
});

interface Send {
  event?: string;
  delivery?: string;
  secret?: string;
  signature?: string;
  contentType?: string;
}

async function send(body: string | object, o: Send = {}) {
  const raw = typeof body === 'string' ? body : JSON.stringify(body);
  const headers: Record<string, string> = { 'content-type': o.contentType ?? 'application/json' };
  if (o.event !== '') headers['x-github-event'] = o.event ?? 'push';
  if (o.delivery !== '') headers['x-github-delivery'] = o.delivery ?? crypto.randomUUID();
  const sig = o.signature ?? 'sha256=' + crypto.createHmac('sha256', o.secret ?? w.secret).update(raw).digest('hex');
  if (sig) headers['x-hub-signature-256'] = sig;
  return api(w.server!.url, undefined, 'POST', '/hooks/github', { body: raw, headers });
}

const repository = () => ({ full_name: 'sous-test/shop', html_url: `https://${w.repo}`, clone_url: w.remote.url('shop') });
const tagPush = (tag: string, after: string, extra: object = {}) => ({ ref: `refs/tags/${tag}`, before: '0'.repeat(40), after, created: true, deleted: false, repository: repository(), ...extra });

describe('POST /hooks/github', () => {
  let before: string;
  beforeAll(() => {
    before = head(w.env.state);
  });

  afterEach(async () => {
    expect(await w.builds()).toEqual([]);
    expect(head(w.env.state)).toBe(before);
  });

  it('answers a ping, in JSON or GitHub\'s form encoding', async () => {
    const json = await send({ zen: 'Keep it logically awesome.', hook_id: 1 }, { event: 'ping' });
    expect([json.status, json.body]).toEqual([200, { pong: true }]);
    const form = await send(`payload=${encodeURIComponent(JSON.stringify({ zen: 'Design for failure.' }))}`, { event: 'ping', contentType: 'application/x-www-form-urlencoded' });
    expect([form.status, form.body]).toEqual([200, { pong: true }]);
  });

  it('refuses unsigned and badly signed deliveries (401)', async () => {
    const body = tagPush('2.0.0', commit);
    const cases: [Send, string][] = [
      [{ signature: '' }, 'WEBHOOK_UNSIGNED'],
      [{ secret: 'not-the-secret-at-all' }, 'WEBHOOK_BAD_SIGNATURE'],
      [{ signature: 'sha1=' + crypto.createHmac('sha1', w.secret).update(JSON.stringify(body)).digest('hex') }, 'WEBHOOK_BAD_SIGNATURE'],
      [{ signature: 'sha256=zz' }, 'WEBHOOK_BAD_SIGNATURE'],
    ];
    for (const [o, code] of cases) {
      const r = await send(body, o);
      expect([r.status, r.body.error?.code]).toEqual([401, code]);
    }
    // A signed body changed on the way.
    const raw = JSON.stringify(body);
    const sig = 'sha256=' + crypto.createHmac('sha256', w.secret).update(raw).digest('hex');
    const r = await send(raw.replace('2.0.0', '2.0.1'), { signature: sig });
    expect([r.status, r.body.error?.code]).toEqual([401, 'WEBHOOK_BAD_SIGNATURE']);
  });

  it('refuses malformed deliveries (400)', async () => {
    const cases: [string | object, Send][] = [
      ['{"ref": "refs/tags/2.0.0", ', {}],
      [[1, 2, 3], {}],
      [{ before: '0'.repeat(40), after: commit, repository: repository() }, {}],
      [{ ref: 'refs/tags/2.0.0', after: 'not-a-sha', repository: repository() }, {}],
      [{ ref: 'refs/tags/2.0.0', after: commit }, {}],
      [{ ref: 'refs/tags/2.0.0', after: commit, repository: { html_url: 42 } }, {}],
      [{ ref: '2.0.0', repository: repository() }, { event: 'create' }],
      [tagPush('2.0.0', commit), { event: '' }],
      [tagPush('2.0.0', commit), { delivery: '' }],
      [tagPush('2.0.0', commit), { delivery: '../../etc/passwd' }],
      ['ref=refs/tags/2.0.0', { contentType: 'application/x-www-form-urlencoded' }],
    ];
    for (const [body, o] of cases) {
      const r = await send(body, o);
      expect([JSON.stringify(body).slice(0, 60), r.status, r.body.error?.code]).toEqual([JSON.stringify(body).slice(0, 60), 400, 'WEBHOOK_MALFORMED']);
    }
  });

  it('refuses a delivery it has taken before (409), and logs it', async () => {
    const delivery = crypto.randomUUID();
    const branch = { ref: 'refs/heads/main', before: commit, after: commit, repository: repository() };
    const first = await send(branch, { delivery });
    expect([first.status, first.body]).toEqual([202, { ignored: 'refs/heads/main is not a tag' }]);
    const again = await send(branch, { delivery });
    expect([again.status, again.body.error?.code]).toEqual([409, 'WEBHOOK_REPLAYED']);
    expect(w.server!.log()).toContain(`webhook delivery ${delivery} refused`);
  });

  it('refuses a stale announcement: the remote has no such tag, or it names something else (409)', async () => {
    const other = crypto.randomBytes(20).toString('hex');
    const moved = await send(tagPush('2.0.0', other));
    expect([moved.status, moved.body.error?.code]).toEqual([409, 'WEBHOOK_STALE']);
    expect(moved.body.error.message).toContain(commit.slice(0, 12));
    const gone = await send(tagPush('2.0.1', commit));
    expect([gone.status, gone.body.error?.code]).toEqual([409, 'WEBHOOK_STALE']);
    const created = await send({ ref: '2.0.1', ref_type: 'tag', repository: repository() }, { event: 'create' });
    expect([created.status, created.body.error?.code]).toEqual([409, 'WEBHOOK_STALE']);
    const notDeleted = await send({ ref: 'refs/tags/2.0.0', before: commit, after: '0'.repeat(40), deleted: true, repository: repository() });
    expect([notDeleted.status, notDeleted.body.error?.code]).toEqual([409, 'WEBHOOK_STALE']);
  });

  it('answers 502 when the remote cannot be asked, and takes the same delivery again later', async () => {
    const delivery = crypto.randomUUID();
    await w.remote.stop();
    try {
      const down = await send(tagPush('2.0.1', commit), { delivery });
      expect([down.status, down.body.error?.code]).toEqual([502, 'REMOTE_UNREACHABLE']);
    } finally {
      await w.remote.restart();
    }
    const again = await send(tagPush('2.0.1', commit), { delivery });
    expect([again.status, again.body.error?.code]).toEqual([409, 'WEBHOOK_STALE']);
  });

  it('ignores repositories no manifest builds from, and events that are not about tags', async () => {
    const stranger = await send(tagPush('2.0.0', commit, { repository: { html_url: 'https://github.com/someone/else', clone_url: 'https://github.com/someone/else.git' } }));
    expect([stranger.status, stranger.body.ignored]).toEqual([202, 'no manifest builds from https://github.com/someone/else']);
    const issue = await send({ action: 'opened', repository: repository() }, { event: 'issues' });
    expect([issue.status, issue.body.ignored]).toEqual([202, 'the issues event says nothing about tags']);
    const branch = await send({ ref: 'feature', ref_type: 'branch', repository: repository() }, { event: 'create' });
    expect([branch.status, branch.body.ignored]).toEqual([202, 'a branch, not a tag']);
  });

  it('refuses bodies over its limit (413)', async () => {
    // The server answers from Content-Length alone: the body is never sent.
    const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = http.request(`${w.server!.url}/hooks/github`, { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': String(6 * 1024 * 1024), 'x-github-event': 'push' } }, (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (d: string) => (body += d));
        res.on('end', () => {
          resolve({ status: res.statusCode ?? 0, body });
          req.destroy();
        });
      });
      req.on('error', reject);
      req.flushHeaders();
    });
    expect([answer.status, JSON.parse(answer.body).error.code]).toEqual([413, 'BODY_TOO_LARGE']);
  });
});

describe('sous server webhook settings', () => {
  it('refuses a secret variable that is unset, or a short secret', () => {
    const unset = sousSync(w.env, ['server', '--webhook-secret-env', 'SOUS_TEST_NO_SUCH_SECRET', '--json']);
    expect([unset.code, unset.json?.error?.code]).toEqual([2, 'WEBHOOK_SECRET_UNSET']);
    const short = sousSync(w.env, ['server', '--webhook-secret-env', 'HOOK_SECRET', '--json'], { env: { HOOK_SECRET: 'short' } });
    expect([short.code, short.json?.error?.code]).toEqual([2, 'WEBHOOK_SECRET_SHORT']);
  });
});
