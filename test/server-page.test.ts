/**
 * The status page as a person uses it, in a real headless browser (Debian's
 * chromium through playwright-core): open the URL, be sent to the login
 * form, paste a token, see the deployments, click into one, watch a deploy
 * started from the CLI appear live (server-sent events, no reload), sign
 * out. Screenshots are kept for review in test-results/server-page/ (or
 * $SOUS_TEST_ARTIFACTS), with the measured time from a GDM commit to the
 * open page showing it (page-latency.json; the goal is checked by
 * bench/server/page-update.js).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { Gdm, type Manifest } from '@sous/core';
import { makeSousEnv, ROOT, requireBuilt, sous, sousSync, type SousEnv } from './helpers/sous';
import { api, realArtifact, startServer, type RunningServer } from './helpers/server';

jest.setTimeout(180_000);

const CHROMIUM = process.env.SOUS_TEST_CHROMIUM ?? '/usr/bin/chromium';
const SHOTS = process.env.SOUS_TEST_ARTIFACTS ? path.join(process.env.SOUS_TEST_ARTIFACTS, 'server-page') : path.join(ROOT, 'test-results', 'server-page');
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const SHOP = 'east:github.com/acme/shop';
const JOBS = 'west:github.com/acme/jobs';

let e: SousEnv;
let srv: RunningServer;
const dirs: string[] = [];

/** A browser with a profile of its own (a fresh --user-data-dir), as a person's first visit. */
async function browser(): Promise<BrowserContext> {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'sous-page-profile-'));
  dirs.push(profile);
  return chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, args: ARGS, viewport: { width: 1280, height: 900 } });
}

async function shot(page: Page, name: string): Promise<void> {
  const file = path.join(SHOTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  expect(fs.statSync(file).size).toBeGreaterThan(5000);
}

async function waitDone(location: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const item = await api(srv.url, srv.tokens.read, 'GET', location);
    if (item.body.state === 'done') return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${location} did not finish`);
}

beforeAll(async () => {
  requireBuilt();
  if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install chromium (.ci/run does)`);
  fs.mkdirSync(SHOTS, { recursive: true });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sous-page-'));
  dirs.push(dir);
  e = makeSousEnv(dir);
  for (const c of ['east', 'west']) expect(sousSync(e, ['cluster', 'add', '--name', c, '--kind', 'memory']).code).toBe(0);
  expect(sousSync(e, ['init', '--kind', 'http-service', '--repo', 'github.com/acme/shop']).code).toBe(0);
  expect(sousSync(e, ['init', '--kind', 'worker', '--repo', 'github.com/acme/jobs', '--cluster', 'west']).code).toBe(0);
  // A tag build this server made earlier, as its job store keeps it: the builds page lists it and shows its log.
  const builds = path.join(e.state, '.git', 'sous', 'builds');
  fs.mkdirSync(path.join(builds, 'jobs'), { recursive: true });
  fs.mkdirSync(path.join(builds, 'logs'), { recursive: true });
  const job = { id: '0mabcdefg-1a2b3c', repo: 'github.com/acme/shop', offset: '', source: 'github.com/acme/shop', tag: '1.4.3', version: '1.4.3', commit: 'c'.repeat(40), trigger: 'webhook', state: 'built', createdAt: '2026-01-02T03:04:00.000Z', updatedAt: '2026-01-02T03:04:09.000Z', startedAt: '2026-01-02T03:04:01.000Z', finishedAt: '2026-01-02T03:04:09.000Z', attempts: 1, interruptions: 0, phase: { name: 'record', status: 'done', at: '2026-01-02T03:04:09.000Z' } };
  fs.writeFileSync(path.join(builds, 'jobs', `${job.id}.json`), JSON.stringify(job));
  fs.writeFileSync(path.join(builds, 'logs', `${job.id}.log`), ['fetching github.com/acme/shop', 'build start', 'build done', 'job built'].map((l, i) => `2026-01-02T03:04:0${i + 1}.000Z ${l}`).join('\n') + '\n');
  srv = await startServer(e, ['--autoresolver', '--resync', '1h']);
  // An AutoDeploy range in east, so a rollback pauses it.
  const m = await api(srv.url, srv.tokens.read, 'GET', '/manifest?repo=github.com/acme/shop');
  const text = (m.body.text as string).replace(/(  east:\n(?:    .*\n|    \s.*\n)*?    Version: .*\n)/, '$1    AutoDeploy: ^1.4.0\n');
  expect(text).toContain('AutoDeploy: ^1.4.0');
  expect((await api(srv.url, srv.tokens.deploy, 'PUT', '/manifest?repo=github.com/acme/shop', { body: { text }, headers: { 'if-match': m.headers.get('etag')! } })).status).toBe(200);
  for (const v of ['1.4.2', '1.4.3']) {
    expect((await api(srv.url, srv.tokens.deploy, 'PUT', `/artifact?repo=github.com/acme/shop&version=${v}`, { body: await realArtifact('github.com/acme/shop', v), headers: { 'if-none-match': '*' } })).status).toBe(201);
  }
  const put = await api(srv.url, srv.tokens.deploy, 'PUT', '/single-deployment?repo=github.com/acme/shop&cluster=east', { body: { version: '1.4.2' }, headers: { 'if-match': '*' } });
  await waitDone(put.headers.get('location')!);
});

afterAll(async () => {
  if (srv) expect(await srv.stop()).toBe(0);
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

describe('the status page in a browser', () => {
  it('sends a visitor to the login form, signs in with a pasted token, shows every deployment, goes into one, follows a CLI deploy live, and signs out', async () => {
    const ctx = await browser();
    try {
      const page = ctx.pages()[0] ?? (await ctx.newPage());
      await page.goto(srv.url + '/');
      expect(new URL(page.url()).pathname).toBe('/login');
      expect(await page.title()).toBe('Sous: sign in');
      await shot(page, '01-login');

      // A wrong token: the form again, with the reason, and no cookie.
      await page.fill('#token', 'sous_000000000000_' + 'x'.repeat(43));
      await page.click('button[type=submit]');
      expect(await page.locator('#reason').textContent()).toBe('That token is not valid here.');
      expect(await ctx.cookies()).toEqual([]);

      await page.fill('#token', srv.tokens.read);
      await page.click('button[type=submit]');
      await page.waitForURL(srv.url + '/');
      const [cookie] = await ctx.cookies();
      expect(cookie).toMatchObject({ name: 'sous_session', httpOnly: true, sameSite: 'Strict', secure: false });
      expect(await page.title()).toBe('Sous: deployments');
      expect(await page.locator('header .who b').textContent()).toBe('viewer');
      expect(await page.locator('section.cluster h2').allTextContents()).toEqual([expect.stringMatching(/^east memory/), expect.stringMatching(/^west memory/)]);
      const live = page.locator(`tr[data-deployment="${SHOP}"]`);
      expect(await live.locator('td.intended').textContent()).toBe('1.4.2 ×1');
      expect(await live.locator('td.actual').textContent()).toBe('1.4.2 ×1');
      expect(await live.locator('td.status').textContent()).toBe('Active');
      expect(await live.locator('td.last').textContent()).toContain('created');
      expect(await live.getAttribute('class')).toBe('ok');
      const waiting = page.locator(`tr[data-deployment="${JOBS}"]`);
      expect(await waiting.locator('td.intended').textContent()).toBe('- ×1');
      expect(await waiting.locator('td.status').textContent()).toBe('no version deployed yet');
      await page.waitForSelector('body[data-live="yes"]');
      await shot(page, '02-deployments');

      await live.locator('td.app a').click();
      await page.waitForURL(/\/ui\/deployment\?id=/);
      expect(await page.locator('h1').textContent()).toBe('github.com/acme/shop in east');
      expect(await page.locator('#history tr.change').first().locator('td.kind').textContent()).toMatch(/^deploy/);
      expect(await page.locator('#history tr.change').first().locator('td.outcome').textContent()).toContain('Active');
      // A memory cluster keeps no output: the page says so rather than showing nothing.
      await page.waitForSelector('#logs + p.error');
      expect(await page.locator('#logs + p.error').textContent()).toContain('LOGS_NOT_SUPPORTED');
      await page.waitForSelector('body[data-live="yes"]');
      await page.evaluate(() => ((window as unknown as { stillHere: boolean }).stillHere = true));
      await shot(page, '03-deployment');

      // A deploy from the CLI, through the server: the open page follows it without a reload.
      const deploying = sous(e, ['deploy', '--cluster', 'east', '--tag', '1.4.3', '--repo', 'github.com/acme/shop', '--json'], { env: { SOUS_SERVER: srv.url, SOUS_TOKEN: srv.tokens.deploy } });
      await page.waitForFunction(() => document.querySelector('#summary td.intended')?.textContent?.startsWith('1.4.3 ×1'), undefined, { timeout: 20_000 });
      await page.waitForFunction(() => document.querySelector('#summary td.actual')?.textContent === '1.4.3 ×1' && document.querySelector('#summary td.status')?.textContent === 'Active', undefined, { timeout: 20_000 });
      expect((await deploying).code).toBe(0);
      await page.waitForFunction(() => document.querySelector('#history tr.change td.to')?.textContent?.startsWith('1.4.3'), undefined, { timeout: 20_000 });
      expect(await page.locator('#history tr.change').first().locator('td.outcome').textContent()).toMatch(/Active/);
      expect(await page.evaluate(() => (window as unknown as { stillHere?: boolean }).stillHere)).toBe(true);
      await shot(page, '04-deployed-live');

      // A rollback from the CLI: the page shows the version going back and AutoDeploy paused.
      const back = await sous(e, ['rollback', '--cluster', 'east', '--repo', 'github.com/acme/shop', '--json'], { env: { SOUS_SERVER: srv.url, SOUS_TOKEN: srv.tokens.deploy } });
      expect([back.code, back.json?.rollback]).toEqual([0, { from: '1.4.3', to: '1.4.2' }]);
      await page.waitForFunction(() => document.querySelector('#summary td.actual')?.textContent === '1.4.2 ×1' && document.querySelector('#summary td.autodeploy .paused') !== null, undefined, { timeout: 20_000 });
      expect(await page.locator('#summary td.autodeploy').textContent()).toContain('rollback of 1.4.3 to 1.4.2');
      await page.waitForFunction(() => document.querySelector('#history tr.change td.kind')?.textContent?.startsWith('rollback'), undefined, { timeout: 20_000 });
      expect(await page.evaluate(() => (window as unknown as { stillHere?: boolean }).stillHere)).toBe(true);
      await shot(page, '05-rolled-back');
      await page.click('header a[href="/"]');
      await page.waitForURL(srv.url + '/');
      expect(await page.locator(`tr[data-deployment="${SHOP}"] td.app .paused`).textContent()).toBe('AutoDeploy paused');

      await page.click('header a[href="/ui/builds"]');
      await page.waitForURL(/\/ui\/builds$/);
      expect(await page.locator('#queue tr.build td.state').first().textContent()).toBe('built');
      await page.waitForFunction(() => (document.querySelector('#build-log pre')?.textContent ?? '').includes('job built'), undefined, { timeout: 10_000 });
      await shot(page, '06-builds');
      await page.click('header a[href="/ui/plan"]');
      await page.waitForURL(/\/ui\/plan$/);
      expect(await page.locator('#plan p.note').first().textContent()).toMatch(/0 change\(s\), \d+ unchanged/);
      await shot(page, '07-plan');

      // A write from the page with the session cookie alone is refused; with the page's CSRF token it is not.
      const statuses = await page.evaluate(async () => {
        const csrf = document.querySelector('meta[name="csrf-token"]')!.getAttribute('content')!;
        const without = (await fetch('/rectify', { method: 'POST' })).status;
        const withToken = (await fetch('/rectify', { method: 'POST', headers: { 'x-csrf-token': csrf } })).status;
        return { without, withToken };
      });
      // The read token signed in: with the CSRF token the request gets as far as its scope.
      expect(statuses).toEqual({ without: 403, withToken: 403 });
      const reason = await page.evaluate(async () => {
        const csrf = document.querySelector('meta[name="csrf-token"]')!.getAttribute('content')!;
        return [((await (await fetch('/rectify', { method: 'POST' })).json()) as { error: { code: string } }).error.code, ((await (await fetch('/rectify', { method: 'POST', headers: { 'x-csrf-token': csrf } })).json()) as { error: { code: string } }).error.code];
      });
      expect(reason).toEqual(['CSRF_TOKEN_MISSING', 'FORBIDDEN']);

      await page.click('#sign-out');
      await page.waitForURL(/\/login\?reason=signed-out$/);
      expect(await page.locator('#reason').textContent()).toBe('You signed out.');
      expect(await ctx.cookies()).toEqual([]);
      await page.goto(srv.url + '/ui/plan');
      expect(new URL(page.url()).pathname).toBe('/login');
      expect(new URL(page.url()).searchParams.get('next')).toBe('/ui/plan');
      await shot(page, '08-signed-out');
    } finally {
      await ctx.close();
    }
  });

  it('shows a GDM commit made by anyone in the open page within moments, by event, and records how long it took', async () => {
    const ctx = await browser();
    const gdm = await Gdm.open(e.state, { user: { name: 'Page Test', email: 'page@example.com' } });
    try {
      const page = ctx.pages()[0] ?? (await ctx.newPage());
      await page.goto(srv.url + '/login');
      await page.fill('#token', srv.tokens.read);
      await page.click('button[type=submit]');
      await page.waitForURL(srv.url + '/');
      await page.waitForSelector('body[data-live="yes"]');
      await page.evaluate(() => {
        const w = window as unknown as { seen: Record<string, number>; stillHere: boolean };
        w.seen = {};
        w.stillHere = true;
        new MutationObserver(() => {
          const t = document.querySelector('tr[data-deployment="west:github.com/acme/jobs"] td.intended')?.textContent ?? '';
          if (!(t in w.seen)) w.seen[t] = Date.now();
        }).observe(document.body, { subtree: true, childList: true, characterData: true });
      });
      const latencies: number[] = [];
      for (let n = 2; n <= 9; n++) {
        // Another writer (not the server): a commit straight into the state repository.
        await gdm.update((s) => {
          const m = JSON.parse(JSON.stringify(s.manifests.get('github.com/acme/jobs')!.manifest)) as Manifest;
          m.Deployments!.west.NumInstances = n;
          return { change: { message: `Scale jobs to ${n}`, setManifests: [m] }, result: undefined };
        }, { name: 'Page Test', email: 'page@example.com' });
        const committed = Date.now();
        const want = `- ×${n}`;
        await page.waitForFunction((w) => (window as unknown as { seen: Record<string, number> }).seen[w] !== undefined, want, { timeout: 15_000, polling: 20 });
        latencies.push((await page.evaluate((w) => (window as unknown as { seen: Record<string, number> }).seen[w], want)) - committed);
        await new Promise((r) => setTimeout(r, 300));
      }
      expect(await page.evaluate(() => (window as unknown as { stillHere?: boolean }).stillHere)).toBe(true);
      await shot(page, '09-after-commits');
      const sorted = [...latencies].sort((a, b) => a - b);
      const report = { what: 'ms from a GDM commit (made outside the server) to the open page showing it', samples: latencies, median: (sorted[3] + sorted[4]) / 2, max: sorted[sorted.length - 1] };
      fs.writeFileSync(path.join(SHOTS, 'page-latency.json'), JSON.stringify(report, null, 2) + '\n');
      process.stdout.write(`page update latency: median ${report.median} ms, max ${report.max} ms (${latencies.join(', ')})\n`);
      for (const l of latencies) expect(l).toBeGreaterThanOrEqual(0);
    } finally {
      await ctx.close();
    }
  });
});
