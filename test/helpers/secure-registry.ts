/**
 * Registries as companies run them, for the credential, token and TLS tests:
 * Debian's docker-registry (the CNCF distribution registry) with
 * `auth: htpasswd` (bcrypt, written with bcryptjs) or `auth: token` (its
 * realm a small token issuer here, signing JWTs with a key whose certificate
 * the registry's rootcertbundle trusts), behind TLS from a CA made with
 * openssl for the run. Also: a CONNECT proxy (that can refuse), and a
 * docker-credential-<name> helper script.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import * as net from 'node:net';
import * as path from 'node:path';

// The PKI and the registry process are plain JavaScript, shared with the benchmarks.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const shared = require('./secure-registries.js') as {
  makePki(dir: string, cn?: string, ips?: string[]): Pki;
  htpasswd(users: Record<string, string>): string;
  startSecureRegistry(dir: string, pki: Pki | undefined, auth: RegistryAuthConfig, host?: string, opts?: { clientCa?: string; clientCert?: { cert: string; key: string } }): Promise<SecureRegistry>;
  makeClientCert(pki: Pki, dir: string): { cert: string; key: string };
  openssl(args: string[], cwd: string): void;
};
export const { makePki, makeClientCert, htpasswd, startSecureRegistry } = shared;
const { openssl } = shared;

/** A CA and a server certificate it signed (for 127.0.0.1, localhost and registry.sous.test), as PEM files. */
export interface Pki {
  dir: string;
  caFile: string;
  caPem: string;
  certFile: string;
  keyFile: string;
}

export interface SecureRegistry {
  /** host:PORT */
  addr: string;
  port: number;
  dir: string;
  log: string;
  stop(): Promise<void>;
}

export type RegistryAuthConfig = { htpasswd: Record<string, string> } | { token: { realm: string; service: string; issuer: string; rootcertbundle: string } };

/** What a token request asked for and what it got. */
export interface TokenRequest {
  method: string;
  user?: string;
  grant?: string;
  scopes: string[];
  granted: { type: string; name: string; actions: string[] }[];
  status: number;
}

export interface TokenIssuer {
  realm: string;
  service: string;
  issuer: string;
  /** The certificate of the signing key: the registry's rootcertbundle. */
  certFile: string;
  requests: TokenRequest[];
  /** Every token handed out (to grep output for). */
  issued: string[];
  /** Refresh tokens that the OAuth2 form accepts, by user. */
  refreshTokens: Map<string, string>;
  /** Answer every request with this status (a token service that refuses). */
  refuseWith?: number;
  /** Tokens live this many seconds. */
  expiresIn: number;
  /** Sign the next N tokens for another audience: the registry refuses them, as it would an expired one. */
  spoilNext: number;
  close(): Promise<void>;
}

function b64url(b: Buffer | string): string {
  return Buffer.from(b).toString('base64url');
}

/**
 * A token service as Docker's token spec describes it: GET with Basic auth
 * (or anonymous), POST with the OAuth2 password or refresh_token grant. What
 * it grants: `policy(user, repository, actions)`; by default each user may
 * push and pull under `<user>/` and `acme/`, and anyone may pull `public/`.
 */
export async function startTokenIssuer(dir: string, pki: Pki | undefined, users: Record<string, string>, policy?: (user: string | undefined, repo: string, actions: string[]) => string[], host = '127.0.0.1'): Promise<TokenIssuer> {
  fs.mkdirSync(dir, { recursive: true });
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'token.key', '-out', 'token.crt', '-days', '2', '-subj', '/CN=sous test token signer'], dir);
  const key = crypto.createPrivateKey(fs.readFileSync(path.join(dir, 'token.key')));
  const certDer = new crypto.X509Certificate(fs.readFileSync(path.join(dir, 'token.crt'))).raw;
  const allow =
    policy ??
    ((user, repo, actions) => {
      if (!user) return repo.startsWith('public/') ? actions.filter((a) => a === 'pull') : [];
      return repo.startsWith(`${user}/`) || repo.startsWith('acme/') || repo.startsWith('public/') ? actions : [];
    });
  const state = { refuseWith: undefined as number | undefined, expiresIn: 300, spoilNext: 0 };
  const requests: TokenRequest[] = [];
  const issued: string[] = [];
  const refreshTokens = new Map<string, string>();
  const service = 'sous-test-registry';
  const issuer = 'sous-test-issuer';

  const sign = (sub: string | undefined, access: TokenRequest['granted']): string => {
    const now = Math.floor(Date.now() / 1000);
    const audience = state.spoilNext > 0 ? (state.spoilNext--, 'someone-else') : service;
    const header = { typ: 'JWT', alg: 'RS256', x5c: [certDer.toString('base64')] };
    const claims = { iss: issuer, sub: sub ?? '', aud: audience, exp: now + state.expiresIn, nbf: now - 1, iat: now, jti: crypto.randomUUID(), access };
    const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
    const sig = crypto.sign('sha256', Buffer.from(input), key);
    return `${input}.${b64url(sig)}`;
  };

  const handler = (req: http.IncomingMessage, res: http.ServerResponse) => {
    let body = '';
    req.setEncoding('utf8').on('data', (d: string) => (body += d));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'https://x');
      const rec: TokenRequest = { method: req.method ?? 'GET', scopes: [], granted: [], status: 200 };
      requests.push(rec);
      const answer = (status: number, json: unknown) => {
        rec.status = status;
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(json));
      };
      if (state.refuseWith) return answer(state.refuseWith, { errors: [{ code: 'UNAVAILABLE', message: 'the token service is down for maintenance' }] });
      let user: string | undefined;
      let scopes: string[];
      let offline = false;
      if (req.method === 'POST') {
        const form = new URLSearchParams(body);
        rec.grant = form.get('grant_type') ?? '';
        scopes = (form.get('scope') ?? '').split(' ').filter(Boolean);
        if (rec.grant === 'refresh_token') {
          user = [...refreshTokens].find(([, t]) => t === form.get('refresh_token'))?.[0];
          if (!user) return answer(401, { error: 'invalid_grant' });
        } else if (rec.grant === 'password') {
          user = form.get('username') ?? '';
          if (users[user] === undefined || users[user] !== form.get('password')) return answer(401, { error: 'invalid_grant' });
        } else return answer(400, { error: 'unsupported_grant_type' });
        offline = form.get('access_type') === 'offline';
      } else {
        scopes = url.searchParams.getAll('scope').flatMap((s) => s.split(' ')).filter(Boolean);
        const h = req.headers.authorization ?? '';
        if (h.startsWith('Basic ')) {
          const plain = Buffer.from(h.slice(6), 'base64').toString('utf8');
          const i = plain.indexOf(':');
          user = plain.slice(0, i);
          if (users[user] === undefined || users[user] !== plain.slice(i + 1)) return answer(401, { errors: [{ code: 'UNAUTHORIZED', message: 'incorrect username or password' }] });
        }
        offline = url.searchParams.get('offline_token') === 'true';
      }
      rec.user = user;
      rec.scopes = scopes;
      for (const s of scopes) {
        const m = /^repository:(.+):([^:]+)$/.exec(s);
        if (!m) continue;
        const actions = allow(user, m[1], m[2].split(','));
        if (actions.length) rec.granted.push({ type: 'repository', name: m[1], actions });
      }
      const token = sign(user, rec.granted);
      issued.push(token);
      const out: Record<string, unknown> = { token, access_token: token, expires_in: state.expiresIn, issued_at: new Date().toISOString() };
      if (offline && user) {
        const refresh = refreshTokens.get(user) ?? `refresh-${crypto.randomBytes(16).toString('hex')}`;
        refreshTokens.set(user, refresh);
        out.refresh_token = refresh;
      }
      answer(200, out);
    });
  };
  // Without a PKI, plain HTTP (for an engine whose builder speaks only HTTP to loopback registries).
  const server = pki ? https.createServer({ key: fs.readFileSync(pki.keyFile), cert: fs.readFileSync(pki.certFile) }, handler) : http.createServer(handler);
  await new Promise<void>((r) => server.listen(0, host, () => r()));
  const port = (server.address() as net.AddressInfo).port;
  return {
    realm: `${pki ? 'https' : 'http'}://${host}:${port}/token`,
    service,
    issuer,
    certFile: path.join(dir, 'token.crt'),
    requests,
    issued,
    refreshTokens,
    get refuseWith() {
      return state.refuseWith;
    },
    set refuseWith(v) {
      state.refuseWith = v;
    },
    get expiresIn() {
      return state.expiresIn;
    },
    set expiresIn(v) {
      state.expiresIn = v;
    },
    get spoilNext() {
      return state.spoilNext;
    },
    set spoilNext(v) {
      state.spoilNext = v;
    },
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}

export interface TestProxy {
  /** http://127.0.0.1:PORT */
  url: string;
  /** host:port of every tunnel asked for. */
  tunnels: string[];
  /** Answer CONNECT with this status instead of tunnelling. */
  refuseWith?: number;
  close(): Promise<void>;
}

/**
 * An HTTP proxy (CONNECT tunnels, as corporate proxies serve HTTPS). Names
 * in `hosts` resolve to 127.0.0.1 here and nowhere else: a request for one
 * that arrives proved it came through the proxy.
 */
export async function startProxy(hosts: string[] = ['registry.sous.test', 'hooks.sous.test', 'singularity.sous.test']): Promise<TestProxy> {
  const tunnels: string[] = [];
  const state = { refuseWith: undefined as number | undefined };
  const server = http.createServer((req, res) => {
    // Plain http through the proxy: an absolute URI.
    tunnels.push(req.url ?? '');
    const u = new URL(req.url ?? '');
    const host = hosts.includes(u.hostname) ? '127.0.0.1' : u.hostname;
    const up = http.request({ host, port: u.port || 80, method: req.method, path: `${u.pathname}${u.search}`, headers: req.headers }, (ur) => {
      res.writeHead(ur.statusCode ?? 502, ur.headers);
      ur.pipe(res);
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  server.on('connect', (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
    tunnels.push(req.url ?? '');
    if (state.refuseWith) {
      socket.end(`HTTP/1.1 ${state.refuseWith} Forbidden\r\ncontent-length: 0\r\n\r\n`);
      return;
    }
    const [h, p] = (req.url ?? '').split(':');
    const up = net.connect(Number(p), hosts.includes(h) ? '127.0.0.1' : h, () => {
      socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      up.write(head);
      up.pipe(socket);
      socket.pipe(up);
    });
    up.on('error', () => socket.destroy());
    socket.on('error', () => up.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    tunnels,
    get refuseWith() {
      return state.refuseWith;
    },
    set refuseWith(v) {
      state.refuseWith = v;
    },
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}

/**
 * Writes `docker-credential-<name>` into `bin`: it speaks the helper protocol
 * (get, store, erase; the server URL or a JSON credential on stdin) over a
 * JSON file of ServerURL → {Username, Secret}, and logs each call.
 */
export function credentialHelper(bin: string, name: string, store: Record<string, { Username: string; Secret: string }> = {}): { file: string; calls: string } {
  fs.mkdirSync(bin, { recursive: true });
  const file = path.join(bin, `${name}-store.json`);
  const calls = path.join(bin, `${name}-calls.log`);
  fs.writeFileSync(file, JSON.stringify(store));
  const js = `
const fs = require('fs');
const [file, calls, action] = process.argv.slice(2);
let input = '';
process.stdin.setEncoding('utf8').on('data', (d) => (input += d)).on('end', () => {
  const db = JSON.parse(fs.readFileSync(file, 'utf8'));
  fs.appendFileSync(calls, action + '\\n');
  if (action === 'get') {
    const c = db[input.trim()];
    if (!c) { process.stdout.write('credentials not found in native keychain\\n'); process.exit(1); }
    process.stdout.write(JSON.stringify({ ServerURL: input.trim(), ...c }));
  } else if (action === 'store') {
    const c = JSON.parse(input);
    db[c.ServerURL] = { Username: c.Username, Secret: c.Secret };
    fs.writeFileSync(file, JSON.stringify(db));
  } else if (action === 'erase') {
    if (!db[input.trim()]) { process.stdout.write('credentials not found in native keychain\\n'); process.exit(1); }
    delete db[input.trim()];
    fs.writeFileSync(file, JSON.stringify(db));
  } else { process.stderr.write('unknown action ' + action + '\\n'); process.exit(2); }
});`;
  fs.writeFileSync(path.join(bin, `${name}-helper.js`), js);
  fs.writeFileSync(path.join(bin, `docker-credential-${name}`), `#!/bin/sh\nexec "${process.execPath}" "${path.join(bin, `${name}-helper.js`)}" "${file}" "${calls}" "$1"\n`, { mode: 0o755 });
  return { file, calls };
}
