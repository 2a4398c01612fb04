import { sousFetch } from '../net/fetch';
import { failure, SousError, usageError } from '../errors';

export interface ServerClientOptions {
  token?: string;
  /** Per-request timeout. */
  timeoutMs?: number;
}

export interface RequestOptions {
  query?: Record<string, string | undefined>;
  body?: unknown;
  headers?: Record<string, string>;
  /** Statuses that are answers rather than errors (e.g. 404 for "not there"). */
  accept?: number[];
}

export interface ServerResponse<T> {
  status: number;
  body: T;
  etag?: string;
  location?: string;
}

/** A small JSON client for one Sous server: errors come back as the server's SousErrors, with their exit codes. */
export class ServerClient {
  readonly base: string;

  constructor(
    url: string,
    private readonly opts: ServerClientOptions = {},
  ) {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      throw usageError('INVALID_SERVER_URL', `the server URL ${JSON.stringify(url)} is not a URL`, { hints: ['SOUS_SERVER=http://127.0.0.1:7070'] });
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw usageError('INVALID_SERVER_URL', `the server URL ${url} is not http(s)`, { hints: ['SOUS_SERVER=http://127.0.0.1:7070'] });
    this.base = url.replace(/\/+$/, '');
  }

  /** Another server's client with the same token. */
  at(url: string): ServerClient {
    return new ServerClient(url, this.opts);
  }

  /**
   * A GET whose answer is read as it arrives (a followed log, say): resolves
   * the response once its status is in; an error status is thrown as the
   * server's SousError, as `request` does.
   */
  async stream(path: string, ro: RequestOptions & { signal?: AbortSignal } = {}): Promise<Response> {
    const q = Object.entries(ro.query ?? {}).filter(([, v]) => v !== undefined) as [string, string][];
    const url = `${this.base}${path}${q.length ? '?' + new URLSearchParams(q).toString() : ''}`;
    const headers: Record<string, string> = { accept: 'application/x-ndjson, application/json', ...(ro.headers ?? {}) };
    if (this.opts.token) headers.authorization = `Bearer ${this.opts.token}`;
    let res: Response;
    try {
      res = await fetch(url, { method: 'GET', headers, signal: ro.signal });
    } catch (e) {
      if (ro.signal?.aborted) throw e;
      throw failure('SERVER_UNREACHABLE', `cannot reach the Sous server at ${this.base}: ${(e as Error).cause ? String(((e as Error).cause as Error).message ?? (e as Error).cause) : (e as Error).message}`, {
        hints: ['Check SOUS_SERVER (or server in the config), and that the server runs'],
        details: { retryable: true },
      });
    }
    if (res.ok) return res;
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    throw this.errorOf(res.status, 'GET', path, parsed);
  }

  private errorOf(status: number, method: string, path: string, parsed: unknown): SousError {
    const err = (parsed as { error?: { code?: string; message?: string; hints?: string[]; field?: string; details?: Record<string, unknown>; exit?: number } } | undefined)?.error;
    if (status === 401 && !this.opts.token) {
      return usageError('NO_TOKEN', `the Sous server at ${this.base} needs a token`, { hints: ['Set SOUS_TOKEN (or token in the config); an admin makes one with: sous server token create'] });
    }
    return new SousError(err?.code ?? `HTTP_${status}`, err?.message ?? `the server answered ${status} to ${method} ${path}`, {
      exit: err?.exit ?? (status >= 400 && status < 500 && status !== 409 && status !== 412 ? 2 : 1),
      hints: err?.hints ?? [],
      field: err?.field,
      details: { ...(err?.details ?? {}), status, ...(status >= 500 ? { retryable: true } : {}) },
    });
  }

  async request<T>(method: string, path: string, ro: RequestOptions = {}): Promise<ServerResponse<T>> {
    const q = Object.entries(ro.query ?? {}).filter(([, v]) => v !== undefined) as [string, string][];
    const url = `${this.base}${path}${q.length ? '?' + new URLSearchParams(q).toString() : ''}`;
    const headers: Record<string, string> = { accept: 'application/json', ...(ro.headers ?? {}) };
    if (this.opts.token) headers.authorization = `Bearer ${this.opts.token}`;
    if (ro.body !== undefined) headers['content-type'] = 'application/json';
    let res: Response;
    try {
      res = await sousFetch(url, { method, headers, body: ro.body === undefined ? undefined : JSON.stringify(ro.body), signal: AbortSignal.timeout(this.opts.timeoutMs ?? 120_000) });
    } catch (e) {
      throw failure('SERVER_UNREACHABLE', `cannot reach the Sous server at ${this.base}: ${(e as Error).cause ? String(((e as Error).cause as Error).message ?? (e as Error).cause) : (e as Error).message}`, {
        hints: ['Check SOUS_SERVER (or server in the config), and that the server runs'],
        details: { retryable: true },
      });
    }
    const text = await res.text();
    let parsed: unknown = undefined;
    if (text) {
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = text;
      }
    }
    const out = { status: res.status, body: parsed as T, etag: res.headers.get('etag') ?? undefined, location: res.headers.get('location') ?? undefined };
    if (res.ok || res.status === 304 || ro.accept?.includes(res.status)) return out;
    throw this.errorOf(res.status, method, path, parsed);
  }
}
