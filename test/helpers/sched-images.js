/**
 * Small application images for the scheduler tests and benchmarks, built on
 * the shared engine from the local static busybox base and pushed to the
 * local registry (referenced by digest, as deploys are). Each answers on $PORT0:
 *   v1, v2, v3  busybox httpd serving /health (200) and / (its version)
 *   crash       prints a line to stderr and exits 3 at once
 *   sick        answers every request, /health included, with 500
 *   slow        like v1, but listens only 4 s after starting
 *   secret      like v1, and serves its $DB_PASSWORD at /secret
 *   chatty      like v1, and writes a line to stdout (tick N) and stderr (tock N) every 0.2 s
 * Plain JavaScript, so the benchmarks can use it too.
 */
'use strict';
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const { DOCKER_CLI } = require('./test-engine');

/**
 * @typedef {object} AppImage
 * @property {string} image registry/name, as an artifact record's Image
 * @property {string} digest
 * @property {string} ref image@digest
 */

const BASE = 'sous-local/busybox:latest';

function httpd(version, delay = 0) {
  return [
    `FROM ${BASE}`,
    `RUN mkdir -p /www && echo ok > /www/health && echo 'app ${version}' > /www/index.html`,
    `LABEL dev.sous.test-app=${version}`,
    `CMD ["sh", "-c", "${delay ? `sleep ${delay}; ` : ''}exec httpd -f -p $PORT0 -h /www"]`,
  ].join('\n');
}

const RECIPES = {
  // Serves its DB_PASSWORD at /secret, to see a secret arrive in the process's environment.
  secret: [
    `FROM ${BASE}`,
    'LABEL dev.sous.test-app=secret',
    `CMD ["sh", "-c", "mkdir -p /www && echo ok > /www/health && printf '%s' \\"$DB_PASSWORD\\" > /www/secret && exec httpd -f -p $PORT0 -h /www"]`,
  ].join('\n'),
  v1: httpd('1.0.0'),
  v2: httpd('2.0.0'),
  v3: httpd('3.0.0'),
  slow: httpd('slow', 4),
  chatty: [
    `FROM ${BASE}`,
    "RUN mkdir -p /www && echo ok > /www/health && echo 'app chatty' > /www/index.html",
    'LABEL dev.sous.test-app=chatty',
    'CMD ["sh", "-c", "echo app chatty started; (i=0; while true; do i=$((i+1)); echo tick $i; echo tock $i >&2; sleep 0.2; done) & exec httpd -f -p $PORT0 -h /www"]',
  ].join('\n'),
  crash: [`FROM ${BASE}`, 'LABEL dev.sous.test-app=crash', 'CMD ["sh", "-c", "echo \'boom: the app cannot start\' >&2; exit 3"]'].join('\n'),
  sick: [
    `FROM ${BASE}`,
    'LABEL dev.sous.test-app=sick',
    // JSON needs \\r\\n here so that the shell's printf sees \r\n.
    `CMD ["sh", "-c", "while true; do printf 'HTTP/1.0 500 Internal Server Error\\\\r\\\\nContent-Length: 5\\\\r\\\\n\\\\r\\\\nsick\\\\n' | nc -l -p $PORT0 >/dev/null; done"]`,
  ].join('\n'),
};

function docker(args, input) {
  const host = process.env.SOUS_TEST_DOCKER_HOST ?? process.env.DOCKER_HOST ?? 'unix:///run/sous-engine/docker.sock';
  return execFileSync(DOCKER_CLI, ['-H', host, ...args], { encoding: 'utf8', input: input ?? '', stdio: ['pipe', 'pipe', 'pipe'], maxBuffer: 16 << 20 }).trim();
}

let baseReady = false;
function ensureBase() {
  if (baseReady) return;
  require(path.resolve(__dirname, '../../scripts/base-images.js')).ensure(['busybox'], { log: () => undefined });
  baseReady = true;
}

const cache = new Map();

/**
 * Builds (cached by the engine) and pushes one app image.
 * @param {'v1'|'v2'|'v3'|'crash'|'sick'|'slow'|'secret'|'chatty'} name
 * @param {string} [repo] its repository in the registry
 * @returns {AppImage}
 */
function appImage(name, repo = 'sous-test/sched-app') {
  const registry = process.env.SOUS_TEST_REGISTRY ?? '127.0.0.1:5000';
  const image = `${registry}/${repo}`;
  const key = `${image}:${name}`;
  const have = cache.get(key);
  if (have) return have;
  ensureBase();
  docker(['build', '-q', '-t', key, '-'], RECIPES[name]);
  const out = docker(['push', key]);
  const m = /digest: (sha256:[a-f0-9]{64})/.exec(out);
  if (!m) throw new Error(`push of ${key} printed no digest:\n${out}`);
  const img = { image, digest: m[1], ref: `${image}@${m[1]}` };
  cache.set(key, img);
  return img;
}

module.exports = { appImage };
