import type Dockerode from 'dockerode';
import { failure, isSousError, usageError, type EngineAuthConfig, type SousError } from '@sous/core';
import { connectEngine } from '@sous/plugin-docker';

/** Where a cluster's engine is, and the per-cluster settings its BaseURL may carry as query parameters. */
export interface EngineTarget {
  /** The address as written, without query parameters (unix:///path, tcp://host:port, http(s)://host:port). */
  address: string;
  /** The host name of a tcp engine; undefined for a local socket. */
  remoteHost?: string;
  /** Query parameters of the BaseURL (`?bind=0.0.0.0&taskHost=...`). */
  params: Record<string, string>;
}

const DEFAULT_SOCKET = '/var/run/docker.sock';

/**
 * Reads a cluster's BaseURL: unix:///path/docker.sock, tcp://host:port,
 * http(s)://host:port, each optionally with `?bind=ADDR&taskHost=HOST&probeHost=HOST`.
 * An empty BaseURL means DOCKER_HOST, else the local socket.
 */
export function parseEngineURL(baseURL: string | undefined, cluster: string, env: NodeJS.ProcessEnv = process.env): EngineTarget {
  const raw = baseURL || env.DOCKER_HOST || `unix://${DEFAULT_SOCKET}`;
  const q = raw.indexOf('?');
  const address = q >= 0 ? raw.slice(0, q) : raw;
  const params = Object.fromEntries(new URLSearchParams(q >= 0 ? raw.slice(q + 1) : ''));
  const bad = () =>
    usageError('INVALID_BASE_URL', `cluster ${cluster}: ${JSON.stringify(raw)} is not a Docker engine address`, {
      field: `Clusters.${cluster}.BaseURL`,
      hints: ['Use unix:///run/docker.sock or tcp://HOST:2375 (optionally ?bind=0.0.0.0&taskHost=HOST)'],
    });
  if (address.startsWith('unix://')) return { address: address === 'unix://' ? `unix://${DEFAULT_SOCKET}` : address, params };
  if (address.startsWith('/')) return { address: `unix://${address}`, params };
  let url: URL;
  try {
    url = new URL(address);
  } catch {
    throw bad();
  }
  if (!['tcp:', 'http:', 'https:'].includes(url.protocol) || !url.hostname) throw bad();
  return { address, remoteHost: url.hostname.replace(/^\[|\]$/g, ''), params };
}

const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOENT', 'EACCES', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNRESET', 'EAI_AGAIN', 'ENOTFOUND', 'EPIPE', 'ECONNABORTED', 'UND_ERR_SOCKET']);

interface EngineErrorShape {
  code?: string;
  statusCode?: number;
  json?: { message?: string } | Buffer | string | null;
  message?: string;
}

/** The engine's own words for a failed call. */
export function engineMessage(e: unknown): string {
  const x = e as EngineErrorShape;
  const j = x?.json;
  if (j && typeof j === 'object' && !Buffer.isBuffer(j) && typeof j.message === 'string') return j.message.trim();
  if (typeof j === 'string' && j.trim()) return j.trim();
  if (Buffer.isBuffer(j) && j.length) return j.toString('utf8').trim();
  return String(x?.message ?? e).replace(/^\(HTTP code \d+\) [a-z ]+ - /, '').trim();
}

/** The HTTP status of a failed engine call, if it got that far. */
export function statusOf(e: unknown): number | undefined {
  const s = (e as EngineErrorShape)?.statusCode;
  return typeof s === 'number' ? s : undefined;
}

/**
 * Turns a failed engine call into a SousError. An engine that cannot be
 * reached (restarting, say) or answers 5xx is retryable: the rectifier tries
 * the action again with backoff. A 4xx is the engine refusing the request.
 */
export function engineError(e: unknown, address: string, doing: string): SousError {
  if (isSousError(e)) return e;
  const code = (e as EngineErrorShape)?.code;
  const status = statusOf(e);
  if ((typeof code === 'string' && UNREACHABLE.has(code)) || /socket hang up/i.test(String((e as Error)?.message))) {
    return failure('ENGINE_UNREACHABLE', `no Docker engine answers at ${address} (${code ?? 'connection closed'}) while ${doing}`, {
      cause: e,
      hints: ['Check that the engine runs and the cluster\'s BaseURL points at it (sous cluster list)'],
      details: { retryable: true, engine: address, errno: code },
    });
  }
  if (status !== undefined && status >= 500) {
    return failure('ENGINE_ERROR', `the Docker engine at ${address} failed while ${doing}: ${engineMessage(e)} (HTTP ${status})`, {
      cause: e,
      details: { retryable: true, engine: address, status },
    });
  }
  return failure(status === 404 ? 'ENGINE_NOT_FOUND' : status === 409 ? 'ENGINE_CONFLICT' : 'ENGINE_REFUSED', `the Docker engine at ${address} refused ${doing}: ${engineMessage(e)}${status ? ` (HTTP ${status})` : ''}`, {
    cause: e,
    details: { retryable: false, engine: address, status },
  });
}

export interface CallOptions {
  query?: Record<string, unknown>;
  body?: unknown;
  /** Raw request body (a tar archive, say). */
  file?: Buffer;
  /** Return the response stream instead of its parsed body. */
  stream?: boolean;
  /** What the call does, for error messages ("creating container x"). */
  doing: string;
  signal?: AbortSignal;
  /** Registry credentials for the call (X-Registry-Auth): pulls, swarm service create and update. */
  authconfig?: EngineAuthConfig;
}

const OK: Record<number, boolean> = { 200: true, 201: true, 204: true, 304: true };

/**
 * One Docker engine: a dockerode connection plus raw API calls with uniform
 * error handling (every failure becomes a SousError, retryable when transient).
 */
export class Engine {
  readonly docker: Dockerode;
  private infoCache?: { at: number; offsetMs: number; info: Record<string, unknown> };

  constructor(readonly target: EngineTarget) {
    // One client per address, shared with the image builder (TLS from DOCKER_CERT_PATH as it reads it).
    this.docker = connectEngine(target.address);
  }

  get address(): string {
    return this.target.address;
  }

  /** Calls the Engine API; resolves the parsed JSON (or a Buffer for non-JSON bodies). */
  call<T = unknown>(method: 'GET' | 'POST' | 'DELETE' | 'PUT' | 'HEAD', apiPath: string, opts: CallOptions): Promise<T> {
    const options: Record<string, unknown> = {};
    if (opts.query) for (const [k, v] of Object.entries(opts.query)) if (v !== undefined) options[k] = typeof v === 'object' ? JSON.stringify(v) : v;
    const dialOpts: Record<string, unknown> = {
      path: `${apiPath}?`,
      method,
      statusCodes: OK,
      isStream: opts.stream === true,
      abortSignal: opts.signal,
      // _query and _body keep query parameters out of the request body (docker-modem sends both otherwise).
      options: { _query: options, _body: opts.body ?? {} },
    };
    if (opts.file) dialOpts.file = opts.file;
    if (opts.authconfig) dialOpts.authconfig = opts.authconfig;
    return new Promise<T>((resolve, reject) => {
      (this.docker.modem as unknown as { dial(o: unknown, cb: (err: unknown, data: unknown) => void): void }).dial(dialOpts, (err, data) => {
        if (err) reject(engineError(err, this.address, opts.doing));
        else resolve(data as T);
      });
    });
  }

  /** Like call, but a 404 resolves undefined. */
  async find<T>(apiPath: string, doing: string): Promise<T | undefined> {
    try {
      return await this.call<T>('GET', apiPath, { doing });
    } catch (e) {
      if (isSousError(e) && e.details?.status === 404) return undefined;
      throw e;
    }
  }

  /** The engine's /info, cached for a few seconds, with the offset of its clock from ours. */
  async info(maxAgeMs = 5000): Promise<{ info: Record<string, unknown>; offsetMs: number }> {
    if (this.infoCache && Date.now() - this.infoCache.at < maxAgeMs) return this.infoCache;
    const t0 = Date.now();
    const info = await this.call<Record<string, unknown>>('GET', '/info', { doing: 'reading the engine information' });
    const t1 = Date.now();
    const engineNow = Date.parse(String(info.SystemTime ?? ''));
    const offsetMs = Number.isFinite(engineNow) ? engineNow - (t0 + t1) / 2 : 0;
    this.infoCache = { at: t1, offsetMs, info };
    return this.infoCache;
  }

  /** The engine's clock, in ms since the epoch: holders of a lease on one engine agree on it. */
  async now(): Promise<number> {
    const { offsetMs } = await this.info(60_000);
    return Date.now() + offsetMs;
  }
}

/**
 * Splits a multiplexed (non-TTY) log stream body into lines. Each frame has
 * an 8-byte header: stream type, 3 zero bytes, big-endian length.
 */
export function demuxLogs(body: unknown): string[] {
  const buf = Buffer.isBuffer(body) ? body : Buffer.from(typeof body === 'string' ? body : body === undefined || body === null ? '' : JSON.stringify(body));
  const parts: Buffer[] = [];
  let i = 0;
  const framed = buf.length >= 8 && buf[0] <= 2 && buf[1] === 0 && buf[2] === 0 && buf[3] === 0;
  if (!framed) return splitLines(buf.toString('utf8'));
  while (i + 8 <= buf.length) {
    const len = buf.readUInt32BE(i + 4);
    parts.push(buf.subarray(i + 8, i + 8 + len));
    i += 8 + len;
  }
  return splitLines(Buffer.concat(parts).toString('utf8'));
}

function splitLines(s: string): string[] {
  return s.split(/\r?\n/).filter((l) => l.length > 0);
}
