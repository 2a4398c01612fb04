import * as http from 'node:http';
import * as https from 'node:https';

export interface HttpAnswer {
  status: number;
  body: string;
}

export interface HttpRequest {
  protocol: 'HTTP' | 'HTTPS';
  port: number;
  method?: string;
  path: string;
  headers?: Record<string, string>;
  body?: string;
  timeoutMs: number;
}

/** Bodies longer than this are cut: contracts match patterns, they do not download. */
const MAX_BODY = 256 * 1024;

/** One request to the service on 127.0.0.1, on a fresh connection (no keep-alive between polls). */
export function request(req: HttpRequest): Promise<HttpAnswer> {
  const mod = req.protocol === 'HTTPS' ? https : http;
  return new Promise((resolve, reject) => {
    const r = mod.request(
      {
        host: '127.0.0.1',
        port: req.port,
        method: req.method ?? 'GET',
        path: req.path,
        headers: { connection: 'close', ...(req.body !== undefined ? { 'content-length': String(Buffer.byteLength(req.body)) } : {}), ...(req.headers ?? {}) },
        agent: false,
        // A contract checks the service, not its certificate (issued for names the test cannot use).
        rejectUnauthorized: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          if (size < MAX_BODY) chunks.push(c);
          size += c.length;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8').slice(0, MAX_BODY) }));
        res.on('error', reject);
      },
    );
    // One deadline for the whole exchange: connecting, the headers and the body.
    const timer = setTimeout(() => r.destroy(Object.assign(new Error(`no answer within ${req.timeoutMs} ms`), { code: 'ETIMEDOUT' })), req.timeoutMs);
    r.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    r.on('close', () => clearTimeout(timer));
    r.end(req.body);
  });
}

export function describeError(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  if (err?.code === 'ECONNRESET' || err?.message === 'socket hang up') return 'connection reset';
  if (err?.code === 'ECONNREFUSED') return 'connection refused';
  if (err?.code === 'ETIMEDOUT') return err.message;
  return err?.message ?? String(e);
}

export interface PollOutcome {
  /** Some HTTP answer came (any status). */
  answered: boolean;
  /** A 2xx came (when `until` is 'ready'). */
  ready: boolean;
  /** A status listed as a failure status came. */
  failedFast: boolean;
  lastStatus?: number;
  lastError?: string;
  tries: number;
  /** Milliseconds from the start of polling to the first answer and to readiness. */
  answeredAfterMs?: number;
  readyAfterMs?: number;
  /** Set when polling stopped because `stop()` said so (the container exited). */
  stopped: boolean;
}

/**
 * The first gap between polls; each next one doubles up to the interval. A
 * process usually listens some tens of milliseconds after its container
 * starts, so the first answer is caught within a few milliseconds, not up to
 * a whole interval late.
 */
const FIRST_GAP_MS = 5;

/**
 * Polls the service until it answers (`until: 'answer'`) or answers 2xx
 * (`until: 'ready'`), the deadline passes, or `stop()` returns true; polls
 * come at most `intervalMs` apart.
 */
export async function poll(
  req: HttpRequest,
  opts: { until: 'answer' | 'ready'; deadline: number; intervalMs: number; failureStatuses: number[]; stop: () => boolean; wake: Promise<unknown> },
): Promise<PollOutcome> {
  const t0 = Date.now();
  const out: PollOutcome = { answered: false, ready: false, failedFast: false, tries: 0, stopped: false };
  let woken = false;
  void opts.wake.then(() => (woken = true));
  while (true) {
    if (opts.stop() || woken) {
      out.stopped = true;
      return out;
    }
    out.tries++;
    try {
      const left = Math.max(1, opts.deadline - Date.now());
      const a = await request({ ...req, timeoutMs: Math.min(req.timeoutMs, left) });
      out.lastStatus = a.status;
      out.lastError = undefined;
      if (!out.answered) {
        out.answered = true;
        out.answeredAfterMs = Date.now() - t0;
      }
      if (opts.until === 'answer') return out;
      if (a.status >= 200 && a.status < 300) {
        out.ready = true;
        out.readyAfterMs = Date.now() - t0;
        return out;
      }
      if (opts.failureStatuses.includes(a.status)) {
        out.failedFast = true;
        return out;
      }
    } catch (e) {
      out.lastError = describeError(e);
    }
    if (Date.now() >= opts.deadline) return out;
    const gap = Math.min(opts.intervalMs, FIRST_GAP_MS * 2 ** (out.tries - 1));
    const wait = Math.min(gap, Math.max(0, opts.deadline - Date.now()));
    await Promise.race([new Promise((r) => setTimeout(r, wait)), opts.wake]);
  }
}
