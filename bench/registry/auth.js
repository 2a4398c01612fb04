#!/usr/bin/env node
/**
 * What a registry with a login and TLS adds to `sous build --tag`, beside
 * what it adds to `docker build` + `docker push` (after `docker login`).
 *
 * Two fresh registries, both Debian's docker-registry on 127.0.0.1: one
 * anonymous over plain HTTP (as the embedded local one), one with
 * `auth: htpasswd` (bcrypt) behind TLS from a CA made for the run. Four
 * sides, each with its own repository and image name, taking turns in an
 * order that rotates by round:
 *
 *   sous/anonymous     sous build --tag of examples/hello-node to the anonymous registry
 *   sous/auth+tls      the same to the htpasswd + TLS one: the login is the
 *                      config.json `docker login` wrote; the CA from registries.<host>.caFile
 *   docker/anonymous   DOCKER_BUILDKIT=1 docker build (the same multi-stage
 *                      Dockerfile as bench/build) + docker push
 *   docker/auth+tls    the same, after docker login
 *
 * Every round is a one-line source change under a new tag (a warm build and
 * a push of the changed layer); one round first warms every side up and is
 * not counted. What auth and TLS add is, per round, the auth side's time less
 * the anonymous side's; its median for sous is compared with docker's.
 *
 * Goal: what auth and TLS add to sous <= 1.1x what they add to docker (with
 * 50 ms of slack, the resolution of timing whole processes on this machine).
 *
 * A second table measures the push alone, in this process, so that no
 * process start or build hides it: the engine's push of a new image (what
 * `docker push` asks the engine for) beside Sous's publish of it (that push,
 * then Sous's own check of the digest and the version tag, through core's
 * registry client with the registry's credentials and CA), against each
 * registry. No goal: it shows where the difference is.
 *
 *   node bench/registry/auth.js [--runs 9]
 *
 * Needs `npm run build`, the local engine (node scripts/local-engine.js
 * start), the local node image (node scripts/base-images.js node), openssl
 * and docker-registry.
 */
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const crypto = require('node:crypto');
const { spawnSync, execFileSync } = require('node:child_process');
const { median, option } = require('../lib/stats');
const { makePki, startSecureRegistry } = require('../../test/helpers/secure-registries');

const ROOT = path.resolve(__dirname, '../..');
const args = process.argv.slice(2);
const RUNS = Number(option(args, 'runs', 9));
const DOCKER = fs.existsSync('/usr/bin/docker') ? '/usr/bin/docker' : 'docker';
const SOUS = path.join(ROOT, 'packages/cli/bin/run.js');
const EXAMPLE = path.join(ROOT, 'examples/hello-node');
const DOCKERFILE = path.join(ROOT, 'bench/build/hello-node.Dockerfile');
const GOAL = 1.1;
const SLACK_MS = 50;
const PASSWORD = crypto.randomBytes(12).toString('hex');

function git(cwd, ...a) {
  return execFileSync('git', ['-c', 'user.name=Bench', '-c', 'user.email=bench@example.com', ...a], { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

function timed(cmd, argv, opts, out) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, argv, { encoding: 'utf8', maxBuffer: 64 << 20, ...opts });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${cmd} ${argv.join(' ')} exited ${r.status}:\n${r.stdout}\n${r.stderr}`);
  if (out) out.stdout = r.stdout;
  return ms;
}

async function main() {
  const engine = require(path.join(ROOT, 'scripts/local-engine.js'));
  const eng = await engine.start();
  require(path.join(ROOT, 'scripts/base-images.js')).ensure(['node', 'busybox'], { log: () => undefined });
  process.stdout.write(`load average at the start: ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}\n`);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sous-bench-registry-'));
  const pki = makePki(path.join(tmp, 'pki'));
  const anonPort = await new Promise((resolve) => {
    const s = require('node:net').createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
  const anon = await engine.startRegistry(path.join(tmp, 'anon'), anonPort);
  const secure = await startSecureRegistry(path.join(tmp, 'secure'), pki, { htpasswd: { ci: PASSWORD } });
  const anonPid = anon.pid;
  try {
    const baseEnv = { ...process.env, DOCKER_HOST: eng.dockerHost, DOCKER_BUILDKIT: '1' };
    for (const k of Object.keys(baseEnv)) if (/^(SOUS_|XDG_|DOCKER_CONFIG$)/.test(k)) delete baseEnv[k];
    // One docker login, read by docker and by sous alike.
    const dockerConfig = path.join(tmp, 'docker');
    execFileSync(DOCKER, ['--config', dockerConfig, 'login', secure.addr, '--username', 'ci', '--password-stdin'], { input: PASSWORD, env: baseEnv, stdio: ['pipe', 'ignore', 'pipe'] });
    const anonDockerConfig = path.join(tmp, 'docker-anon');
    fs.mkdirSync(anonDockerConfig, { recursive: true });
    const xdg = path.join(tmp, 'xdg');
    require(path.join(ROOT, 'scripts/local-stacks.js')).writeLocalStacksConfig(xdg, `registries:\n  "${secure.addr}":\n    caFile: ${pki.caFile}\n`);

    const sides = {
      'sous/anonymous': { kind: 'sous', registry: anon.addr, dockerConfig: anonDockerConfig },
      'sous/auth+tls': { kind: 'sous', registry: secure.addr, dockerConfig },
      'docker/anonymous': { kind: 'docker', registry: anon.addr, dockerConfig: anonDockerConfig },
      'docker/auth+tls': { kind: 'docker', registry: secure.addr, dockerConfig },
    };
    for (const [name, s] of Object.entries(sides)) {
      const id = `${name.replace(/[^a-z]+/g, '-')}${crypto.randomBytes(2).toString('hex')}`;
      s.dir = path.join(tmp, id);
      fs.cpSync(EXAMPLE, s.dir, { recursive: true });
      if (s.kind === 'sous') {
        git(s.dir, 'init', '-q', '-b', 'main');
        git(s.dir, 'add', '-A');
        git(s.dir, 'commit', '-q', '-m', 'hello-node');
        git(s.dir, 'remote', 'add', 'origin', `https://github.com/sous-bench/${id}`);
      }
      s.image = `${s.registry}/bench/${id}`;
      s.env = { ...baseEnv, DOCKER_CONFIG: s.dockerConfig, XDG_CONFIG_HOME: xdg, XDG_CACHE_HOME: path.join(tmp, `cache-${id}`), SOUS_STATE_LOCATION: path.join(tmp, `state-${id}`), SOUS_DOCKER_REGISTRY_HOST: s.registry, SOUS_USER_NAME: 'Bench', SOUS_USER_EMAIL: 'bench@example.com' };
      s.samples = [];
      s.phases = [];
      s.version = 0;
    }
    const step = (s) => {
      s.version++;
      const tag = `1.0.${s.version}`;
      fs.appendFileSync(path.join(s.dir, 'server.js'), `// change ${s.version}\n`);
      if (s.kind === 'sous') {
        git(s.dir, 'commit', '-qam', `change ${s.version}`);
        git(s.dir, 'update-ref', 'refs/remotes/origin/main', 'HEAD');
        git(s.dir, 'tag', tag);
        const out = {};
        const ms = timed(process.execPath, [SOUS, 'build', '--tag', tag, '--json'], { cwd: s.dir, env: s.env }, out);
        s.phases.push(JSON.parse(out.stdout).timings);
        return ms;
      }
      const ref = `${s.image}:${tag}`;
      return timed(DOCKER, ['--config', s.dockerConfig, 'build', '-q', '-f', DOCKERFILE, '--build-arg', `APP_VERSION=${tag}`, '-t', ref, s.dir], { env: s.env }) + timed(DOCKER, ['--config', s.dockerConfig, 'push', '-q', ref], { env: s.env });
    };
    const names = Object.keys(sides);
    for (const n of names) step(sides[n]);
    for (let round = 0; round < RUNS; round++) {
      const order = names.map((_, i) => names[(i + round) % names.length]);
      for (const n of order) sides[n].samples.push(step(sides[n]));
      process.stderr.write(`round ${round + 1}/${RUNS} done\n`);
    }

    const added = (kind) => sides[`${kind}/auth+tls`].samples.map((t, i) => t - sides[`${kind}/anonymous`].samples[i]);
    const sousAdds = median(added('sous'));
    const dockerAdds = median(added('docker'));
    const rows = [['side', 'runs', 'median ms']];
    for (const n of names) rows.push([n, String(sides[n].samples.length), median(sides[n].samples).toFixed(1)]);
    rows.push(['', '', '']);
    rows.push(['what auth + TLS add: docker (baseline)', String(RUNS), dockerAdds.toFixed(1)]);
    rows.push(['what auth + TLS add: sous', String(RUNS), sousAdds.toFixed(1)]);
    const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
    process.stdout.write(`${rows.map((r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ')).join('\n')}\n`);
    const limit = Math.max(dockerAdds, 0) * GOAL + SLACK_MS;
    const ok = sousAdds <= limit;
    process.stdout.write(`goal: sous adds <= ${GOAL}x what docker adds (+${SLACK_MS} ms): ${sousAdds.toFixed(1)} ms vs ${limit.toFixed(1)} ms: ${ok ? 'met' : 'MISSED'} (without the slack: ${(sousAdds / Math.max(dockerAdds, 1)).toFixed(2)}x)\n`);
    const push = await pushAlone(eng, { anon: anon.addr, secure: secure.addr }, { registries: { [secure.addr]: { caFile: pki.caFile } } }, dockerConfig, tmp);
    for (const n of names.filter((x) => sides[x].kind === 'sous')) {
      const list = sides[n].phases.slice(1);
      const keys = Object.keys(list[0] ?? {});
      process.stdout.write(`${n} phases (median ms): ${keys.map((k) => `${k} ${median(list.map((t) => t[k] ?? 0)).toFixed(0)}`).join(', ')}\n`);
    }
    process.stdout.write(`load average at the end: ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}\n`);
    const out = path.join(ROOT, 'bench/results');
    fs.mkdirSync(out, { recursive: true });
    fs.writeFileSync(path.join(out, 'registry-auth.json'), JSON.stringify({ runs: RUNS, samples: Object.fromEntries(names.map((n) => [n, sides[n].samples])), sousAdds, dockerAdds, push, at: new Date().toISOString() }, null, 2));
    process.exitCode = ok ? 0 : 3;
  } finally {
    await secure.stop();
    if (anonPid) {
      try {
        process.kill(anonPid, 'SIGTERM');
      } catch {
        // already gone
      }
    }
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/** The engine's push alone against Sous's publish (the push, then its digest check and tag), in process, per registry. */
async function pushAlone(eng, registries, config, dockerConfig, tmp) {
  const { connectEngine, publishImage, pushTag } = require(path.join(ROOT, 'packages/plugin-docker/dist'));
  const core = require(path.join(ROOT, 'packages/core/dist'));
  const docker = connectEngine(eng.dockerHost);
  process.env.DOCKER_CONFIG = dockerConfig;
  const samples = {};
  const mk = (ref) => {
    // A new image each time: a label changes its config, so every push sends a config and a manifest.
    const dir = fs.mkdtempSync(path.join(tmp, 'img-'));
    fs.writeFileSync(path.join(dir, 'Dockerfile'), `FROM sous-local/busybox:latest\nLABEL bench.nonce=${crypto.randomBytes(6).toString('hex')}\n`);
    execFileSync(DOCKER, ['build', '-q', '-t', ref, dir], { env: { ...process.env, DOCKER_HOST: eng.dockerHost, DOCKER_BUILDKIT: '1' }, stdio: 'ignore' });
  };
  const loaded = await core.loadConfig({ repoConfig: false, env: { XDG_CONFIG_HOME: path.join(tmp, 'no-config'), HOME: tmp } });
  const cfg = Object.freeze({ ...loaded, registries: config.registries });
  for (const [kind, reg] of Object.entries(registries)) {
    for (const how of ['engine push', 'sous publish']) samples[`${how} / ${kind}`] = [];
    for (let i = 0; i < RUNS * 2 + 1; i++) {
      for (const how of i % 2 ? ['engine push', 'sous publish'] : ['sous publish', 'engine push']) {
        const name = `${reg}/bench/push-${how.split(' ')[0]}`;
        const ref = `${name}:n${i}`;
        mk(ref);
        const t0 = process.hrtime.bigint();
        if (how === 'engine push') await pushTag(docker, ref, undefined, cfg);
        else await publishImage(docker, { image: { name, tags: [ref, `${name}:v${i}`] }, digest: '', reference: '' }, undefined, cfg);
        if (i > 0) samples[`${how} / ${kind}`].push(Number(process.hrtime.bigint() - t0) / 1e6);
      }
    }
  }
  const rows = [['push alone (in process)', 'runs', 'median ms']];
  for (const [k, v] of Object.entries(samples)) rows.push([k, String(v.length), median(v).toFixed(1)]);
  const add = (how) => median(samples[`${how} / secure`]) - median(samples[`${how} / anon`]);
  rows.push(['what auth + TLS add: engine push', '', add('engine push').toFixed(1)]);
  rows.push(['what auth + TLS add: sous publish', '', add('sous publish').toFixed(1)]);
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  process.stdout.write(`${rows.map((r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ')).join('\n')}\n`);
  return samples;
}

main().catch((e) => {
  process.stderr.write(`${e.stack || e}\n`);
  process.exit(2);
});
