#!/usr/bin/env node
/**
 * Deploying a new version on Swarm: `sous deploy` (the real binary: GDM
 * update, verification, rectify, readiness) against `docker service update
 * --image` on the same service, with the same image pair, in the same run.
 * Goal: at most 1.3x.
 *
 * Both roll the same service with the same update settings (the ones Sous
 * gives it: start-first, parallelism 1, monitor 5 s, rollback on failure):
 * `docker service update` waits until the tasks converge and then its own
 * monitor period; `sous deploy` waits until swarm reports the update
 * complete (which includes the monitor period) and every new task answers
 * its readiness probe through its published port.
 *
 *   node bench/rectify/swarm.js [--rounds 5] [--replicas 2]
 * Needs `npm run build`, root (it runs a private dockerd in swarm mode) and
 * the local registry (node scripts/local-engine.js start).
 */
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { option } = require('../lib/stats');

const ROOT = path.resolve(__dirname, '../..');
const SOUS_BIN = path.join(ROOT, 'packages/cli/bin/run.js');
const { startTestEngine, DOCKER_CLI } = require(path.join(ROOT, 'test/helpers/test-engine.js'));
const { appImage } = require(path.join(ROOT, 'test/helpers/sched-images.js'));

const args = process.argv.slice(2);
const ROUNDS = Number(option(args, 'rounds', 5));
const REPLICAS = Number(option(args, 'replicas', 2));
const REPO = 'github.com/acme/bench';
const GOAL = 1.3;

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const user = { name: 'Bench', email: 'bench@example.com' };

function timed(cmd, argv, env) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, argv, { env, encoding: 'utf8', maxBuffer: 16 << 20 });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${path.basename(cmd)} ${argv.join(' ')} exited ${r.status}:\n${r.stdout}\n${r.stderr}`);
  return { ms, stdout: r.stdout };
}

(async () => {
  if (!fs.existsSync(path.join(ROOT, 'packages/cli/dist/commands/deploy.js'))) throw new Error('build first: npm run build');
  const local = require(path.join(ROOT, 'scripts/local-engine.js'));
  const shared = await local.start();
  process.env.SOUS_TEST_DOCKER_HOST = shared.dockerHost;
  process.env.SOUS_TEST_REGISTRY = shared.registry;
  const A = appImage('v1', 'sous-bench/swarm-app');
  const B = appImage('v2', 'sous-bench/swarm-app');

  const engine = await startTestEngine('sb', 15);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sous-bench-swarm-'));
  const service = require(path.join(ROOT, 'packages/plugin-scheduler-swarm/dist')).serviceName(`swarm:${REPO}`);
  try {
    engine.swarmInit();
    const env = { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(SOUS_|XDG_)/.test(k))) };
    Object.assign(env, { HOME: path.join(dir, 'home'), XDG_CONFIG_HOME: path.join(dir, 'config'), SOUS_STATE_LOCATION: path.join(dir, 'state'), SOUS_USER_NAME: user.name, SOUS_USER_EMAIL: user.email, NO_COLOR: '1' });
    fs.mkdirSync(env.HOME, { recursive: true });
    const sous = (...a) => timed(process.execPath, [SOUS_BIN, ...a, '--json'], env);
    sous('cluster', 'add', '--name', 'swarm', '--kind', 'swarm', '--base-url', engine.address);
    sous('init', '--repo', REPO);
    sous('scale', '--cluster', 'swarm', String(REPLICAS), '--repo', REPO);
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
    sous('deploy', '--cluster', 'swarm', '--tag', '1.0.0', '--repo', REPO);

    const imageNow = () => engine.docker(['service', 'inspect', service, '--format', '{{.Spec.TaskTemplate.ContainerSpec.Image}}']);
    const dockerEnv = { ...process.env, DOCKER_HOST: engine.address };
    const runs = { sous: [], docker: [], sousAction: [] };
    const sousTo = (version, ref) => {
      const r = sous('deploy', '--cluster', 'swarm', '--tag', version, '--repo', REPO);
      const out = JSON.parse(r.stdout);
      if (out.status !== 'live' || imageNow() !== ref) throw new Error(`sous deploy ${version} did not leave ${ref} running`);
      runs.sous.push(r.ms);
      runs.sousAction.push(out.outcome.durationMs);
    };
    const dockerTo = (ref) => {
      const r = timed(DOCKER_CLI, ['service', 'update', '--quiet', '--image', ref, service], dockerEnv);
      if (imageNow() !== ref) throw new Error(`docker service update did not leave ${ref} running`);
      runs.docker.push(r.ms);
    };
    for (let round = 0; round < ROUNDS; round++) {
      // Alternate which goes first, so neither always meets a freshly rolled service.
      const steps = [() => (sousTo('2.0.0', B.ref), sousTo('1.0.0', A.ref)), () => (dockerTo(B.ref), dockerTo(A.ref))];
      if (round % 2) steps.reverse();
      for (const s of steps) s();
      process.stderr.write(`round ${round + 1}/${ROUNDS}: sous ${runs.sous.slice(-2).map((x) => x.toFixed(0)).join(', ')} ms; docker ${runs.docker.slice(-2).map((x) => x.toFixed(0)).join(', ')} ms\n`);
    }
    const monitor = Number(engine.docker(['service', 'inspect', service, '--format', '{{json .Spec.UpdateConfig.Monitor}}'])) / 1e9;
    const order = engine.docker(['service', 'inspect', service, '--format', '{{.Spec.UpdateConfig.Order}}']);
    const s = median(runs.sous);
    const d = median(runs.docker);
    const ratio = s / d;
    console.log(`swarm deploy: ${REPLICAS} replica(s), ${ROUNDS} rounds of two version changes each (medians of ${runs.sous.length}); update order ${order}, monitor ${monitor} s for both`);
    console.log(`  docker service update --image   ${d.toFixed(0)} ms   (waits: tasks converged, then the ${monitor} s monitor)`);
    console.log(`  sous deploy                     ${s.toFixed(0)} ms   (waits: GDM commit, verification, swarm update complete incl. monitor, readiness probes)`);
    console.log(`    of which the rectify action   ${median(runs.sousAction).toFixed(0)} ms`);
    console.log(`  ratio ${ratio.toFixed(2)}x (goal ≤ ${GOAL}x) ${ratio <= GOAL ? 'ok' : 'MISSED'}`);
    process.exitCode = ratio <= GOAL ? 0 : 1;
  } finally {
    engine.docker(['service', 'rm', service], { allowFail: true });
    await engine.destroy();
    fs.rmSync(dir, { recursive: true, force: true });
  }
})().catch((e) => {
  console.error(e.stack || e.message);
  process.exit(1);
});
