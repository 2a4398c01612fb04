#!/usr/bin/env node
/**
 * The quickstart: from a fresh clone to examples/hello-node running, in one
 * command (`npm run quickstart`). Run it again and it reuses what is there.
 *
 *   1. system packages (apt, as root) and npm dependencies, then the build
 *   2. a local Docker engine and registry (scripts/local-engine.js)
 *   3. local base images (no Docker Hub here: scripts/base-images.js)
 *   4. its own state, config and a `local` cluster (kind docker) in .sous-quickstart/
 *   5. examples/hello-node as a git repository tagged 1.0.0
 *   6. sous build --tag 1.0.0, sous deploy --cluster local --tag 1.0.0
 *   7. prints the URL that answers with that version, and how to go on
 */
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { execFileSync, spawnSync } = require('node:child_process');

const ROOT = path.resolve(__dirname, '..');
const HOME = process.env.SOUS_QUICKSTART_HOME ? path.resolve(process.env.SOUS_QUICKSTART_HOME) : path.join(ROOT, '.sous-quickstart');
const APP = path.join(HOME, 'hello-node');
const VERSION = process.env.QUICKSTART_VERSION || '1.0.0';

function step(msg) {
  process.stdout.write(`\n== ${msg}\n`);
}

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { stdio: 'inherit', cwd: opts.cwd ?? ROOT, env: opts.env ?? process.env });
  if (r.status !== 0) {
    process.stderr.write(`\nquickstart: \`${[cmd, ...args].join(' ')}\` failed (exit ${r.status ?? r.signal}).\n`);
    process.exit(1);
  }
}

function has(bin) {
  return spawnSync('sh', ['-c', `command -v ${bin} || test -x /usr/sbin/${bin}`], { stdio: 'ignore' }).status === 0;
}

function systemPackages() {
  const missing = [];
  if (!has('dockerd')) missing.push('docker.io');
  if (!has('docker-registry')) missing.push('docker-registry');
  if (spawnSync('dpkg', ['-s', 'busybox-static'], { stdio: 'ignore' }).status !== 0) missing.push('busybox-static');
  if (!has('git')) missing.push('git');
  if (!missing.length) return console.log('all present');
  if (process.getuid && process.getuid() !== 0) {
    process.stderr.write(`quickstart needs ${missing.join(', ')}: install them with \`sudo apt-get install -y ${missing.join(' ')}\`, then run it again.\n`);
    process.exit(1);
  }
  run('apt-get', ['update', '-q']);
  run('apt-get', ['install', '-y', '-q', '--no-install-recommends', ...missing], { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
}

function newer(a, b) {
  try {
    return fs.statSync(a).mtimeMs > fs.statSync(b).mtimeMs;
  } catch {
    return true;
  }
}

function sousEnv(engine) {
  return {
    ...process.env,
    SOUS_STATE_LOCATION: path.join(HOME, 'state'),
    SOUS_CONFIG: path.join(HOME, 'config.yaml'),
    XDG_DATA_HOME: path.join(HOME, 'data'),
    DOCKER_HOST: engine.dockerHost,
    SOUS_DOCKER_REGISTRY_HOST: engine.registry,
    SOUS_USER_NAME: process.env.SOUS_USER_NAME || 'Quickstart',
    SOUS_USER_EMAIL: process.env.SOUS_USER_EMAIL || 'quickstart@localhost',
  };
}

const SOUS = path.join(ROOT, 'packages/cli/bin/run.js');

function sous(env, args, opts = {}) {
  const r = spawnSync(process.execPath, [SOUS, ...args], { cwd: opts.cwd ?? APP, env, encoding: 'utf8', stdio: opts.capture ? ['ignore', 'pipe', 'inherit'] : 'inherit' });
  if (r.status !== 0 && !opts.allowFail) {
    process.stderr.write(`\nquickstart: \`sous ${args.join(' ')}\` failed (exit ${r.status}).\n`);
    process.exit(1);
  }
  return r;
}

function git(args, cwd = APP) {
  return execFileSync('git', args, { cwd, encoding: 'utf8', env: { ...process.env, GIT_AUTHOR_NAME: 'Quickstart', GIT_AUTHOR_EMAIL: 'quickstart@localhost', GIT_COMMITTER_NAME: 'Quickstart', GIT_COMMITTER_EMAIL: 'quickstart@localhost' } }).trim();
}

function prepareApp() {
  if (!fs.existsSync(path.join(APP, '.git'))) {
    fs.mkdirSync(APP, { recursive: true });
    fs.cpSync(path.join(ROOT, 'examples/hello-node'), APP, { recursive: true });
    git(['init', '-q', '-b', 'main']);
    // The origin names the repository as Sous will; it is never contacted.
    git(['remote', 'add', 'origin', 'https://github.com/sous-examples/hello-node']);
    git(['add', '-A']);
    git(['commit', '-q', '-m', 'hello-node']);
  }
  if (!git(['tag', '--list', VERSION])) git(['tag', VERSION]);
}

async function main() {
  step('system packages');
  systemPackages();

  step('npm dependencies and build');
  if (!fs.existsSync(path.join(ROOT, 'node_modules/.package-lock.json')) || newer(path.join(ROOT, 'package-lock.json'), path.join(ROOT, 'node_modules/.package-lock.json'))) {
    run('npm', ['ci', '--no-audit', '--no-fund']);
  } else console.log('node_modules is up to date');
  if (!fs.existsSync(path.join(ROOT, 'packages/cli/dist/commands/deploy.js')) || process.env.QUICKSTART_REBUILD) run('npm', ['run', 'build']);
  else console.log('already built (QUICKSTART_REBUILD=1 to build again)');

  step('Docker engine and registry');
  const engine = await require('./local-engine.js').start();
  console.log(`engine ${engine.dockerHost} (${engine.startedEngine ? 'started' : 'running'}), registry ${engine.registry} (${engine.startedRegistry ? 'started' : 'running'})`);

  step('base images (made locally: no Docker Hub here)');
  run(process.execPath, [path.join(__dirname, 'base-images.js'), 'busybox']);
  run(process.execPath, [path.join(__dirname, 'base-images.js'), 'node']);

  step('state, config and the local cluster');
  fs.mkdirSync(HOME, { recursive: true });
  const env = sousEnv(engine);
  fs.writeFileSync(env.SOUS_CONFIG, fs.readFileSync(path.join(__dirname, 'local-stacks.yaml'), 'utf8'));
  const clusters = JSON.parse(sous(env, ['cluster', 'list', '--json'], { capture: true, cwd: HOME }).stdout).clusters;
  if (!clusters.some((c) => c.name === 'local')) {
    // The example's origin is never pushed to, so its builds carry "unpushed revision": a local cluster allows it.
    sous(env, ['cluster', 'add', '--name', 'local', '--kind', 'docker', '--base-url', engine.dockerHost, '--allow-advisory', 'unpushed revision'], { cwd: HOME });
  } else console.log('cluster local is defined');
  fs.writeFileSync(
    path.join(HOME, 'env'),
    Object.entries({ SOUS_STATE_LOCATION: env.SOUS_STATE_LOCATION, SOUS_CONFIG: env.SOUS_CONFIG, XDG_DATA_HOME: env.XDG_DATA_HOME, DOCKER_HOST: env.DOCKER_HOST, SOUS_DOCKER_REGISTRY_HOST: env.SOUS_DOCKER_REGISTRY_HOST })
      .map(([k, v]) => `export ${k}=${v}`)
      .concat([`alias sous='node ${SOUS}'`])
      .join('\n') + '\n',
  );

  step(`examples/hello-node as a git repository, tagged ${VERSION}`);
  prepareApp();
  const known = sous(env, ['manifest', 'get', '--json'], { capture: true, allowFail: true });
  if (known.status !== 0) sous(env, ['init', '--kind', 'http-service', '--cluster', 'local', '--no-config-file']);
  else console.log('already registered');

  step(`sous build --tag ${VERSION}`);
  sous(env, ['build', '--tag', VERSION]);

  // A second run must not take back what was deployed since the first: it deploys VERSION only where nothing
  // newer is intended, and otherwise makes sure what is intended runs.
  let live = VERSION;
  const intended = known.status === 0 ? JSON.parse(known.stdout).manifest?.Deployments?.local?.Version : undefined;
  if (intended && intended !== VERSION) {
    live = intended;
    step(`local already asks for ${intended}: sous rectify --repo github.com/sous-examples/hello-node`);
    sous(env, ['rectify', '--repo', 'github.com/sous-examples/hello-node', '--cluster', 'local']);
  } else {
    step(`sous deploy --cluster local --tag ${VERSION}`);
    sous(env, ['deploy', '--cluster', 'local', '--tag', VERSION]);
  }

  step('where it answers');
  const ads = JSON.parse(sous(env, ['query', 'ads', '--cluster', 'local', '--json'], { capture: true }).stdout);
  const mine = ads.deployments.find((d) => d.id === 'local:github.com/sous-examples/hello-node');
  const url = mine?.endpoints?.[0];
  if (!url) {
    process.stderr.write('quickstart: the deployment runs but reports no endpoint\n');
    process.exit(1);
  }
  const res = await fetch(url);
  const body = await res.text();
  console.log(`${url} answers ${res.status}: ${body.trim()}`);
  if (!res.ok || !body.includes(live)) {
    process.stderr.write(`quickstart: expected ${live} from ${url}\n`);
    process.exit(1);
  }
  console.log(`
hello-node ${live} is live at ${url}

Go on from here (see README.md, "A first deploy"):
  source ${path.relative(process.cwd(), path.join(HOME, 'env')) || '.sous-quickstart/env'}
  cd ${path.relative(process.cwd(), APP)}
  echo '// a change' >> server.js && git commit -qam 'A change'
  git tag 1.1.0
  sous build -tag 1.1.0
  sous update -cluster local -tag 1.1.0
  sous rectify -repo github.com/sous-examples/hello-node
`);
}

main().catch((e) => {
  process.stderr.write(`quickstart: ${e.stack || e}\n`);
  process.exit(1);
});
