import * as http from 'node:http';
import * as https from 'node:https';
import { sleep, type Startup } from '@sous/core';

/** Readiness settings from a deployment's (expanded) Startup, in milliseconds. */
export interface Readiness {
  /** false: running (through a settle period) is enough. */
  http: boolean;
  /** SkipCheck: running at all is enough, without a settle period. */
  skip: boolean;
  protocol: 'http' | 'https';
  path: string;
  portIndex: number;
  connectDelayMs: number;
  /** From the start of probing: not ready by then is a failure. */
  startupTimeoutMs: number;
  /** Between probes that reached the instance but were not answered 2xx. */
  intervalMs: number;
  /** Between probes that could not connect. */
  connectIntervalMs: number;
  uriTimeoutMs: number;
  failureStatuses: number[];
  /** Probes to try at most; 0 = until the startup timeout. */
  retries: number;
}

const DEFAULT_TIMEOUT_S = 60;
const DEFAULT_INTERVAL_MS = 500;
const DEFAULT_URI_TIMEOUT_S = 5;

/** Readiness for a deployment: HTTP(S) for http-service unless SkipCheck, else running is enough. */
export function readinessFor(kind: string, startup: Startup | undefined, ports: number): Readiness {
  const st = startup ?? {};
  const s = (v: number | undefined, dflt: number) => (v && v > 0 ? v * 1000 : dflt);
  const path = st.CheckReadyURIPath || '/health';
  return {
    http: kind === 'http-service' && !st.SkipCheck && ports > 0,
    skip: Boolean(st.SkipCheck),
    protocol: (st.CheckReadyProtocol ?? 'HTTP').toLowerCase() === 'https' ? 'https' : 'http',
    path: path.startsWith('/') ? path : `/${path}`,
    portIndex: Math.min(st.CheckReadyPortIndex ?? 0, Math.max(0, ports - 1)),
    connectDelayMs: s(st.ConnectDelay, 0),
    startupTimeoutMs: s(st.Timeout, DEFAULT_TIMEOUT_S * 1000),
    intervalMs: s(st.CheckReadyInterval, DEFAULT_INTERVAL_MS),
    connectIntervalMs: s(st.ConnectInterval, DEFAULT_INTERVAL_MS),
    uriTimeoutMs: s(st.CheckReadyURITimeout, DEFAULT_URI_TIMEOUT_S * 1000),
    failureStatuses: st.CheckReadyFailureStatuses ?? [],
    retries: st.CheckReadyRetries ?? 0,
  };
}

/** What one probe found. */
export type ProbeResult =
  | { ready: true; status: number }
  | { ready: false; connected: false; reason: string }
  | { ready: false; connected: true; status: number; fatal: boolean; reason: string };

/** One readiness request from outside, through the published host port. */
export function probeOnce(host: string, port: number, r: Readiness): Promise<ProbeResult> {
  const url = `${r.protocol}://${host.includes(':') ? `[${host}]` : host}:${port}${r.path}`;
  return new Promise((resolve) => {
    const mod = r.protocol === 'https' ? https : http;
    // Instances present their own certificates, usually for another name: readiness is not trust.
    const req = mod.get(url, { timeout: r.uriTimeoutMs, agent: false, ...(r.protocol === 'https' ? { rejectUnauthorized: false } : {}) }, (res) => {
      const status = res.statusCode ?? 0;
      res.resume();
      if (status >= 200 && status < 300) resolve({ ready: true, status });
      else resolve({ ready: false, connected: true, status, fatal: r.failureStatuses.includes(status), reason: `${url} answered ${status}` });
    });
    req.on('timeout', () => {
      req.destroy();
      resolve({ ready: false, connected: true, status: 0, fatal: false, reason: `${url} did not answer within ${r.uriTimeoutMs / 1000} s` });
    });
    req.on('error', (e: NodeJS.ErrnoException) => resolve({ ready: false, connected: false, reason: `${url}: ${e.code ?? e.message}` }));
  });
}

/** Where an instance stands while it is watched. */
export type InstanceView =
  /** Running, reachable at host:port (port undefined when it publishes none). */
  | { state: 'running'; host: string; port?: number }
  /** Not up yet (being created, pulled, restarted by its engine). */
  | { state: 'starting'; reason?: string }
  /** Gone for good: exited, dead, removed. */
  | { state: 'failed'; reason: string };

export type WaitResult = { status: 'ready'; message: string } | { status: 'failed'; message: string } | { status: 'pending'; message: string };

export interface WaitOptions {
  readiness: Readiness;
  /** Running this long counts as started for instances without an HTTP check. */
  settleMs: number;
  /** Give up waiting (Pending) at this time (ms since the epoch). */
  deadline: number;
  signal?: AbortSignal;
  /** Reads the instance's state again (called before every probe). Transient engine errors may be thrown: they are waited out until the deadline. */
  look: () => Promise<InstanceView>;
  onProbe?: (message: string) => void;
}


/**
 * Waits until an instance is ready: for HTTP checks, a 2xx from its ready
 * path after ConnectDelay, probing every CheckReadyInterval (ConnectInterval
 * while it refuses connections), each probe bounded by CheckReadyURITimeout;
 * a status in CheckReadyFailureStatuses, CheckReadyRetries probes without
 * success, or Timeout seconds without success fail it. Without an HTTP check,
 * running through the settle period is ready; with SkipCheck, running is.
 * An instance that exits fails.
 */
export async function waitReady(o: WaitOptions): Promise<WaitResult> {
  const r = o.readiness;
  const started = Date.now();
  const probeFrom = started + (r.http ? r.connectDelayMs : 0);
  const failAt = probeFrom + (r.http ? r.startupTimeoutMs : o.settleMs + r.startupTimeoutMs);
  let runningSince: number | undefined;
  let probes = 0;
  let last = 'not started yet';
  let connected = false;
  for (;;) {
    if (o.signal?.aborted) return { status: 'pending', message: `stopped waiting: ${last}` };
    if (Date.now() >= o.deadline) return { status: 'pending', message: `not ready yet after ${Math.round((Date.now() - started) / 1000)} s: ${last}` };
    let view: InstanceView;
    try {
      view = await o.look();
    } catch (e) {
      const retryable = (e as { details?: { retryable?: boolean } }).details?.retryable === true;
      if (!retryable) throw e;
      last = (e as Error).message;
      await sleep(500, o.signal);
      continue;
    }
    if (view.state === 'failed') return { status: 'failed', message: view.reason };
    if (view.state === 'starting') {
      runningSince = undefined;
      last = view.reason ?? 'starting';
    } else {
      runningSince ??= Date.now();
      if (!r.http || view.port === undefined) {
        if (r.skip) return { status: 'ready', message: 'running (readiness check skipped)' };
        if (Date.now() - runningSince >= o.settleMs) return { status: 'ready', message: `running for ${Math.round((Date.now() - runningSince) / 100) / 10} s` };
        last = 'running, settling';
      } else if (Date.now() >= probeFrom) {
        const p = await probeOnce(view.host, view.port, r);
        probes++;
        if (p.ready) return { status: 'ready', message: `answered ${p.status} at ${r.path}` };
        connected = p.connected;
        last = p.reason;
        o.onProbe?.(last);
        if (p.connected && p.fatal) return { status: 'failed', message: `${p.reason} (a failure status)` };
        if (r.retries > 0 && probes >= r.retries) return { status: 'failed', message: `not ready after ${probes} checks: ${last}` };
      }
    }
    if (Date.now() >= failAt) return { status: 'failed', message: `not ready within ${Math.round((failAt - started) / 1000)} s: ${last}` };
    const wait = view.state === 'running' && r.http && Date.now() >= probeFrom ? (connected ? r.intervalMs : r.connectIntervalMs) : Math.min(250, r.connectIntervalMs);
    await sleep(Math.min(wait, Math.max(0, o.deadline - Date.now())), o.signal);
  }
}
