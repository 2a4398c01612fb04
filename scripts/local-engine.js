#!/usr/bin/env node
/**
 * A local Docker engine and OCI registry for the quickstart, the tests and the
 * benchmarks: Debian's dockerd on its own socket and Debian's docker-registry
 * on 127.0.0.1. Started once, reused while running.
 *
 *   node scripts/local-engine.js start [--registry-port 5000]   prints the env to use
 *   node scripts/local-engine.js stop
 *   node scripts/local-engine.js env
 *   node scripts/local-engine.js registry DIR PORT               an extra registry (tests)
 */
const fs = require('node:fs');
const path = require('node:path');
const net = require('node:net');
const http = require('node:http');
const { spawn, execFileSync } = require('node:child_process');

const ROOT = process.env.SOUS_ENGINE_ROOT || '/var/lib/sous-engine';
const RUN = process.env.SOUS_ENGINE_RUN || '/run/sous-engine';
const SOCKET = path.join(RUN, 'docker.sock');
const DEFAULT_REGISTRY_PORT = Number(process.env.SOUS_REGISTRY_PORT || 5000);

function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}

/** Whether a GET answers 200 within a second (any error or timeout is a no). */
function answers200(url, opts = {}) {
  return new Promise((resolve) => {
    const req = http.get(url, { ...opts, timeout: 1000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => {
      req.destroy();
      resolve(false);
    });
  });
}

function pingSocket(socket) {
  return answers200('http://localhost/_ping', { socketPath: socket });
}

function pingRegistry(addr) {
  return answers200(`http://${addr}/v2/`);
}

function portFree(port) {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

function which(bin) {
  try {
    execFileSync('sh', ['-c', `command -v ${bin}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function requireTools() {
  const missing = ['dockerd', 'docker-registry'].filter((b) => !which(b) && !fs.existsSync(`/usr/sbin/${b}`) && !fs.existsSync(`/usr/bin/${b}`));
  if (missing.length) {
    throw new Error(`${missing.join(' and ')} not found: install them with \`apt-get install -y docker.io docker-registry\``);
  }
}

/** Pings every 100 ms, at most `tries` times, until the child answers; false once it has exited. */
async function startedAnswering(child, ping, tries) {
  for (let i = 0; i < tries; i++) {
    if (await ping()) return true;
    if (child.exitCode !== null) return false;
    await sleep(100);
  }
  return false;
}

async function startEngine() {
  if (await pingSocket(SOCKET)) return { socket: SOCKET, started: false };
  requireTools();
  fs.mkdirSync(RUN, { recursive: true });
  fs.mkdirSync(ROOT, { recursive: true });
  const log = fs.openSync(path.join(ROOT, 'dockerd.log'), 'a');
  const dockerd = fs.existsSync('/usr/sbin/dockerd') ? '/usr/sbin/dockerd' : 'dockerd';
  const child = spawn(
    dockerd,
    [
      '--host', `unix://${SOCKET}`,
      '--data-root', path.join(ROOT, 'data'),
      '--exec-root', path.join(RUN, 'exec'),
      '--pidfile', path.join(RUN, 'dockerd.pid'),
      '--insecure-registry', '127.0.0.0/8',
    ],
    { detached: true, stdio: ['ignore', log, log] },
  );
  child.unref();
  if (await startedAnswering(child, () => pingSocket(SOCKET), 150)) return { socket: SOCKET, started: true, pid: child.pid };
  throw new Error(`dockerd did not start; see ${path.join(ROOT, 'dockerd.log')}`);
}

async function startRegistry(dir = path.join(ROOT, 'registry'), port = DEFAULT_REGISTRY_PORT) {
  const addr = `127.0.0.1:${port}`;
  if (await pingRegistry(addr)) return { addr, started: false };
  requireTools();
  if (!(await portFree(port))) throw new Error(`port ${port} is taken by something that is not a registry`);
  fs.mkdirSync(dir, { recursive: true });
  const config = path.join(dir, 'config.yml');
  fs.writeFileSync(
    config,
    [
      'version: 0.1',
      'log:',
      '  level: warn',
      '  accesslog:',
      '    disabled: true',
      'storage:',
      '  filesystem:',
      `    rootdirectory: ${path.join(dir, 'data')}`,
      '  delete:',
      '    enabled: true',
      'http:',
      `  addr: ${addr}`,
      '',
    ].join('\n'),
  );
  const log = fs.openSync(path.join(dir, 'registry.log'), 'a');
  const child = spawn('docker-registry', ['serve', config], { detached: true, stdio: ['ignore', log, log] });
  child.unref();
  fs.writeFileSync(path.join(dir, 'registry.pid'), String(child.pid));
  if (await startedAnswering(child, () => pingRegistry(addr), 100)) return { addr, started: true, pid: child.pid };
  throw new Error(`the registry did not start on ${addr}; see ${path.join(dir, 'registry.log')}`);
}

function killPidFile(file) {
  try {
    const pid = Number(fs.readFileSync(file, 'utf8').trim());
    if (pid) process.kill(pid, 'SIGTERM');
    return pid;
  } catch {
    return undefined;
  }
}

async function stopRegistry(dir = path.join(ROOT, 'registry')) {
  killPidFile(path.join(dir, 'registry.pid'));
}

async function stopEngine() {
  const pid = killPidFile(path.join(RUN, 'dockerd.pid'));
  for (let i = 0; pid && i < 100; i++) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    await sleep(100);
  }
}

async function start(opts = {}) {
  const engine = await startEngine();
  const registry = await startRegistry(undefined, opts.registryPort ?? DEFAULT_REGISTRY_PORT);
  return { dockerHost: `unix://${engine.socket}`, registry: registry.addr, startedEngine: engine.started, startedRegistry: registry.started };
}

module.exports = { start, startEngine, startRegistry, stopEngine, stopRegistry, pingSocket, pingRegistry, SOCKET, ROOT };

if (require.main === module) {
  const [cmd, ...rest] = process.argv.slice(2);
  (async () => {
    if (cmd === 'start') {
      const i = rest.indexOf('--registry-port');
      const r = await start({ registryPort: i >= 0 ? Number(rest[i + 1]) : undefined });
      process.stdout.write(`export DOCKER_HOST=${r.dockerHost}\nexport SOUS_DOCKER_REGISTRY_HOST=${r.registry}\n`);
    } else if (cmd === 'stop') {
      await stopRegistry();
      await stopEngine();
    } else if (cmd === 'env') {
      process.stdout.write(`export DOCKER_HOST=unix://${SOCKET}\nexport SOUS_DOCKER_REGISTRY_HOST=127.0.0.1:${DEFAULT_REGISTRY_PORT}\n`);
    } else if (cmd === 'registry') {
      const r = await startRegistry(rest[0], Number(rest[1]));
      process.stdout.write(`${r.addr}\n`);
    } else {
      process.stderr.write('usage: local-engine.js start|stop|env|registry DIR PORT\n');
      process.exit(2);
    }
  })().catch((e) => {
    process.stderr.write(`local-engine: ${e.message}\n`);
    process.exit(1);
  });
}
