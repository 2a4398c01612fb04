#!/usr/bin/env node
/**
 * From `git push` of a semver tag to `artifact.ready`, through a running
 * `sous server`, against `sous build --tag` run by hand on the same commit,
 * in the same run, on the same engine and registry:
 *
 *   by hand    `sous build --tag <v>-hand` in the clone: the whole process
 *   webhook    `git push origin <v>` to a git daemon whose post-receive hook
 *              sends GitHub's signed push webhook; until the notifier's
 *              artifact.ready reaches a local receiver
 *   polling    the same, to a remote without a hook; the server polls every
 *              --poll seconds (default 5)
 *
 * Each round makes a new commit (so every build is a real one) and takes
 * turns on who builds it first. Goals: webhook <= 1.2x by hand; polling <=
 * the polling interval + 1.2x by hand.
 *
 *   node bench/tag-builds/tag-builds.js [--runs 4] [--poll 5]
 *
 * Needs `npm run build`; starts (or reuses) the local engine and registry.
 */
'use strict';
const crypto = require('node:crypto');
const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');
const { execFileSync, spawn, spawnSync } = require('node:child_process');
const { median, report, option } = require('../lib/stats');
const { freePort } = require('../lib/ports');

const ROOT = path.resolve(__dirname, '../..');
const SOUS = path.join(ROOT, 'packages/cli/bin/run.js');
const FIXTURE = path.join(ROOT, 'test/fixtures/dockerfile-app');
const args = process.argv.slice(2);
const RUNS = Number(option(args, 'runs', 4));
const POLL_S = Number(option(args, 'poll', 5));
const PASSPHRASE = 'bench passphrase';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function git(cwd, ...a) {
  return execFileSync('git', ['-c', 'user.name=Bench', '-c', 'user.email=bench@example.com', ...a], { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, GIT_CONFIG_NOSYSTEM: '1' } }).trim();
}

async function until(what, timeoutMs, label) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await what();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${label}`);
    await sleep(20);
  }
}

const HOOK = `const fs=require('fs'),crypto=require('crypto');const c=JSON.parse(fs.readFileSync(process.argv[2],'utf8'));
(async()=>{for(const l of fs.readFileSync(0,'utf8').split('\\n').filter(Boolean)){const [b,a,ref]=l.split(' ');
const body=JSON.stringify({ref,before:b,after:a,created:/^0+$/.test(b),deleted:/^0+$/.test(a),repository:{html_url:c.htmlUrl,clone_url:c.cloneUrl}});
await fetch(c.url,{method:'POST',headers:{'content-type':'application/json','x-github-event':'push','x-github-delivery':crypto.randomUUID(),'x-hub-signature-256':'sha256='+crypto.createHmac('sha256',c.secret).update(body).digest('hex')},body}).catch(()=>{});}})();`;

async function main() {
  const engine = await require(path.join(ROOT, 'scripts/local-engine.js')).start();
  require(path.join(ROOT, 'scripts/base-images.js')).ensure(['busybox'], { log: () => undefined });
  const { Gdm } = require(path.join(ROOT, 'packages/core/dist'));
  const { writeKeyPair } = require(path.join(ROOT, 'packages/plugin-sign/dist'));

  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sous-bench-tags-'));
  const run = crypto.randomBytes(3).toString('hex');
  const secret = crypto.randomBytes(24).toString('hex');
  const [gitPort, serverPort] = [await freePort(), await freePort()];
  const base = path.join(tmp, 'remote');
  fs.mkdirSync(base);
  const daemon = spawn('git', ['daemon', '--reuseaddr', '--export-all', '--enable=receive-pack', `--base-path=${base}`, '--listen=127.0.0.1', `--port=${gitPort}`, base], { stdio: 'ignore' });

  // One application per remote: one remote sends webhooks, the other is polled.
  const apps = {};
  for (const kind of ['hook', 'poll']) {
    const name = `bench-${run}-${kind}`;
    const url = `git://127.0.0.1:${gitPort}/${name}.git`;
    const repo = `127.0.0.1/${name}`;
    const bare = path.join(base, `${name}.git`);
    execFileSync('git', ['init', '-q', '--bare', '-b', 'main', bare]);
    if (kind === 'hook') {
      fs.writeFileSync(path.join(tmp, 'hook.js'), HOOK);
      fs.writeFileSync(path.join(tmp, 'hook.json'), JSON.stringify({ url: `http://127.0.0.1:${serverPort}/hooks/github`, secret, htmlUrl: `https://${repo}`, cloneUrl: url }));
      fs.writeFileSync(path.join(bare, 'hooks/post-receive'), `#!/bin/sh\nexec "${process.execPath}" "${path.join(tmp, 'hook.js')}" "${path.join(tmp, 'hook.json')}"\n`, { mode: 0o755 });
    }
    const work = path.join(tmp, `work-${kind}`);
    fs.cpSync(FIXTURE, work, { recursive: true });
    git(work, 'init', '-q', '-b', 'main');
    git(work, 'add', '-A');
    git(work, 'commit', '-q', '-m', 'app');
    git(work, 'remote', 'add', 'origin', url);
    git(work, 'push', '-q', 'origin', 'main');
    apps[kind] = { name, url, repo, work };
  }

  const state = path.join(tmp, 'state');
  const USER = { name: 'Bench', email: 'bench@example.com' };
  const gdm = await Gdm.open(state, { user: USER });
  await gdm.update((s) => ({ change: { message: 'bench', defs: { ...s.defs, Clusters: { mem: { Kind: 'memory' } } }, setManifests: Object.values(apps).map((a) => ({ Source: a.repo, Owners: [], Kind: 'http-service', Deployments: { mem: { NumInstances: 1 } } })) }, result: undefined }), USER);

  const ready = new Map();
  const receiver = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      const e = JSON.parse(body);
      if (e.type === 'artifact.ready') ready.set(`${e.manifestID} ${e.version}`, { at: process.hrtime.bigint(), durationMs: e.durationMs });
      res.writeHead(200).end();
    });
  });
  await new Promise((r) => receiver.listen(0, '127.0.0.1', r));

  const keys = writeKeyPair({ dir: path.join(tmp, 'keys'), name: 'ci', passphrase: PASSPHRASE });
  fs.mkdirSync(path.join(tmp, 'config/sous'), { recursive: true });
  fs.writeFileSync(path.join(tmp, 'config/sous/config.yaml'), [
    `signingKey: ${keys.privateKey}`,
    `webhookSecret: ${secret}`,
    'repositories:',
    ...Object.values(apps).flatMap((a) => [`  ${a.repo}:`, `    url: ${a.url}`]),
    'notifiers:',
    `  - { type: webhook, url: 'http://127.0.0.1:${receiver.address().port}/', secret: ${secret}, events: [artifact.ready] }`,
    '',
  ].join('\n'));
  const env = (stateDir) => ({
    ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(SOUS_|XDG_)/.test(k))),
    HOME: tmp, XDG_CONFIG_HOME: path.join(tmp, 'config'), XDG_DATA_HOME: path.join(tmp, 'data'), XDG_CACHE_HOME: path.join(tmp, 'cache'),
    SOUS_STATE_LOCATION: stateDir, SOUS_USER_NAME: USER.name, SOUS_USER_EMAIL: USER.email, SOUS_DOCKER_REGISTRY_HOST: engine.registry, DOCKER_HOST: engine.dockerHost,
    SOUS_SIGNING_PASSPHRASE: PASSPHRASE, GIT_CONFIG_NOSYSTEM: '1',
  });

  const token = execFileSync(process.execPath, [SOUS, 'server', 'token', 'create', '--name', 'bench', '--scope', 'read'], { env: env(state), encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  const server = spawn(process.execPath, [SOUS, 'server', '--listen', `127.0.0.1:${serverPort}`, '--poll', `${POLL_S}s`], { env: env(state), stdio: ['ignore', 'ignore', 'pipe'] });
  let serverLog = '';
  server.stderr.on('data', (d) => (serverLog += d));
  await until(() => /listening on/.test(serverLog), 30_000, 'the server');
  const builds = async () => (await (await fetch(`http://127.0.0.1:${serverPort}/builds`, { headers: { authorization: `Bearer ${token}` } })).json()).builds;
  const idle = () => until(async () => (await builds()).every((b) => !['queued', 'running'].includes(b.state)), 300_000, 'the server to be idle');
  // The first poll of each repository only records what is there.
  await until(() => fs.existsSync(path.join(state, '.git/sous/builds/watch')) && fs.readdirSync(path.join(state, '.git/sous/builds/watch')).length === 2, 60_000, 'the first poll');

  const handState = path.join(tmp, 'hand-state');
  const samples = { hand: [], webhook: [], poll: [], pushMs: [], buildMs: [] };
  // Not spawnSync: the receiver in this process must answer the build's own artifact.ready meanwhile.
  const byHand = async (version) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(process.execPath, [SOUS, 'build', '--tag', version, '--json'], { cwd: apps.hook.work, env: env(handState), stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const code = await new Promise((r) => child.on('close', r));
    if (code !== 0) throw new Error(`sous build --tag ${version} exited ${code}: ${err}`);
    samples.hand.push(Number(process.hrtime.bigint() - t0) / 1e6);
    if (process.env.BENCH_DEBUG) process.stderr.write(`${JSON.stringify(JSON.parse(out).timings)}\n${err}`);
  };
  const pushed = async (app, version, into) => {
    const t0 = process.hrtime.bigint();
    git(app.work, 'push', '-q', 'origin', version);
    const tPush = process.hrtime.bigint();
    const got = await until(() => ready.get(`${app.repo} ${version}`), 300_000, `artifact.ready ${app.repo} ${version}`);
    into.push(Number(got.at - t0) / 1e6);
    if (into === samples.webhook) {
      samples.pushMs.push(Number(tPush - t0) / 1e6);
      samples.buildMs.push(got.durationMs);
    }
    await idle();
  };

  for (let i = 0; i < RUNS; i++) {
    for (const app of Object.values(apps)) {
      fs.writeFileSync(path.join(app.work, 'www/index.html'), `round ${i} ${crypto.randomBytes(4).toString('hex')}\n`);
      git(app.work, 'commit', '-q', '-am', `round ${i}`);
      git(app.work, 'push', '-q', 'origin', 'main');
    }
    const v = `1.${i}.0`;
    git(apps.hook.work, 'tag', v);
    git(apps.hook.work, 'tag', `${v}-hand`);
    git(apps.poll.work, 'tag', v);
    await idle();
    if (i % 2 === 0) {
      await byHand(`${v}-hand`);
      await pushed(apps.hook, v, samples.webhook);
    } else {
      await pushed(apps.hook, v, samples.webhook);
      await byHand(`${v}-hand`);
    }
    await pushed(apps.poll, v, samples.poll);
    process.stdout.write(`round ${i + 1}/${RUNS}: by hand ${samples.hand[i].toFixed(0)} ms, webhook ${samples.webhook[i].toFixed(0)} ms, polling ${samples.poll[i].toFixed(0)} ms\n`);
  }

  server.kill('SIGTERM');
  await new Promise((r) => server.once('exit', r));
  daemon.kill('SIGTERM');
  receiver.close();

  let ok = report('git push --tags to artifact.ready', { name: 'sous build --tag by hand', samples: samples.hand }, [{ name: 'server, webhook', samples: samples.webhook }], 1.2);
  const hand = median(samples.hand);
  const pollGoal = POLL_S * 1000 + 1.2 * hand;
  const pollMed = median(samples.poll);
  process.stdout.write(`server, polling every ${POLL_S}s: median ${pollMed.toFixed(1)} ms (goal <= ${POLL_S}s + 1.2x by hand = ${pollGoal.toFixed(0)} ms): ${pollMed <= pollGoal ? 'met' : 'MISSED'}\n`);
  process.stdout.write(`webhook path: git push (hook and webhook included) median ${median(samples.pushMs).toFixed(0)} ms; the build's own phases median ${median(samples.buildMs).toFixed(0)} ms\n`);
  ok = ok && pollMed <= pollGoal;
  const out = path.join(ROOT, 'bench/results');
  fs.mkdirSync(out, { recursive: true });
  fs.writeFileSync(path.join(out, 'tag-builds.json'), JSON.stringify({ runs: RUNS, pollSeconds: POLL_S, samples, at: new Date().toISOString() }, null, 2) + '\n');

  // The images this run pushed and built.
  for (const app of Object.values(apps)) {
    const name = `${engine.registry}/${app.repo}`;
    const ids = (spawnSync('docker', ['image', 'ls', '-q', name], { env: env(state), encoding: 'utf8' }).stdout ?? '').split('\n').filter(Boolean);
    for (const id of ids) spawnSync('docker', ['rmi', '-f', id], { env: env(state) });
  }
  fs.rmSync(tmp, { recursive: true, force: true });
  return ok ? 0 : 3;
}

main().then((code) => (process.exitCode = code), (e) => {
  console.error(e);
  process.exitCode = 1;
});
