#!/usr/bin/env node
/**
 * `sous build --tag` of examples/hello-node against what a user would script
 * by hand: a best-practice multi-stage Dockerfile (hello-node.Dockerfile)
 * built with BuildKit and pushed (`DOCKER_BUILDKIT=1 docker build`, then
 * `docker push`). Each side is a whole process, side by side in the same
 * run, taking turns, on the same engine and registry:
 *
 *   cold       empty build cache (docker builder prune -af) and a fresh
 *              registry repository
 *   warm       a one-line source change under a new tag
 *   unchanged  the same tag again (docker: a fully cached build and push)
 *
 * Each side runs the three in a row, starting from an empty build cache, so
 * its warm build finds its own layers; which side goes first rotates by round.
 * A second sous row subtracts each run's test phase (the contracts, which
 * the docker side does not run) from its time, to show what they cost; it has
 * no goal. The image is pushed under its revision tag while the contracts run,
 * so that row leaves out the part of the push they hide too: a lower bound.
 *
 * Goals: cold <= 1.2x, warm <= 2x of docker's same scenario; unchanged
 * <= 2.5x of docker's fully cached build. sous's own phase timings (--json)
 * are printed to show where its time goes.
 *
 *   node bench/build/build.js [--runs 3]
 *
 * Standalone (there is no bench/run.js to register with). Needs `npm run
 * build`, the local engine (node scripts/local-engine.js start) and the local
 * node image (node scripts/base-images.js node). Prunes the engine's whole
 * build cache for the cold runs.
 */
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const crypto = require('node:crypto');
const { spawnSync, execFileSync } = require('node:child_process');
const { median, report, option } = require('../lib/stats');

const ROOT = path.resolve(__dirname, '../..');
const args = process.argv.slice(2);
const RUNS = Number(option(args, 'runs', 3));
const DOCKER = fs.existsSync('/usr/bin/docker') ? '/usr/bin/docker' : 'docker';
const SOUS = path.join(ROOT, 'packages/cli/bin/run.js');
const EXAMPLE = path.join(ROOT, 'examples/hello-node');
const DOCKERFILE = path.join(__dirname, 'hello-node.Dockerfile');

function git(cwd, ...a) {
  return execFileSync('git', ['-c', 'user.name=Bench', '-c', 'user.email=bench@example.com', ...a], { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

/** Runs a whole process and returns its wall time in ms; fails loudly when it fails. */
function timed(cmd, argv, opts) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, argv, { encoding: 'utf8', maxBuffer: 64 << 20, ...opts });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${cmd} ${argv.join(' ')} exited ${r.status}:\n${r.stdout}\n${r.stderr}`);
  return { ms, stdout: r.stdout };
}

/** Empties the engine's build cache; retried, because a build running meanwhile (the engine is shared) makes a prune fail. */
function pruneBuildCache(env) {
  for (let i = 0; ; i++) {
    const r = spawnSync(DOCKER, ['builder', 'prune', '-af'], { env, encoding: 'utf8' });
    if (r.status === 0) return;
    if (i === 4) throw new Error(`docker builder prune -af failed: ${r.stderr}`);
    spawnSync('sleep', ['2']);
  }
}

function setUp() {
  // eslint-disable-next-line global-require
  const engine = require(path.join(ROOT, 'scripts/local-engine.js'));
  return engine.start().then((e) => {
    require(path.join(ROOT, 'scripts/base-images.js')).ensure(['node'], { log: () => undefined });
    return e;
  });
}

/** One round's scratch: a git repository of the example (for sous) and a plain copy (for docker). */
function scratch(tmp, id) {
  const repo = path.join(tmp, `sous-${id}`);
  fs.cpSync(EXAMPLE, repo, { recursive: true });
  git(repo, 'init', '-q', '-b', 'main');
  git(repo, 'add', '-A');
  git(repo, 'commit', '-q', '-m', 'hello-node');
  git(repo, 'remote', 'add', 'origin', `https://github.com/sous-bench/hello-node-${id}`);
  git(repo, 'update-ref', 'refs/remotes/origin/main', 'HEAD');
  git(repo, 'tag', '1.0.0');
  const plain = path.join(tmp, `docker-${id}`);
  fs.cpSync(EXAMPLE, plain, { recursive: true });
  return { repo, plain };
}

function changeSource(dir) {
  const f = path.join(dir, 'server.js');
  fs.appendFileSync(f, `// change ${Date.now()}\n`);
}

async function main() {
  const eng = await setUp();
  process.stdout.write(`load average at the start: ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}\n`);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sous-bench-build-'));
  const xdg = path.join(tmp, 'xdg');
  require(path.join(ROOT, 'scripts/local-stacks.js')).writeLocalStacksConfig(xdg);
  const baseEnv = { ...process.env, DOCKER_HOST: eng.dockerHost, DOCKER_BUILDKIT: '1' };
  for (const k of Object.keys(baseEnv)) if (/^(SOUS_|XDG_)/.test(k)) delete baseEnv[k];
  const SIDES = ['sous', 'docker'];
  const samples = { sous: { cold: [], warm: [], unchanged: [] }, docker: { cold: [], warm: [], unchanged: [] } };
  const untested = { cold: [], warm: [], unchanged: [] };
  const phases = { cold: [], warm: [] };

  try {
    for (let round = 0; round < RUNS; round++) {
      const id = `${crypto.randomBytes(3).toString('hex')}`;
      const { repo, plain } = scratch(tmp, id);
      const sousEnv = { ...baseEnv, XDG_CONFIG_HOME: xdg, XDG_CACHE_HOME: path.join(tmp, `cache-${id}`), SOUS_STATE_LOCATION: path.join(tmp, `state-${id}`), SOUS_DOCKER_REGISTRY_HOST: eng.registry, SOUS_USER_NAME: 'Bench', SOUS_USER_EMAIL: 'bench@example.com' };
      const image = `${eng.registry}/bench/docker-hello-node-${id}`;
      const sousBuild = (tag) => {
        const r = timed(process.execPath, [SOUS, 'build', '--tag', tag, '--json'], { cwd: repo, env: sousEnv });
        return { ms: r.ms, timings: JSON.parse(r.stdout).timings };
      };
      const dockerBuild = (tag) => {
        const b = timed(DOCKER, ['build', '-q', '-f', DOCKERFILE, '--build-arg', `APP_VERSION=${tag}`, '-t', `${image}:${tag}`, plain], { env: baseEnv });
        const p = timed(DOCKER, ['push', '-q', `${image}:${tag}`], { env: baseEnv });
        return { ms: b.ms + p.ms };
      };
      const run = (side, scenario, tag) => {
        const r = side === 'docker' ? dockerBuild(tag) : sousBuild(tag);
        samples[side][scenario].push(r.ms);
        if (!r.timings) return;
        untested[scenario].push(r.ms - (r.timings.test ?? 0));
        if (phases[scenario]) phases[scenario].push(r.timings);
      };
      // Each side runs its three scenarios in a row from its own empty cache, so that its warm build finds
      // its own layers (not a cache another side's cold run just pruned); the order of the sides rotates.
      const order = SIDES.map((_, i) => SIDES[(i + round) % SIDES.length]);
      for (const side of order) {
        pruneBuildCache(baseEnv);
        run(side, 'cold', '1.0.0');
        if (side === 'docker') changeSource(plain);
        else {
          changeSource(repo);
          git(repo, 'commit', '-qam', 'a one-line change');
          git(repo, 'update-ref', 'refs/remotes/origin/main', 'HEAD');
          git(repo, 'tag', '1.0.1');
        }
        run(side, 'warm', '1.0.1');
        run(side, 'unchanged', '1.0.1');
      }
      process.stderr.write(`round ${round + 1}/${RUNS} done\n`);
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }

  const NC = 'sous build --tag less its test phase (contracts + the push under them)';
  const table = (title, scenario, baseName, goal) =>
    report(title, { name: baseName, samples: samples.docker[scenario] }, [
      { name: 'sous build --tag', samples: samples.sous[scenario] },
      { name: NC, samples: untested[scenario], goal: false },
    ], goal);
  let ok = true;
  ok = table('cold (empty build cache, new repository)', 'cold', 'docker build + push', 1.2) && ok;
  ok = table('warm (one-line change, new tag)', 'warm', 'docker build + push', 2) && ok;
  ok = table('unchanged (same tag again)', 'unchanged', 'docker build + push (fully cached)', 2.5) && ok;
  for (const [scenario, list] of Object.entries(phases)) {
    const names = Object.keys(list[0] ?? {});
    process.stdout.write(`sous phases, ${scenario} (median ms): ${names.map((n) => `${n} ${median(list.map((t) => t[n] ?? 0)).toFixed(0)}`).join(', ')}\n`);
  }
  process.stdout.write(`load average at the end: ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}\n`);
  const out = path.join(ROOT, 'bench/results');
  fs.mkdirSync(out, { recursive: true });
  fs.writeFileSync(path.join(out, 'build.json'), JSON.stringify({ runs: RUNS, samples, untested, phases, at: new Date().toISOString() }, null, 2));
  process.exitCode = ok ? 0 : 1;
}

main().catch((e) => {
  process.stderr.write(`${e.stack || e}\n`);
  process.exit(2);
});
