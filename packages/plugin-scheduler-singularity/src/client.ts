import { SousError, sousFetch } from '@sous/core';

/** How the plugin talks to one Singularity. */
export interface ClientOptions {
  /** Where Singularity answers, e.g. http://singularity.example.com/singularity (the API is under /api). */
  baseURL: string;
  /** Give up on one HTTP call after this long. */
  timeoutMs: number;
  /** At most this many calls in flight at once (the original Sous used 10 per server). */
  maxConcurrency: number;
  /** Extra headers on every call (an Authorization header, say). */
  headers?: Record<string, string>;
}

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT']);

/** The API's own words from an error body: Singularity answers plain text or a JSON object with a message. */
export function apiMessage(text: string): string {
  const t = text.trim();
  if (!t) return '';
  try {
    const v = JSON.parse(t) as unknown;
    if (v && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      for (const k of ['message', 'error', 'reason']) if (typeof o[k] === 'string' && o[k]) return (o[k] as string).slice(0, 500);
    }
    if (typeof v === 'string') return v.slice(0, 500);
  } catch {
    // plain text: Singularity's WebExceptions answer with the message itself
  }
  return t.slice(0, 500);
}

/** The SousError for an HTTP answer that is not a success. */
export function httpError(status: number, method: string, url: string, text: string): SousError {
  const msg = apiMessage(text);
  const where = `Singularity answered ${status} to ${method} ${url}${msg ? `: ${msg}` : ''}`;
  const details = { status, url, method, apiMessage: msg };
  if (status >= 500) return new SousError('SINGULARITY_UNAVAILABLE', where, { details: { ...details, retryable: true }, hints: ['Singularity is failing or restarting; the rectifier retries'] });
  if (status === 429) return new SousError('SINGULARITY_THROTTLED', where, { details: { ...details, retryable: true }, hints: ['Too many calls; the rectifier retries after a pause'] });
  // Singularity answers 409 for "a deploy is in progress" and "the request is being cleaned, try again shortly".
  if (status === 409) return new SousError('SINGULARITY_CONFLICT', where, { details: { ...details, retryable: true }, hints: ['Another deploy or cleanup is under way on this request; the rectifier retries'] });
  if (status === 401 || status === 403) return new SousError('SINGULARITY_UNAUTHORIZED', where, { details, hints: ['Give the plugin credentials: singularityScheduler({ headers: { Authorization: "Bearer ..." } })'] });
  if (status === 404) return new SousError('SINGULARITY_NOT_FOUND', where, { details, hints: ['Check the cluster BaseURL in defs.yaml: it is the Singularity root, with /api below it'] });
  if (status === 400 || status === 422) return new SousError('SINGULARITY_BAD_REQUEST', where, { details, hints: ['Singularity refused the request as invalid; its message says which field'] });
  return new SousError('SINGULARITY_REJECTED', where, { details });
}

function networkError(e: unknown, method: string, url: string, timeoutMs: number): SousError {
  const err = e as { name?: string; code?: string; message?: string; cause?: { code?: string; message?: string } };
  if (err.name === 'TimeoutError' || err.name === 'AbortError') {
    return new SousError('SINGULARITY_UNREACHABLE', `Singularity did not answer ${method} ${url} within ${timeoutMs} ms`, { details: { url, method, retryable: true }, cause: e });
  }
  const code = err.cause?.code ?? err.code ?? '';
  const why = err.cause?.message ?? err.message ?? String(e);
  return new SousError('SINGULARITY_UNREACHABLE', `cannot reach Singularity at ${url}: ${why}`, {
    details: { url, method, errno: code, retryable: NETWORK_CODES.has(code) || !code },
    hints: ['Check the cluster BaseURL in defs.yaml and that Singularity is up'],
    cause: e,
  });
}

/**
 * A small client for Singularity's REST API over fetch: JSON in and out,
 * bounded concurrency, and every failure a SousError (transient ones with
 * `details.retryable`).
 */
export class SingularityClient {
  private active = 0;
  private queue: (() => void)[] = [];
  readonly base: string;

  constructor(readonly opts: ClientOptions) {
    this.base = opts.baseURL.replace(/\/+$/, '');
  }

  private async slot<T>(fn: () => Promise<T>): Promise<T> {
    if (this.active >= this.opts.maxConcurrency) await new Promise<void>((r) => this.queue.push(r));
    this.active++;
    try {
      return await fn();
    } finally {
      this.active--;
      this.queue.shift()?.();
    }
  }

  url(path: string, query?: Record<string, string | number>): string {
    const q = query ? new URLSearchParams(Object.entries(query).map(([k, v]): [string, string] => [k, String(v)])).toString() : '';
    return `${this.base}${path}${q ? `?${q}` : ''}`;
  }

  /** One call; resolves the parsed JSON body (undefined when empty). */
  async call<T>(method: string, path: string, opts: { query?: Record<string, string | number>; body?: unknown } = {}): Promise<T> {
    const url = this.url(path, opts.query);
    return this.slot(async () => {
      let res: Response;
      try {
        res = await sousFetch(url, {
          method,
          headers: { accept: 'application/json', ...(opts.body !== undefined ? { 'content-type': 'application/json' } : {}), ...(this.opts.headers ?? {}) },
          body: opts.body !== undefined ? JSON.stringify(opts.body) : undefined,
          signal: AbortSignal.timeout(this.opts.timeoutMs),
        });
      } catch (e) {
        throw networkError(e, method, url, this.opts.timeoutMs);
      }
      const text = await res.text().catch(() => '');
      if (!res.ok) throw httpError(res.status, method, url, text);
      if (!text.trim()) return undefined as T;
      try {
        return JSON.parse(text) as T;
      } catch (e) {
        throw new SousError('SINGULARITY_BAD_RESPONSE', `Singularity answered ${method} ${url} with something that is not JSON: ${text.slice(0, 200)}`, { details: { url, method, retryable: false }, cause: e });
      }
    });
  }

  get<T>(path: string, query?: Record<string, string | number>): Promise<T> {
    return this.call<T>('GET', path, { query });
  }
}
