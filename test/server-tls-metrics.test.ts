/**
 * The server over HTTPS (--tls-cert/--tls-key, read again on SIGHUP), the
 * warning when it listens beyond loopback over plain HTTP, and the metrics
 * a Prometheus server scrapes (--metrics-listen without authentication, the
 * main listener's /metrics with a read token). Certificates are made for the
 * test by openssl: a CA, and two server certificates for 127.0.0.1.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as https from 'node:https';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tls from 'node:tls';
import { makeSousEnv, requireBuilt, sous, sousSync, type SousEnv } from './helpers/sous';
import { api, realArtifact, startServer, type RunningServer } from './helpers/server';

jest.setTimeout(120_000);

let dir: string;
let e: SousEnv;
let srv: RunningServer;
let metricsURL: string;

function openssl(...args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
}

/** A P-256 key and a certificate for 127.0.0.1 signed by the test CA; CN names it. */
function serverCert(name: string): { cert: string; key: string } {
  openssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`);
  fs.writeFileSync(path.join(dir, `${name}.ext`), 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n');
  openssl('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.crt`, '-days', '2', '-extfile', `${name}.ext`);
  return { cert: path.join(dir, `${name}.crt`), key: path.join(dir, `${name}.key`) };
}

/** The common name of the certificate a new TLS connection is shown. */
function peerName(url: string): Promise<string> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: u.hostname, port: Number(u.port), ca: fs.readFileSync(path.join(dir, 'ca.crt')), servername: undefined }, () => {
      const cn = s.getPeerCertificate().subject.CN;
      s.end();
      resolve(Array.isArray(cn) ? cn[0] : cn);
    });
    s.on('error', reject);
  });
}

/** An HTTPS request that trusts the test CA. */
function get(url: string, opts: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = https.request(url, { method: opts.method ?? 'GET', headers: opts.headers, ca: fs.readFileSync(path.join(dir, 'ca.crt')) }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

async function waitFor(what: () => boolean, label: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (what()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${label}`);
}

beforeAll(async () => {
  requireBuilt();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sous-tls-'));
  openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=Sous Test CA');
  const one = serverCert('sous-one');
  serverCert('sous-two');
  fs.copyFileSync(one.cert, path.join(dir, 'live.crt'));
  fs.copyFileSync(one.key, path.join(dir, 'live.key'));
  e = makeSousEnv(path.join(dir, 'sous'));
  // A notifier whose receiver never answers: its deliveries wait in the outbox, which the metrics count.
  fs.mkdirSync(path.join(e.config, 'sous'), { recursive: true });
  fs.writeFileSync(path.join(e.config, 'sous', 'config.yaml'), 'notifiers:\n  - type: webhook\n    name: ops-hook\n    url: http://127.0.0.1:9/hook\n    secret: 0123456789abcdef0123456789abcdef\n    events: ["deploy.*"]\n    retry: { attempts: 50, minDelayMs: 60000, maxDelayMs: 60000 }\n');
  expect(sousSync(e, ['cluster', 'add', '--name', 'mem', '--kind', 'memory']).code).toBe(0);
  expect(sousSync(e, ['init', '--kind', 'http-service', '--repo', 'github.com/acme/shop']).code).toBe(0);
  srv = await startServer(e, ['--autoresolver', '--resync', '1h', '--tls-cert', path.join(dir, 'live.crt'), '--tls-key', path.join(dir, 'live.key'), '--metrics-listen', '127.0.0.1:0']);
  await waitFor(() => /metrics on http:\/\/127\.0\.0\.1:\d+\/metrics/.test(srv.log()), 'the metrics listener');
  metricsURL = /metrics on (http:\/\/127\.0\.0\.1:\d+\/metrics)/.exec(srv.log())![1];
});

afterAll(async () => {
  if (srv) expect(await srv.stop()).toBe(0);
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('HTTPS', () => {
  it('serves the API over TLS to a client that trusts the certificate, and to no other', async () => {
    expect(srv.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(srv.log()).toContain('HTTPS with CN=sous-one');
    expect(srv.log()).not.toContain('plain HTTP');
    const env = { SOUS_SERVER: srv.url, SOUS_TOKEN: srv.tokens.read };
    const trusted = await sous(e, ['status', '--json'], { env: { ...env, NODE_EXTRA_CA_CERTS: path.join(dir, 'ca.crt') } });
    expect(trusted.code).toBe(0);
    expect(trusted.json.deployments[0].deploymentID).toBe('mem:github.com/acme/shop');
    const untrusted = await sous(e, ['status', '--json'], { env });
    expect([untrusted.code, untrusted.json.error.code]).toEqual([1, 'SERVER_UNREACHABLE']);
  });

  it('makes the session cookie Secure', async () => {
    const r = await get(srv.url + '/login', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `token=${srv.tokens.read}` });
    expect(r.status).toBe(303);
    expect(String(r.headers['set-cookie'])).toMatch(/^sous_session=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Strict; Max-Age=\d+; Secure$/);
  });

  it('reads the certificate and key again on SIGHUP; a pair that does not load is refused and the one in use stays', async () => {
    expect(await peerName(srv.url)).toBe('sous-one');
    fs.copyFileSync(path.join(dir, 'sous-two.crt'), path.join(dir, 'live.crt'));
    fs.copyFileSync(path.join(dir, 'sous-two.key'), path.join(dir, 'live.key'));
    srv.child.kill('SIGHUP');
    await waitFor(() => srv.log().includes('reloaded the TLS certificate: CN=sous-two'), 'the reload');
    expect(await peerName(srv.url)).toBe('sous-two');
    // A key that is not the certificate's: refused, the server keeps serving the last good pair.
    fs.copyFileSync(path.join(dir, 'sous-one.key'), path.join(dir, 'live.key'));
    srv.child.kill('SIGHUP');
    await waitFor(() => srv.log().includes('TLS reload refused'), 'the refusal');
    expect(srv.log()).toMatch(/TLS reload refused, the certificate in use stays: .*is not the key of the certificate/);
    expect(await peerName(srv.url)).toBe('sous-two');
    expect((await get(srv.url + '/health')).status).toBe(200);
  });

  it('warns at start when it listens beyond loopback over plain HTTP', async () => {
    const e2 = makeSousEnv(path.join(dir, 'wide'));
    expect(sousSync(e2, ['cluster', 'add', '--name', 'mem', '--kind', 'memory']).code).toBe(0);
    const wide = await startServer(e2, ['--listen', '0.0.0.0:0']);
    try {
      expect(wide.log()).toMatch(/Warning: listening on 0\.0\.0\.0 over plain HTTP: bearer tokens and session cookies cross the network in the clear/);
    } finally {
      expect(await wide.stop()).toBe(0);
    }
    expect(srv.log()).not.toContain('Warning: listening');
  });
});

describe('metrics', () => {
  it('serves /metrics without authentication on --metrics-listen, and only that', async () => {
    const artifact = await realArtifact('github.com/acme/shop', '1.0.0');
    expect((await api(srv.url.replace('https:', 'http:'), srv.tokens.deploy, 'GET', '/health').catch(() => ({ status: 0 }))).status).toBe(0);
    const put = await get(`${srv.url}/artifact?repo=github.com/acme/shop&version=1.0.0`, { method: 'PUT', headers: { authorization: `Bearer ${srv.tokens.deploy}`, 'content-type': 'application/json', 'if-none-match': '*' }, body: JSON.stringify(artifact) });
    expect(put.status).toBe(201);
    const d = await sous(e, ['deploy', '--cluster', 'mem', '--tag', '1.0.0', '--repo', 'github.com/acme/shop', '--json'], { env: { SOUS_SERVER: srv.url, SOUS_TOKEN: srv.tokens.deploy, NODE_EXTRA_CA_CERTS: path.join(dir, 'ca.crt') } });
    expect(d.code).toBe(0);
    await waitFor(() => fs.existsSync(path.join(e.home, 'data', 'sous', 'outbox')), 'the outbox');

    const r = await fetch(metricsURL);
    expect([r.status, r.headers.get('content-type')]).toEqual([200, 'text/plain; version=0.0.4; charset=utf-8']);
    const text = await r.text();
    // The process itself.
    expect(text).toMatch(/^process_cpu_user_seconds_total \d/m);
    expect(text).toMatch(/^nodejs_heap_size_used_bytes \d/m);
    // Requests by route, method and status.
    expect(text).toMatch(/^sous_http_request_duration_seconds_count\{route="\/single-deployment",method="PUT",status="201"\} 1$/m);
    expect(text).toMatch(/^sous_http_request_duration_seconds_bucket\{le="0\.5",route="\/artifact",method="PUT",status="201"\} 1$/m);
    // The deploy, by outcome; the last clean pass of the cluster.
    expect(text).toMatch(/^sous_deploy_duration_seconds_count\{outcome="live",cluster="mem"\} 1$/m);
    const last = Number(/^sous_rectify_last_success_timestamp_seconds\{cluster="mem"\} (\S+)$/m.exec(text)?.[1]);
    expect(Math.abs(last - Date.now() / 1000)).toBeLessThan(60);
    // The deploy's notifications wait for a receiver that never answers.
    expect(Number(/^sous_outbox_depth\{notifier="[^"]+"\} (\d+)$/m.exec(text)?.[1])).toBeGreaterThanOrEqual(1);
    expect(text).toContain('# TYPE sous_build_duration_seconds histogram');
    expect(text).toContain('# TYPE sous_deploy_queue_depth gauge');

    expect((await fetch(metricsURL.replace('/metrics', '/gdm'))).status).toBe(404);
    expect((await fetch(metricsURL, { method: 'POST' })).status).toBe(404);
  });

  it('serves /metrics on the main listener only with a read token', async () => {
    expect((await get(srv.url + '/metrics')).status).toBe(401);
    const ok = await get(srv.url + '/metrics', { headers: { authorization: `Bearer ${srv.tokens.read}` } });
    expect(ok.status).toBe(200);
    expect(ok.body).toContain('sous_http_request_duration_seconds_bucket');
  });
});
