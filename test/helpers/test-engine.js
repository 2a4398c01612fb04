/**
 * A private Docker engine for one test file or benchmark: its own dockerd,
 * data root, socket and Linux bridge (with the engine's iptables handling
 * off, so it never touches the shared engine's rules; published ports go
 * through docker-proxy). Tests that restart an engine or turn on swarm mode
 * use one, so the shared engine that others use is never disturbed.
 * Plain JavaScript, so the benchmarks can use it too. With
 * SOUS_TEST_ENGINE_LOGS=DIR, each engine's log is kept there as dockerd-<name>.log.
 */
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { execFileSync, spawn } = require('node:child_process');

const DOCKER_CLI = fs.existsSync('/usr/bin/docker') ? '/usr/bin/docker' : 'docker';

/**
 * @typedef {object} TestEngine
 * @property {string} name
 * @property {string} address unix:///run/sous-test-<name>/docker.sock
 * @property {string} socket
 * @property {(args: string[], opts?: { input?: string, allowFail?: boolean }) => string} docker runs the docker CLI against this engine; returns stdout
 * @property {() => Promise<void>} stop stops dockerd (its containers stop with it) and waits until it is gone
 * @property {() => Promise<void>} start starts dockerd again on the same data
 * @property {(...labels: string[]) => void} removeLabelled force-removes every container carrying any of the labels (what a test's deployments left)
 * @property {() => void} swarmInit `docker swarm init` on 127.0.0.1 with this engine's own ports and gateway bridge
 * @property {() => Promise<void>} destroy stops dockerd and removes its data, bridges and directories
 */

// The same readiness check the shared engine uses.
const { pingSocket: ping } = require('../../scripts/local-engine.js');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function ip(...args) {
  execFileSync('ip', args, { stdio: 'ignore' });
}

function bridgeUp(name, cidr) {
  try {
    ip('link', 'del', name);
  } catch {
    // not there
  }
  ip('link', 'add', name, 'type', 'bridge');
  ip('addr', 'add', cidr, 'dev', name);
  ip('link', 'set', name, 'up');
}

/** dockerd leaves its data root (and anything left under it) mounted: unmount before removing. */
function unmountUnder(dir) {
  const mounts = fs
    .readFileSync('/proc/mounts', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[1])
    .filter((m) => m && (m === dir || m.startsWith(`${dir}/`)))
    .sort((a, b) => b.length - a.length);
  for (const m of mounts) {
    try {
      execFileSync('umount', ['-l', m], { stdio: 'ignore' });
    } catch {
      // already gone
    }
  }
}

function pidAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Starts a private engine. `index` (1..50) picks its subnets (10.231.<index>.0/24
 * for the bridge, 10.232.<index>.0/24 for swarm's gateway bridge) and swarm ports,
 * so test files running at once never share them.
 * @param {string} name 1-8 lowercase letters or digits
 * @param {number} index
 * @returns {Promise<TestEngine>}
 */
async function startTestEngine(name, index) {
  if (!/^[a-z0-9]{1,8}$/.test(name)) throw new Error(`test engine name ${name} must be 1-8 lowercase letters or digits`);
  const run = `/run/sous-test-${name}`;
  const root = `/var/lib/sous-test-engines/${name}`;
  const socket = path.join(run, 'docker.sock');
  const bridge = `sous-${name}`;
  const gwBridge = `sous-${name}-gw`.slice(0, 15);
  const pidfile = path.join(run, 'dockerd.pid');
  let pid;

  const cleanupStale = async () => {
    if (fs.existsSync(pidfile)) {
      const old = Number(fs.readFileSync(pidfile, 'utf8'));
      if (old && pidAlive(old)) {
        process.kill(old, 'SIGTERM');
        for (let i = 0; i < 300 && pidAlive(old); i++) await sleep(100);
      }
    }
    unmountUnder(run);
    unmountUnder(root);
    fs.rmSync(run, { recursive: true, force: true });
    fs.rmSync(root, { recursive: true, force: true });
  };

  const start = async () => {
    fs.mkdirSync(run, { recursive: true });
    fs.mkdirSync(root, { recursive: true });
    const log = fs.openSync(path.join(root, 'dockerd.log'), 'a');
    const child = spawn(
      '/usr/sbin/dockerd',
      ['--host', `unix://${socket}`, '--data-root', path.join(root, 'data'), '--exec-root', path.join(run, 'exec'), '--pidfile', pidfile, '--bridge', bridge, '--iptables=false', '--ip-masq=false', '--insecure-registry', '127.0.0.0/8'],
      { detached: true, stdio: ['ignore', log, log] },
    );
    child.unref();
    fs.closeSync(log);
    pid = child.pid;
    for (let i = 0; i < 200; i++) {
      if (await ping(socket)) return;
      if (child.exitCode !== null) break;
      await sleep(100);
    }
    throw new Error(`test engine ${name} did not start; see ${path.join(root, 'dockerd.log')}`);
  };

  const stop = async () => {
    const p = pid ?? (fs.existsSync(pidfile) ? Number(fs.readFileSync(pidfile, 'utf8')) : undefined);
    if (!p || !pidAlive(p)) return;
    process.kill(p, 'SIGTERM');
    for (let i = 0; i < 600 && pidAlive(p); i++) await sleep(100);
    pid = undefined;
  };

  const docker = (args, opts = {}) => {
    try {
      return execFileSync(DOCKER_CLI, ['-H', `unix://${socket}`, ...args], { encoding: 'utf8', input: opts.input ?? '', stdio: ['pipe', 'pipe', 'pipe'] }).trim();
    } catch (e) {
      if (opts.allowFail) return '';
      throw e;
    }
  };

  await cleanupStale();
  bridgeUp(bridge, `10.231.${index}.1/24`);
  await start();
  return {
    name,
    address: `unix://${socket}`,
    socket,
    docker,
    stop,
    start,
    removeLabelled(...labels) {
      const ids = [...new Set(labels.flatMap((l) => docker(['ps', '-aq', '--filter', `label=${l}`], { allowFail: true }).split('\n').filter(Boolean)))];
      if (ids.length) docker(['rm', '-f', ...ids], { allowFail: true });
    },
    swarmInit() {
      // Swarm's gateway bridge gets this engine's own Linux bridge name, so two engines in swarm mode never share one.
      docker(['network', 'create', '--subnet', `10.232.${index}.0/24`, '--opt', `com.docker.network.bridge.name=${gwBridge}`, '--opt', 'com.docker.network.bridge.enable_ip_masquerade=false', 'docker_gwbridge']);
      docker(['swarm', 'init', '--advertise-addr', '127.0.0.1', '--listen-addr', `127.0.0.1:${2400 + index}`, '--data-path-port', String(4800 + index)]);
    },
    async destroy() {
      docker(['swarm', 'leave', '--force'], { allowFail: true });
      await stop();
      if (process.env.SOUS_TEST_ENGINE_LOGS) fs.copyFileSync(path.join(root, 'dockerd.log'), path.join(process.env.SOUS_TEST_ENGINE_LOGS, `dockerd-${name}.log`));
      unmountUnder(run);
      unmountUnder(root);
      fs.rmSync(run, { recursive: true, force: true });
      fs.rmSync(root, { recursive: true, force: true });
      for (const b of [bridge, gwBridge]) {
        try {
          ip('link', 'del', b);
        } catch {
          // already gone
        }
      }
    },
  };
}

module.exports = { startTestEngine, DOCKER_CLI };
