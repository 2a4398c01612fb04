/**
 * Rollback and logs on a real docker cluster (a private engine), through the
 * real `sous` binary: a rollback is a deploy of the version that last ran
 * (verified again, one commit, rectified, deploy's exit codes), pauses
 * AutoDeploy, and is refused without writing anything when it cannot be;
 * logs come from every instance, with --tail, --since, --instance and
 * --follow, locally and through a server (its streamed /logs route and the
 * status page's log feed).
 */
import * as fs from 'node:fs';
import { execFileSync, spawn } from 'node:child_process';
import { Gdm, validateOrThrow, type Manifest } from '@sous/core';
import { LABELS } from '@sous/plugin-scheduler-docker';
import { httpGet, USER } from './helpers/rectify-world';
import { appImage, type AppImage } from './helpers/sched-images';
import { makeSousEnv, requireBuilt, SOUS_BIN, sous, sousEnv, type SousEnv } from './helpers/sous';
import { startServer, type RunningServer } from './helpers/server';
import { commitCount, git, head, tempDir } from './helpers/state-repo';
import { DOCKER_CLI, startTestEngine, type TestEngine } from './helpers/test-engine';

jest.setTimeout(300_000);

const WEB = 'github.com/acme/web';
const CHATTY = 'github.com/acme/chatty';
const REGISTRY = process.env.SOUS_TEST_REGISTRY ?? '127.0.0.1:5000';
let engine: TestEngine;
let env: SousEnv;
let dir: string;

async function run(args: string[], extra: Record<string, string> = {}) {
  return sous(env, [...args, '--json'], { env: extra });
}

async function ok(args: string[], extra: Record<string, string> = {}) {
  const r = await run(args, extra);
  if (r.code !== 0) throw new Error(`sous ${args.join(' ')} exited ${r.code}:\n${r.stdout}\n${r.stderr}`);
  return r.json;
}

async function record(repo: string, version: string, app: AppImage): Promise<void> {
  const gdm = await Gdm.open(env.state, { user: USER });
  await gdm.update(() => ({ change: { message: `build ${version}`, artifacts: [{ Source: repo, Version: version, Image: app.image, Digest: app.digest, Advisories: [], Deployable: true, BuiltAt: new Date().toISOString() }] }, result: undefined }), USER);
}

async function served(repo: string): Promise<string[]> {
  const ids = engine.docker(['ps', '-q', '--filter', `label=${LABELS.deployment}=local:${repo}`]).split('\n').filter(Boolean);
  const out: string[] = [];
  for (const id of ids) {
    const port = engine.docker(['port', id, '8080/tcp']).split('\n')[0].split(':').pop();
    out.push((await httpGet(`http://127.0.0.1:${port}/`)).body.trim());
  }
  return out.sort();
}

const manifestText = () => fs.readFileSync(`${env.state}/manifests/github.com/acme/web.yaml`, 'utf8');
const unchanged = () => [head(env.state), commitCount(env.state)];

beforeAll(async () => {
  requireBuilt();
  engine = await startTestEngine('dt17', 37);
  dir = tempDir('sous-daytwo-docker-');
  env = makeSousEnv(dir);
  await ok(['cluster', 'add', '--name', 'local', '--kind', 'docker', '--base-url', engine.address]);
  await ok(['init', '--repo', WEB, '--owner', 'web@example.com']);
  await ok(['init', '--repo', CHATTY]);
  const repo = 'sous-test-dt17/web';
  await record(WEB, '1.0.0', appImage('v1', repo));
  await record(WEB, '2.0.0', appImage('v2', repo));
  await record(WEB, '2.1.0', appImage('crash', repo));
  await record(WEB, '2.2.0', appImage('slow', repo));
  await record(WEB, '3.0.0', appImage('v3', repo));
  await record(CHATTY, '1.0.0', appImage('chatty', 'sous-test-dt17/chatty'));
  // The web app deploys new builds by itself: a rollback pauses that.
  const gdm = await Gdm.open(env.state, { user: USER });
  await gdm.update((s) => {
    const m = JSON.parse(JSON.stringify(s.manifests.get(WEB)!.manifest)) as Manifest;
    m.Deployments!.local.AutoDeploy = '^2.0.0';
    return { change: { message: 'AutoDeploy ^2.0.0', setManifests: [m] }, result: undefined };
  }, USER);
});

afterAll(async () => {
  if (engine) {
    const left = engine.docker(['ps', '-aq', '--filter', `label=${LABELS.cluster}`]).split('\n').filter(Boolean);
    if (left.length) engine.docker(['rm', '-f', ...left]);
    await engine.destroy();
  }
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe('sous rollback on a docker cluster', () => {
  it('goes back to the version that last ran, as one commit that says so, pausing AutoDeploy', async () => {
    expect(await ok(['deploy', '--cluster', 'local', '--tag', '1.0.0', '--repo', WEB])).toMatchObject({ status: 'live' });
    expect(await ok(['deploy', '--cluster', 'local', '--tag', '2.0.0', '--repo', WEB])).toMatchObject({ status: 'live' });
    const bad = await run(['deploy', '--cluster', 'local', '--tag', '2.1.0', '--repo', WEB]);
    expect([bad.code, bad.json.error.code]).toEqual([1, 'DEPLOY_FAILED']);
    expect(await served(WEB)).toEqual(['app 2.0.0']);

    const commits = commitCount(env.state);
    const r = await ok(['rollback', '--cluster', 'local', '--repo', WEB]);
    expect(r).toMatchObject({ deploymentID: `local:${WEB}`, version: '2.0.0', previousVersion: '2.1.0', status: 'live', rollback: { from: '2.1.0', to: '2.0.0' }, autoDeployPaused: { Reason: 'rollback of 2.1.0 to 2.0.0' } });
    expect(r.checks.map((c: { name: string; ok: boolean }) => [c.name, c.ok])).toEqual([['image exists', true], ['advisories', true]]);
    expect(commitCount(env.state)).toBe(commits + 1);
    expect(git(env.state, 'log', '-1', '--format=%an%n%B')).toBe(
      `Test User\nRoll back ${WEB} in local to 2.0.0 (from 2.1.0)\n\nAutoDeploy (^2.0.0) is paused until the next explicit deploy or sous autodeploy resume.\n\nSous-Change: rollback\nSous-Rollback-From: 2.1.0`,
    );
    expect(manifestText()).toMatch(/    AutoDeploy: \^2\.0\.0\n    AutoDeployPaused:\n      Reason: rollback of 2\.1\.0 to 2\.0\.0\n      By: Test User <test@example\.com>\n      At: "?\d{4}-/);
    expect(await served(WEB)).toEqual(['app 2.0.0']);

    const plain = await sous(env, ['status', '--repo', WEB]);
    expect(plain.stdout).toContain(`AutoDeploy paused on local:${WEB}: rollback of 2.1.0 to 2.0.0 (Test User <test@example.com>)`);
    const h = await ok(['history', '--cluster', 'local', '--repo', WEB, '--limit', '4']);
    expect(h.entries.map((x: { kind: string; to: { version: string }; outcome: { status: string } | null }) => [x.kind, x.to.version, x.outcome?.status ?? null])).toEqual([
      ['rollback', '2.0.0', 'Active'],
      ['deploy', '2.1.0', 'Failed'],
      ['deploy', '2.0.0', 'Active'],
      ['deploy', '1.0.0', 'Active'],
    ]);
    const table = await sous(env, ['history', '--cluster', 'local', '--repo', WEB, '--limit', '1']);
    expect(table.stdout).toMatch(/rollback +2\.1\.0@[0-9a-f]{12} x1 +2\.0\.0@[0-9a-f]{12} x1 +Test User +Active/);
  });

  it('rolls back again to the version before, and --to a version that ran; resume and an explicit deploy lift the pause', async () => {
    const again = await ok(['rollback', '--cluster', 'local', '--repo', WEB]);
    expect([again.version, again.rollback.from]).toEqual(['1.0.0', '2.0.0']);
    expect(await served(WEB)).toEqual(['app 1.0.0']);
    expect((await ok(['autodeploy', 'resume', '--cluster', 'local', '--repo', WEB])).resumed).toBe(true);
    expect(manifestText()).not.toContain('AutoDeployPaused');
    const to = await ok(['rollback', '--cluster', 'local', '--repo', WEB, '--to', '2.0.0']);
    expect([to.version, to.status]).toEqual(['2.0.0', 'live']);
    expect(manifestText()).toContain('AutoDeployPaused');
    expect(await served(WEB)).toEqual(['app 2.0.0']);
    const d = await ok(['deploy', '--cluster', 'local', '--tag', '1.0.0', '--repo', WEB]);
    expect(d).toMatchObject({ status: 'live', autoDeployResumed: true });
    expect(manifestText()).not.toContain('AutoDeployPaused');
  });

  it("keeps deploy's exit codes: a forced rollback to a version that fails is 1, one not ready in time is 3", async () => {
    const failed = await run(['rollback', '--cluster', 'local', '--repo', WEB, '--to', '2.1.0', '--force']);
    expect([failed.code, failed.json.error.code]).toEqual([1, 'DEPLOY_FAILED']);
    expect(await served(WEB)).toEqual(['app 1.0.0']);
    const slow = await run(['rollback', '--cluster', 'local', '--repo', WEB, '--to', '2.2.0', '--force', '--timeout', '1s']);
    expect([slow.code, slow.json.error.code]).toEqual([3, 'DEPLOY_TIMEOUT']);
    expect(await ok(['deploy', '--cluster', 'local', '--tag', '2.0.0', '--repo', WEB])).toMatchObject({ status: 'live' });
  });

  it('refuses, writing nothing, a version that never ran, one whose image is gone, and one rebuilt since it ran', async () => {
    let before = unchanged();
    const never = await run(['rollback', '--cluster', 'local', '--repo', WEB, '--to', '3.0.0']);
    expect([never.code, never.json.error.code]).toEqual([2, 'VERSION_NEVER_SUCCEEDED']);
    expect(never.json.error.message).toMatch(/its history: .*2\.1\.0 \(failed\)/);
    const failedOne = await run(['rollback', '--cluster', 'local', '--repo', WEB, '--to', '2.1.0']);
    expect(failedOne.json.error.code).toBe('VERSION_NEVER_SUCCEEDED');
    expect(unchanged()).toEqual(before);

    // 1.0.0's image is deleted from the registry: verification refuses it.
    const v1 = appImage('v1', 'sous-test-dt17/web');
    const del = await fetch(`http://${REGISTRY}/v2/sous-test-dt17/web/manifests/${v1.digest}`, { method: 'DELETE' });
    expect(del.status).toBe(202);
    try {
      const gone = await run(['rollback', '--cluster', 'local', '--repo', WEB, '--to', '1.0.0']);
      expect([gone.code, gone.json.error.code]).toEqual([1, 'IMAGE_MISSING']);
      expect(gone.json.error.hints).toContain('Nothing was written to the GDM.');
      expect(unchanged()).toEqual(before);
    } finally {
      // Pushed again for whoever runs next (the same content makes the same digest).
      expect(pushAgain(v1)).toBe(v1.digest);
    }

    // 1.0.0 rebuilt as another image: the rollback to what ran is refused, --force takes the artifact as it is.
    await record(WEB, '1.0.0', appImage('v3', 'sous-test-dt17/web'));
    before = unchanged();
    const rebuilt = await run(['rollback', '--cluster', 'local', '--repo', WEB, '--to', '1.0.0']);
    expect([rebuilt.code, rebuilt.json.error.code]).toEqual([1, 'ARTIFACT_CHANGED']);
    expect(unchanged()).toEqual(before);
    const forced = await ok(['rollback', '--cluster', 'local', '--repo', WEB, '--to', '1.0.0', '--force']);
    expect(forced.status).toBe('live');
    expect(await served(WEB)).toEqual(['app 3.0.0']);
  });
});

/** Pushes an image again after its manifest was deleted from the registry; resolves the digest pushed. */
function pushAgain(img: AppImage): string {
  const host = process.env.SOUS_TEST_DOCKER_HOST ?? process.env.DOCKER_HOST ?? 'unix:///run/sous-engine/docker.sock';
  const out = execFileSync(DOCKER_CLI, ['-H', host, 'push', `${img.image}:v1`], { encoding: 'utf8' });
  return /digest: (sha256:[a-f0-9]{64})/.exec(out)?.[1] ?? '';
}

interface Line {
  instance: string;
  stream?: string;
  time?: string;
  text: string;
}

describe('sous logs on a docker cluster', () => {
  let names: string[];

  beforeAll(async () => {
    await ok(['scale', '--cluster', 'local', '2', '--repo', CHATTY]);
    expect(await ok(['deploy', '--cluster', 'local', '--tag', '1.0.0', '--repo', CHATTY])).toMatchObject({ status: 'live' });
    await new Promise((r) => setTimeout(r, 1500));
  });

  it("prints every instance's output, each line with its instance, stdout and stderr", async () => {
    const r = await ok(['logs', '--cluster', 'local', '--repo', CHATTY]);
    expect(r.deploymentID).toBe(`local:${CHATTY}`);
    const lines = r.lines as Line[];
    names = [...new Set(lines.map((l) => l.instance))].sort();
    expect(names).toHaveLength(2);
    for (const n of names) {
      const own = lines.filter((l) => l.instance === n);
      expect(own.find((l) => l.stream === 'stdout')).toMatchObject({ text: 'app chatty started' });
      expect(own.some((l) => l.stream === 'stdout' && /^tick \d+$/.test(l.text))).toBe(true);
      expect(own.some((l) => l.stream === 'stderr' && /^tock \d+$/.test(l.text))).toBe(true);
      expect(own.every((l) => l.time && !Number.isNaN(Date.parse(l.time)))).toBe(true);
    }
    // In the order written.
    const times = lines.map((l) => Date.parse(l.time!));
    expect(times).toEqual([...times].sort((a, b) => a - b));
    const text = await sous(env, ['logs', '--cluster', 'local', '--repo', CHATTY, '--tail', '1']);
    expect(text.code).toBe(0);
    expect(text.stdout.trim().split('\n').map((l) => l.split(' | ')[0]).sort()).toEqual(names);
  });

  it('takes --tail, --since and --instance, and refuses an instance it does not have', async () => {
    const tail = (await ok(['logs', '--cluster', 'local', '--repo', CHATTY, '--tail', '3'])).lines as Line[];
    for (const n of names) expect(tail.filter((l) => l.instance === n)).toHaveLength(3);
    const from = Date.now() - 1000;
    const since = (await ok(['logs', '--cluster', 'local', '--repo', CHATTY, '--since', '1s'])).lines as Line[];
    expect(since.length).toBeGreaterThan(0);
    for (const l of since) expect(Date.parse(l.time!)).toBeGreaterThanOrEqual(from - 1000);
    expect(since.some((l) => l.text === 'app chatty started')).toBe(false);
    const one = (await ok(['logs', '--cluster', 'local', '--repo', CHATTY, '--instance', names[1]])).lines as Line[];
    expect(new Set(one.map((l) => l.instance))).toEqual(new Set([names[1]]));
    const nope = await run(['logs', '--cluster', 'local', '--repo', CHATTY, '--instance', 'not-one-of-them']);
    expect([nope.code, nope.json.error.code]).toEqual([2, 'INSTANCE_NOT_FOUND']);
    expect(nope.json.error.hints[0].replace('Its instances: ', '').split(', ').sort()).toEqual(names);
    await ok(['init', '--repo', 'github.com/acme/idle']);
    const none = await run(['logs', '--cluster', 'local', '--repo', 'github.com/acme/idle']);
    expect([none.code, none.json.error.code]).toEqual([1, 'NO_INSTANCES']);
  });

  it('--follow prints lines as they are written until it is stopped', async () => {
    const child = spawn(process.execPath, [SOUS_BIN, 'logs', '--cluster', 'local', '--repo', CHATTY, '--follow', '--tail', '0'], { env: sousEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    const seen = await new Promise<string[]>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no lines followed: ${out}`)), 30_000);
      const check = () => {
        const lines = out.split('\n').filter(Boolean);
        if (new Set(lines.map((l) => l.split(' | ')[0])).size === 2 && lines.length >= 10) {
          clearTimeout(t);
          resolve(lines);
        }
      };
      child.stdout.on('data', check);
    });
    expect(seen.every((l) => /^\S+ \| (tick|tock) \d+$/.test(l))).toBe(true);
    const code = await new Promise<number | null>((resolve) => {
      child.once('exit', (c) => resolve(c));
      child.kill('SIGINT');
    });
    expect(code).toBe(0);
  });

  it('streams through a server: GET /logs, the CLI with SOUS_SERVER, and the status page feed', async () => {
    const srv: RunningServer = await startServer(env, ['--cluster', 'local']);
    try {
      const abort = new AbortController();
      const res = await fetch(`${srv.url}/logs?repo=${CHATTY}&cluster=local&follow=true&tail=2`, { headers: { authorization: `Bearer ${srv.tokens.read}`, accept: 'application/x-ndjson' }, signal: abort.signal });
      expect([res.status, res.headers.get('content-type')]).toEqual([200, 'application/x-ndjson']);
      const got: Line[] = [];
      const decoder = new TextDecoder();
      let rest = '';
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        rest += decoder.decode(chunk, { stream: true });
        const parts = rest.split('\n');
        rest = parts.pop()!;
        got.push(...parts.filter(Boolean).map((p) => JSON.parse(p) as Line));
        if (got.length >= 8) break;
      }
      abort.abort();
      expect(new Set(got.map((l) => l.instance))).toEqual(new Set(names));
      for (const l of got) validateOrThrow('api', l, 'LOG_LINE_SHAPE', { pointer: '/definitions/LogLineDoc' });

      const viaCli = await ok(['logs', '--cluster', 'local', '--repo', CHATTY, '--tail', '2'], { SOUS_SERVER: srv.url, SOUS_TOKEN: srv.tokens.read });
      expect(viaCli.lines).toHaveLength(4);
      const text = await fetch(`${srv.url}/logs?repo=${CHATTY}&cluster=local&tail=1`, { headers: { authorization: `Bearer ${srv.tokens.read}` } });
      expect(text.headers.get('content-type')).toBe('text/plain; charset=utf-8');
      expect((await text.text()).trim().split('\n').map((l) => l.split(' | ')[0]).sort()).toEqual(names);
      const bad = await fetch(`${srv.url}/logs?repo=${CHATTY}&cluster=local&instance=zzz`, { headers: { authorization: `Bearer ${srv.tokens.read}` } });
      expect([bad.status, ((await bad.json()) as { error: { code: string } }).error.code]).toEqual([404, 'INSTANCE_NOT_FOUND']);

      // The deployment page's log feed, for a signed-in browser.
      const login = await fetch(srv.url + '/login', { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `token=${srv.tokens.read}` });
      const cookie = /sous_session=[^;]+/.exec(login.headers.get('set-cookie')!)![0];
      const feedAbort = new AbortController();
      const feed = await fetch(`${srv.url}/ui/logs?id=${encodeURIComponent(`local:${CHATTY}`)}`, { headers: { cookie }, signal: feedAbort.signal });
      expect(feed.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
      let events = '';
      for await (const chunk of feed.body as unknown as AsyncIterable<Uint8Array>) {
        events += decoder.decode(chunk, { stream: true });
        if ((events.match(/event: line\n/g) ?? []).length >= 4) break;
      }
      feedAbort.abort();
      expect(events).toMatch(/event: line\ndata: \S+ \| (app chatty started|tick \d+|tock \d+)\n/);
    } finally {
      expect(await srv.stop()).toBe(0);
    }
  });
});
