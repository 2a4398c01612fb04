#!/usr/bin/env node
/**
 * From `sous rollback` to the old version answering on a docker cluster,
 * side by side with `sous deploy` of that old version (the baseline), in the
 * same run, on the same engine, with the same pair of images. Goal: the
 * rollback takes at most 1.1x the deploy.
 *
 * Each round starts with 2.0.0 running (deployed untimed) and goes back to
 * 1.0.0 once each way, taking turns on which goes first. Both wait for the
 * rectify and readiness as `sous deploy` does; the clock stops when
 * 1.0.0's answer is served on the deployment's published port. The rollback
 * also reads the GDM's history and the outcomes, verifies the artifact again
 * and writes its commit; the deploy verifies and writes its own.
 *
 *   node bench/rollback/docker.js [--rounds 7]
 *
 * Needs `npm run build`, root (it runs a private dockerd) and the local
 * registry (node scripts/local-engine.js start).
 */
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { median, option, report } = require('../lib/stats');

const ROOT = path.resolve(__dirname, '../..');
const SOUS_BIN = path.join(ROOT, 'packages/cli/bin/run.js');
const { startTestEngine } = require(path.join(ROOT, 'test/helpers/test-engine.js'));
const { appImage } = require(path.join(ROOT, 'test/helpers/sched-images.js'));

const args = process.argv.slice(2);
const ROUNDS = Number(option(args, 'rounds', 7));
const REPO = 'github.com/acme/rollback-bench';
const GOAL = 1.1;
const user = { name: 'Bench', email: 'bench@example.com' };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

(async () => {
  if (!fs.existsSync(path.join(ROOT, 'packages/cli/dist/commands/rollback.js'))) throw new Error('build first: npm run build');
  const local = require(path.join(ROOT, 'scripts/local-engine.js'));
  const shared = await local.start();
  process.env.SOUS_TEST_DOCKER_HOST = shared.dockerHost;
  process.env.SOUS_TEST_REGISTRY = shared.registry;
  const A = appImage('v1', 'sous-bench/rollback-app');
  const B = appImage('v2', 'sous-bench/rollback-app');
  const engine = await startTestEngine('dt17b', 39);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sous-bench-rollback-'));
  try {
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(SOUS_|XDG_)/.test(k)));
    Object.assign(env, { HOME: path.join(dir, 'home'), XDG_CONFIG_HOME: path.join(dir, 'config'), XDG_DATA_HOME: path.join(dir, 'data'), SOUS_STATE_LOCATION: path.join(dir, 'state'), SOUS_USER_NAME: user.name, SOUS_USER_EMAIL: user.email, NO_COLOR: '1' });
    fs.mkdirSync(env.HOME, { recursive: true });
    const sous = (...a) => {
      const r = spawnSync(process.execPath, [SOUS_BIN, ...a, '--json'], { env, encoding: 'utf8', maxBuffer: 16 << 20 });
      if (r.status !== 0) throw new Error(`sous ${a.join(' ')} exited ${r.status}:\n${r.stdout}\n${r.stderr}`);
      return JSON.parse(r.stdout);
    };
    sous('cluster', 'add', '--name', 'local', '--kind', 'docker', '--base-url', engine.address);
    sous('init', '--repo', REPO);
    const core = require(path.join(ROOT, 'packages/core/dist'));
    const gdm = await core.Gdm.open(env.SOUS_STATE_LOCATION, { user });
    await gdm.update(
      () => ({
        change: {
          message: 'artifacts',
          artifacts: [
            { Source: REPO, Version: '1.0.0', Image: A.image, Digest: A.digest, Deployable: true, Advisories: [] },
            { Source: REPO, Version: '2.0.0', Image: B.image, Digest: B.digest, Deployable: true, Advisories: [] },
          ],
        },
        result: undefined,
      }),
      user,
    );
    const port = () => engine.docker(['ps', '-q', '--filter', `label=dev.sous.deployment=local:${REPO}`]).split('\n').filter(Boolean).map((id) => engine.docker(['port', id, '8080/tcp']).split('\n')[0].split(':').pop());
    const answers = async (body) => {
      for (let i = 0; i < 400; i++) {
        for (const p of port()) {
          const r = await fetch(`http://127.0.0.1:${p}/`).then((x) => x.text(), () => '');
          if (r.trim() === body) return;
        }
        await sleep(10);
      }
      throw new Error(`${body} never answered`);
    };
    const timed = async (fn) => {
      const t0 = process.hrtime.bigint();
      const out = fn();
      await answers('app 1.0.0');
      return { ms: Number(process.hrtime.bigint() - t0) / 1e6, out };
    };
    sous('deploy', '--cluster', 'local', '--tag', '1.0.0', '--repo', REPO);
    const runs = { rollback: [], deploy: [] };
    const toB = () => sous('deploy', '--cluster', 'local', '--tag', '2.0.0', '--repo', REPO);
    const viaRollback = async () => {
      toB();
      const { ms, out } = await timed(() => sous('rollback', '--cluster', 'local', '--repo', REPO));
      if (out.version !== '1.0.0' || out.rollback.from !== '2.0.0' || out.status !== 'live') throw new Error(`the rollback went to ${out.version} from ${out.rollback?.from}`);
      runs.rollback.push(ms);
    };
    const viaDeploy = async () => {
      toB();
      const { ms, out } = await timed(() => sous('deploy', '--cluster', 'local', '--tag', '1.0.0', '--repo', REPO));
      if (out.version !== '1.0.0' || out.status !== 'live') throw new Error(`the deploy left ${out.version}`);
      runs.deploy.push(ms);
    };
    for (let round = 0; round < ROUNDS; round++) {
      const steps = round % 2 ? [viaDeploy, viaRollback] : [viaRollback, viaDeploy];
      for (const s of steps) await s();
      process.stderr.write(`round ${round + 1}/${ROUNDS}: rollback ${runs.rollback.at(-1).toFixed(0)} ms, deploy ${runs.deploy.at(-1).toFixed(0)} ms\n`);
    }
    console.log(`rollback on docker: 1 instance, ${ROUNDS} rounds, from 2.0.0 back to 1.0.0 until 1.0.0 answers (medians)`);
    const ok = report('back to 1.0.0', { name: 'sous deploy --tag 1.0.0', samples: runs.deploy }, [{ name: 'sous rollback', samples: runs.rollback }], GOAL);
    console.log(`  rollback ${median(runs.rollback).toFixed(0)} ms against deploy ${median(runs.deploy).toFixed(0)} ms: ${(median(runs.rollback) / median(runs.deploy)).toFixed(2)}x (goal <= ${GOAL}x) ${ok ? 'met' : 'MISSED'}`);
    process.exitCode = ok ? 0 : 3;
  } finally {
    const left = engine.docker(['ps', '-aq', '--filter', 'label=dev.sous.cluster'], { allowFail: true }).split('\n').filter(Boolean);
    if (left.length) engine.docker(['rm', '-f', ...left], { allowFail: true });
    await engine.destroy();
    fs.rmSync(dir, { recursive: true, force: true });
  }
})().catch((e) => {
  console.error(e.stack || e.message);
  process.exit(1);
});
