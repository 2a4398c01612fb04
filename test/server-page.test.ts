import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { makeSousEnv, requireBuilt, sousSync } from './helpers/sous';
import { api, realArtifact, startServer, type RunningServer } from './helpers/server';

const CHROMIUM = process.env.SOUS_TEST_CHROMIUM ?? '/usr/bin/chromium';

/** The status page, rendered by a real headless browser (Debian's chromium). */
describe('sous server status page', () => {
  let srv: RunningServer;
  let browser: Browser;

  beforeAll(async () => {
    requireBuilt();
    if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install chromium (.ci/run does)`);
    const e = makeSousEnv(fs.mkdtempSync(path.join(os.tmpdir(), 'sous-page-')));
    for (const c of ['east', 'west']) expect(sousSync(e, ['cluster', 'add', '--name', c, '--kind', 'memory']).code).toBe(0);
    expect(sousSync(e, ['init', '--kind', 'http-service', '--repo', 'github.com/acme/shop']).code).toBe(0);
    expect(sousSync(e, ['init', '--kind', 'worker', '--repo', 'github.com/acme/jobs', '--cluster', 'west']).code).toBe(0);
    srv = await startServer(e, ['--autoresolver', '--resync', '1h']);
    const artifact = await realArtifact('github.com/acme/shop', '1.4.2');
    await api(srv.url, srv.tokens.deploy, 'PUT', '/artifact?repo=github.com/acme/shop&version=1.4.2', { body: artifact, headers: { 'if-none-match': '*' } });
    const put = await api(srv.url, srv.tokens.deploy, 'PUT', '/single-deployment?repo=github.com/acme/shop&cluster=east', { body: { version: '1.4.2' }, headers: { 'if-match': '*' } });
    for (let i = 0; i < 100; i++) {
      const item = await api(srv.url, srv.tokens.read, 'GET', put.headers.get('location')!);
      if (item.body.state === 'done') break;
      await new Promise((r) => setTimeout(r, 100));
    }
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  });

  afterAll(async () => {
    await browser?.close();
    expect(await srv?.stop()).toBe(0);
  });

  it('shows every deployment, intended against running per cluster, with its last outcome', async () => {
    const context = await browser.newContext({ extraHTTPHeaders: { authorization: `Bearer ${srv.tokens.read}` } });
    const page = await context.newPage();
    const res = await page.goto(srv.url + '/');
    expect(res?.status()).toBe(200);
    expect(await page.title()).toBe('Sous: deployments');
    expect(await page.locator('section.cluster h2').allTextContents()).toEqual(['east', 'west']);
    const live = page.locator('tr[data-deployment="east:github.com/acme/shop"]');
    expect(await live.locator('td.intended').textContent()).toBe('1.4.2 ×1');
    expect(await live.locator('td.actual').textContent()).toBe('1.4.2 ×1');
    expect(await live.locator('td.status').textContent()).toBe('Active');
    expect(await live.locator('td.last').textContent()).toContain('created');
    expect(await live.getAttribute('class')).toBe('ok');
    const waiting = page.locator('tr[data-deployment="west:github.com/acme/jobs"]');
    expect(await waiting.locator('td.intended').textContent()).toBe('- ×1');
    expect(await waiting.locator('td.actual').textContent()).toBe('-');
    expect(await waiting.locator('td.status').textContent()).toBe('no version deployed yet');
    const shot = path.join(os.tmpdir(), 'sous-status-page.png');
    await page.screenshot({ path: shot, fullPage: true });
    expect(fs.statSync(shot).size).toBeGreaterThan(1000);
    await context.close();
  });

  it('needs a token like every other read', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const res = await page.goto(srv.url + '/');
    expect(res?.status()).toBe(401);
    await context.close();
  });
});
