/**
 * Registries behind TLS and a login, for the tests and the benchmarks:
 * a CA and a server certificate made with openssl for the run, htpasswd
 * lines (bcrypt, written with bcryptjs, as `htpasswd -B` writes them), and
 * Debian's docker-registry serving with `auth: htpasswd` or `auth: token`.
 * Each registry is stopped by its pid. Plain JavaScript, so the benchmarks
 * can use it too.
 */
'use strict';
const fs = require('node:fs');
const http = require('node:http');
const https = require('node:https');
const net = require('node:net');
const path = require('node:path');
const { execFileSync, spawn } = require('node:child_process');

function openssl(args, cwd) {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** A CA, and a server certificate it signed for 127.0.0.1, localhost, registry.sous.test and `ips`. */
function makePki(dir, cn = 'Sous test CA', ips = []) {
  fs.mkdirSync(dir, { recursive: true });
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', `/CN=${cn}`], dir);
  openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=registry.sous.test'], dir);
  fs.writeFileSync(path.join(dir, 'san.ext'), `subjectAltName=${['127.0.0.1', ...ips].map((ip) => `IP:${ip}`).join(',')},DNS:localhost,DNS:registry.sous.test\n`);
  openssl(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.crt', '-days', '2', '-extfile', 'san.ext'], dir);
  return { dir, caFile: path.join(dir, 'ca.crt'), caPem: fs.readFileSync(path.join(dir, 'ca.crt'), 'utf8'), certFile: path.join(dir, 'server.crt'), keyFile: path.join(dir, 'server.key') };
}

/** A client certificate the CA signed (for a registry that wants one: `clientcas`). */
function makeClientCert(pki, dir) {
  fs.mkdirSync(dir, { recursive: true });
  openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'client.key', '-out', 'client.csr', '-subj', '/CN=sous test client'], dir);
  openssl(['x509', '-req', '-in', 'client.csr', '-CA', pki.caFile, '-CAkey', path.join(pki.dir, 'ca.key'), '-CAcreateserial', '-out', 'client.cert', '-days', '2'], dir);
  return { cert: path.join(dir, 'client.cert'), key: path.join(dir, 'client.key') };
}

/** `user:bcrypt` lines. */
function htpasswd(users) {
  const bcrypt = require('bcryptjs');
  return `${Object.entries(users)
    .map(([u, p]) => `${u}:${bcrypt.hashSync(p, 5)}`)
    .join('\n')}\n`;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function answers(url, ca, client) {
  return new Promise((resolve) => {
    const tlsOpts = client ? { cert: fs.readFileSync(client.cert), key: fs.readFileSync(client.key) } : {};
    const req = (url.startsWith('https:') ? https : http).get(url, { ca, timeout: 1000, ...tlsOpts }, (res) => {
      res.resume();
      resolve(res.statusCode === 401 || res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => {
      req.destroy();
      resolve(false);
    });
  });
}

async function waitGone(pid) {
  for (let i = 0; i < 100; i++) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Starts docker-registry on a free port of `host` with TLS from `pki` (plain
 * HTTP without one) and `auth`: `{ htpasswd: { user: password } }` or
 * `{ token: { realm, service, issuer, rootcertbundle } }`. With
 * `opts.clientCa` it also wants a client certificate (`opts.clientCert`
 * is used to see that it answers).
 */
async function startSecureRegistry(dir, pki, auth, host = '127.0.0.1', opts = {}) {
  fs.mkdirSync(dir, { recursive: true });
  const port = await freePort();
  const addr = `${host}:${port}`;
  const lines = ['version: 0.1', 'log:', '  level: warn', '  accesslog:', '    disabled: true', 'storage:', '  filesystem:', `    rootdirectory: ${path.join(dir, 'data')}`, '  delete:', '    enabled: true', 'http:', `  addr: ${addr}`];
  if (pki) lines.push('  tls:', `    certificate: ${pki.certFile}`, `    key: ${pki.keyFile}`);
  // With clientcas, the registry refuses a TLS connection without a client certificate that CA signed.
  if (pki && opts.clientCa) lines.push('    clientcas:', `      - ${opts.clientCa}`);
  lines.push('auth:');
  if (auth.htpasswd) {
    fs.writeFileSync(path.join(dir, 'htpasswd'), htpasswd(auth.htpasswd));
    lines.push('  htpasswd:', '    realm: sous-test', `    path: ${path.join(dir, 'htpasswd')}`);
  } else {
    const t = auth.token;
    lines.push('  token:', `    realm: ${t.realm}`, `    service: ${t.service}`, `    issuer: ${t.issuer}`, `    rootcertbundle: ${t.rootcertbundle}`);
  }
  fs.writeFileSync(path.join(dir, 'config.yml'), `${lines.join('\n')}\n`);
  const log = path.join(dir, 'registry.log');
  const fd = fs.openSync(log, 'a');
  const child = spawn('docker-registry', ['serve', path.join(dir, 'config.yml')], { detached: true, stdio: ['ignore', fd, fd] });
  child.unref();
  fs.closeSync(fd);
  const pid = child.pid;
  for (let i = 0; i < 100; i++) {
    if (await answers(`${pki ? 'https' : 'http'}://${addr}/v2/`, pki && pki.caPem, opts.clientCert)) {
      return {
        addr,
        port,
        dir,
        log,
        stop: async () => {
          try {
            process.kill(pid, 'SIGTERM');
          } catch {
            return;
          }
          await waitGone(pid);
        },
      };
    }
    if (child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`the registry did not start on ${addr}: ${fs.readFileSync(log, 'utf8').slice(-2000)}`);
}

module.exports = { makePki, makeClientCert, htpasswd, startSecureRegistry, openssl };
