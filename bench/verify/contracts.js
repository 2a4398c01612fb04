#!/usr/bin/env node
/**
 * The contracts of an http-service image (what `sous build` runs in its test
 * phase: labels, user, port, readiness, SIGTERM) against the plain way to
 * check the same image: `docker run -d -p 127.0.0.1::PORT`, a curl loop on
 * /health until 200, `docker stop`, `docker rm`. Both run many times, taking
 * turns, in one run; medians and their ratio are printed. Goal: at most 1.3x.
 * `sous test --tag 1.0.0` (the whole CLI: start-up, config, GDM, contracts)
 * is measured alongside for information.
 *
 *   node bench/verify/contracts.js [--runs 20] [--image hello-node|busybox]
 *
 * The image is examples/hello-node built by `sous build` (node stack on the
 * local base image); with --image busybox, or when that cannot be built, the
 * busybox httpd app of the contract tests. Needs `npm run build` and the local
 * engine (node scripts/local-engine.js start).
 */
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync, execFileSync } = require('node:child_process');
const { median, option } = require('../lib/stats');

const ROOT = path.resolve(__dirname, '../..');
const args = process.argv.slice(2);
const RUNS = Number(option(args, 'runs', 20));
const WARMUP = 2;
const WANT = option(args, 'image', 'hello-node');
const DOCKER = fs.existsSync('/usr/bin/docker') ? '/usr/bin/docker' : 'docker';
const SOUS = path.join(ROOT, 'packages/cli/bin/run.js');

function docker(...a) {
  return execFileSync(DOCKER, a, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

function git(cwd, ...a) {
  return execFileSync('git', ['-c', 'user.name=Bench', '-c', 'user.email=bench@example.com', ...a], { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

/** examples/hello-node, built and recorded by `sous build` in a scratch git repository and state. */
function buildHelloNode(work, registry) {
  require(path.join(ROOT, 'scripts/base-images.js')).ensure(['busybox', 'node'], { log: () => undefined });
  const repo = path.join(work, 'hello-node');
  fs.cpSync(path.join(ROOT, 'examples/hello-node'), repo, { recursive: true });
  git(repo, 'init', '-q', '-b', 'main');
  git(repo, 'add', '-A');
  git(repo, 'commit', '-q', '-m', 'hello-node');
  git(repo, 'tag', '1.0.0');
  git(repo, 'remote', 'add', 'origin', `https://github.com/sous-bench/hello-node-${process.pid}.git`);
  git(repo, 'update-ref', 'refs/remotes/origin/main', 'HEAD');
  const configHome = path.join(work, 'config');
  require(path.join(ROOT, 'scripts/local-stacks.js')).writeLocalStacksConfig(configHome);
  const env = {
    ...process.env,
    HOME: work,
    XDG_CONFIG_HOME: configHome,
    XDG_CACHE_HOME: path.join(work, 'cache'),
    XDG_DATA_HOME: path.join(work, 'data'),
    SOUS_STATE_LOCATION: path.join(work, 'state'),
    SOUS_DOCKER_REGISTRY_HOST: registry,
    SOUS_USER_NAME: 'Bench',
    SOUS_USER_EMAIL: 'bench@example.com',
  };
  const r = spawnSync(process.execPath, [SOUS, 'build', '--tag', '1.0.0', '--json'], { cwd: repo, env, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`sous build of hello-node failed:\n${r.stdout}\n${r.stderr}`);
  const built = JSON.parse(r.stdout);
  return { ref: built.tags[0], port: 8080, what: `examples/hello-node (${built.reference})`, cli: { cwd: repo, env }, cleanup: () => forget(registry, built) };
}

/** Removes what the build made from the shared engine and registry. */
async function forget(registry, built) {
  const name = built.image.slice(registry.length + 1);
  await fetch(`http://${registry}/v2/${name}/manifests/${built.digest}`, { method: 'DELETE' }).catch(() => undefined);
  for (const t of built.tags) spawnSync(DOCKER, ['rmi', '-f', t], { stdio: 'ignore' });
}

/** The busybox httpd app of the contract tests, with the labels a Sous build puts on. */
function buildBusybox() {
  require(path.join(ROOT, 'scripts/base-images.js')).ensure(['busybox'], { log: () => undefined });
  const { SOUS_LABELS } = require(path.join(ROOT, 'packages/core/dist'));
  const labels = {
    'org.opencontainers.image.source': 'https://github.com/sous-bench/httpd',
    'org.opencontainers.image.revision': '0'.repeat(40),
    'org.opencontainers.image.version': '1.0.0',
    'org.opencontainers.image.created': new Date(0).toISOString(),
    ...Object.fromEntries(Object.values(SOUS_LABELS).map((l) => [l, 'bench'])),
  };
  const ref = 'sous-bench/contracts-httpd:latest';
  docker('build', '-q', '-t', ref, ...Object.entries(labels).flatMap(([k, v]) => ['--label', `${k}=${v}`]), path.join(ROOT, 'test/fixtures/contracts/apps/httpd'));
  return { ref, port: 8080, what: 'busybox httpd (test/fixtures/contracts/apps/httpd)' };
}

async function main() {
  const engine = require(path.join(ROOT, 'scripts/local-engine.js'));
  const { dockerHost, registry } = await engine.start();
  process.env.DOCKER_HOST = dockerHost;
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'sous-bench-contracts-'));
  let image;
  try {
    image = WANT === 'busybox' ? buildBusybox() : buildHelloNode(work, registry);
  } catch (e) {
    process.stderr.write(`hello-node could not be built (${e.message.split('\n')[0]}); using the busybox httpd image\n`);
    image = buildBusybox();
  }

  const { Sous } = require(path.join(ROOT, 'packages/core/dist'));
  const { contracts } = require(path.join(ROOT, 'packages/plugin-contracts/dist'));
  const sous = new Sous({ warnings: [], contracts: {}, dockerHost, origins: {}, files: {} }).use(contracts());
  const info = JSON.parse(docker('image', 'inspect', image.ref))[0];
  const builtImage = { id: info.Id, name: image.ref.slice(0, image.ref.lastIndexOf(':')), tags: [image.ref], labels: info.Config.Labels ?? {}, contentKey: '' };

  const variants = {
    contracts: async () => {
      const report = { image: builtImage, kind: 'http-service', results: [] };
      const t0 = process.hrtime.bigint();
      await sous.hooks.testImage.promise(report);
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      const bad = report.results.filter((r) => r.status !== 'passed');
      if (bad.length) throw new Error(`contracts did not all pass: ${JSON.stringify(bad)}`);
      return ms;
    },
    'docker run + curl': async () => {
      const script = [
        'set -e',
        `cid=$(${DOCKER} run -d -e PORT0=${image.port} -p 127.0.0.1::${image.port} ${image.ref})`,
        `hp=$(${DOCKER} port "$cid" ${image.port}/tcp | head -n1 | sed 's/.*://')`,
        'n=0',
        'until [ "$(curl -s -o /dev/null -w "%{http_code}" "http://127.0.0.1:$hp/health")" = 200 ]; do n=$((n+1)); [ $n -lt 600 ] || exit 1; sleep 0.05; done',
        `${DOCKER} stop "$cid" >/dev/null`,
        `${DOCKER} rm "$cid" >/dev/null`,
      ].join('\n');
      const t0 = process.hrtime.bigint();
      const r = spawnSync('bash', ['-c', script], { encoding: 'utf8' });
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      if (r.status !== 0) throw new Error(`baseline failed: ${r.stderr}`);
      return ms;
    },
  };
  if (image.cli) {
    variants['sous test (CLI)'] = async () => {
      const t0 = process.hrtime.bigint();
      const r = spawnSync(process.execPath, [SOUS, 'test', '--tag', '1.0.0', '--json'], { cwd: image.cli.cwd, env: image.cli.env, encoding: 'utf8' });
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      if (r.status !== 0) throw new Error(`sous test failed: ${r.stdout}${r.stderr}`);
      return ms;
    };
  }

  const names = Object.keys(variants);
  const times = Object.fromEntries(names.map((n) => [n, []]));
  for (let i = 0; i < WARMUP + RUNS; i++) {
    // Take turns, starting with a different variant each round, so drift hits all alike.
    const order = names.map((_, k) => names[(i + k) % names.length]);
    for (const n of order) {
      const ms = await variants[n]();
      if (i >= WARMUP) times[n].push(ms);
    }
  }
  const base = median(times['docker run + curl']);
  const result = {
    image: image.what,
    runs: RUNS,
    machine: `${os.cpus().length} cpus, ${os.type()} ${os.release()}, node ${process.version}`,
    medians: Object.fromEntries(names.map((n) => [n, Math.round(median(times[n]))])),
    ratio: Math.round((median(times.contracts) / base) * 100) / 100,
    goal: 1.3,
  };
  if (image.cli) result.cliRatio = Math.round((median(times['sous test (CLI)']) / base) * 100) / 100;
  result.pass = result.ratio <= result.goal;

  process.stdout.write(`contracts vs docker run + curl /health + docker stop + rm: ${image.what}, ${RUNS} runs each\n`);
  for (const n of names) process.stdout.write(`  ${n.padEnd(18)} median ${String(result.medians[n]).padStart(5)} ms   (min ${Math.round(Math.min(...times[n]))}, max ${Math.round(Math.max(...times[n]))})\n`);
  process.stdout.write(`  ratio contracts / baseline: ${result.ratio}x (goal ≤ ${result.goal}x) ${result.pass ? 'PASS' : 'FAIL'}\n`);
  if (image.cli) process.stdout.write(`  ratio sous test (CLI) / baseline: ${result.cliRatio}x (for information)\n`);
  const out = path.join(ROOT, 'bench/results');
  fs.mkdirSync(out, { recursive: true });
  fs.writeFileSync(path.join(out, 'verify-contracts.json'), JSON.stringify({ ...result, times }, null, 2) + '\n');
  fs.rmSync(work, { recursive: true, force: true });
  await image.cleanup?.();
  if (!result.pass) process.exitCode = 1;
}

main().catch((e) => {
  process.stderr.write(`bench/verify/contracts: ${e.stack || e.message}\n`);
  process.exit(2);
});
