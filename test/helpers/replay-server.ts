/**
 * A replay server for modelled API exchanges (written from the API reference) (test/fixtures/modelled/**):
 * an HTTP server on 127.0.0.1 that expects the modelled requests in order,
 * checks each one (method, path, query, chosen headers, the body's important
 * fields) and answers with the modelled response. A request that does not fit
 * is answered 418 and remembered, so `verify()` fails the test; so does a
 * modelled request that never came.
 *
 * State across a scenario comes from captures: a request matcher can bind a
 * value (`"$capture:deployId"`, or `{"$capture": "deploy", ...}` for a whole
 * object), and later paths, matchers and responses use it (`{{deployId}}`,
 * `"$ref:deploy"`, or `{"$ref": "deploy", "status": {...}}` to answer with
 * the captured object plus server-side fields). So after a POST the next GET
 * answers with what was posted.
 *
 * Matcher strings: `$any` (present, any value), `$absent`, `$capture:NAME`,
 * `$regex:PATTERN`, otherwise the exact string after `{{NAME}}` substitution.
 * Objects match when every expected key matches (other keys are ignored);
 * arrays match element by element and must have the same length.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import type { AddressInfo } from 'node:net';

export interface ExchangeRequest {
  method: string;
  path: string;
  /** The whole query: every key must be here, and match. Omitted: no query allowed. */
  query?: Record<string, string>;
  /** Headers that must be present (names lowercase). */
  headers?: Record<string, string>;
  body?: unknown;
}

export interface ExchangeResponse {
  status: number;
  headers?: Record<string, string>;
  /** JSON, or a string sent as text/plain. */
  body?: unknown;
}

export interface Exchange {
  /** Why this exchange is here. */
  note?: string;
  /** Consecutive exchanges of one group may come in any order (concurrent calls). */
  group?: string;
  /** How many times the exchange is expected (default 1). */
  times?: number;
  /** Served any number of times (at least once) until a request fits the next exchange: for waits that end by time. */
  repeat?: boolean;
  request: ExchangeRequest;
  response: ExchangeResponse;
}

export interface Recording {
  description: string;
  /** The API and version the exchanges are written against. */
  api: string;
  /** Where the shapes come from. */
  source?: string;
  exchanges: Exchange[];
}

export interface Received {
  method: string;
  path: string;
  query: Record<string, string>;
  headers: Record<string, string>;
  body: unknown;
  /** Index of the exchange it was matched to, or undefined on a mismatch. */
  exchange?: number;
}

export const MODELLED = path.resolve(__dirname, '../fixtures/modelled');

export function loadRecording(name: string): Recording {
  return JSON.parse(fs.readFileSync(path.join(MODELLED, `${name}.json`), 'utf8')) as Recording;
}

type Vars = Record<string, unknown>;

/** A captured value by name, or a field of one (`deploy.id`). */
function lookup(vars: Vars, name: string): unknown {
  const [head, ...rest] = name.split('.');
  if (!(head in vars)) throw new Error(`recording uses ${name} before it was captured`);
  let v: unknown = vars[head];
  for (const k of rest) v = v && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined;
  if (v === undefined) throw new Error(`recording uses ${name}, which the captured value does not have`);
  return v;
}

function substitute(s: string, vars: Vars): string {
  return s.replace(/\{\{([A-Za-z0-9_.-]+)\}\}/g, (_, k: string) => {
    const v = lookup(vars, k);
    return typeof v === 'string' ? v : JSON.stringify(v);
  });
}

function describe(v: unknown): string {
  const s = JSON.stringify(v);
  return s === undefined ? 'nothing' : s.length > 200 ? `${s.slice(0, 200)}...` : s;
}

/** Matches `actual` against the matcher `expected`; binds captures into `vars`; pushes what differs into `errors`. */
export function matchValue(expected: unknown, actual: unknown, at: string, vars: Vars, errors: string[]): void {
  if (typeof expected === 'string') {
    if (expected === '$any') {
      if (actual === undefined) errors.push(`${at}: expected a value, got nothing`);
    } else if (expected === '$absent') {
      if (actual !== undefined) errors.push(`${at}: expected nothing, got ${describe(actual)}`);
    } else if (expected.startsWith('$capture:')) {
      if (actual === undefined) errors.push(`${at}: expected a value to capture, got nothing`);
      else vars[expected.slice(9)] = actual;
    } else if (expected.startsWith('$regex:')) {
      if (typeof actual !== 'string' || !new RegExp(expected.slice(7)).test(actual)) errors.push(`${at}: expected to match /${expected.slice(7)}/, got ${describe(actual)}`);
    } else {
      const want = substitute(expected, vars);
      if (actual !== want) errors.push(`${at}: expected ${describe(want)}, got ${describe(actual)}`);
    }
    return;
  }
  if (expected === null || typeof expected !== 'object') {
    if (actual !== expected) errors.push(`${at}: expected ${describe(expected)}, got ${describe(actual)}`);
    return;
  }
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual) || actual.length !== expected.length) {
      errors.push(`${at}: expected ${expected.length} item(s), got ${describe(actual)}`);
      return;
    }
    expected.forEach((e, i) => matchValue(e, actual[i], `${at}[${i}]`, vars, errors));
    return;
  }
  if (actual === null || typeof actual !== 'object' || Array.isArray(actual)) {
    errors.push(`${at}: expected an object, got ${describe(actual)}`);
    return;
  }
  const exp = expected as Record<string, unknown>;
  if (typeof exp.$capture === 'string') vars[exp.$capture] = actual;
  for (const [k, v] of Object.entries(exp)) {
    if (k === '$capture') continue;
    matchValue(v, (actual as Record<string, unknown>)[k], `${at}.${k}`, vars, errors);
  }
}

function deepMerge(base: unknown, over: unknown): unknown {
  if (over === '$delete') return undefined;
  if (!over || typeof over !== 'object' || Array.isArray(over) || !base || typeof base !== 'object' || Array.isArray(base)) return over;
  const out: Record<string, unknown> = { ...(base as Record<string, unknown>) };
  for (const [k, v] of Object.entries(over as Record<string, unknown>)) {
    const merged = deepMerge(out[k], v);
    if (merged === undefined) delete out[k];
    else out[k] = merged;
  }
  return out;
}

/** A response body with captures put in. */
export function render(v: unknown, vars: Vars): unknown {
  if (typeof v === 'string') {
    if (v.startsWith('$ref:')) return JSON.parse(JSON.stringify(lookup(vars, v.slice(5)))) as unknown;
    return substitute(v, vars);
  }
  if (Array.isArray(v)) return v.map((x) => render(x, vars));
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    if (typeof o.$ref === 'string') {
      const { $ref, ...rest } = o;
      return deepMerge(render(`$ref:${$ref}`, vars), render(rest, vars));
    }
    return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, x === '$delete' ? x : render(x, vars)]));
  }
  return v;
}

export class ReplayServer {
  readonly received: Received[] = [];
  readonly failures: string[] = [];
  readonly vars: Vars;
  private readonly served: number[];
  private pos = 0;
  private server!: http.Server;
  url = '';

  private constructor(
    readonly recording: Recording,
    vars: Vars,
  ) {
    this.vars = { ...vars };
    this.served = recording.exchanges.map(() => 0);
  }

  /** Starts serving `recording` (or the recording file of that name) on 127.0.0.1, on a free port. */
  static async start(recording: Recording | string, vars: Vars = {}): Promise<ReplayServer> {
    const r = new ReplayServer(typeof recording === 'string' ? loadRecording(recording) : recording, vars);
    r.server = http.createServer((req, res) => void r.handle(req, res));
    await new Promise<void>((resolve) => r.server.listen(0, '127.0.0.1', resolve));
    r.url = `http://127.0.0.1:${(r.server.address() as AddressInfo).port}`;
    r.vars.url = r.url;
    return r;
  }

  private get ex(): Exchange[] {
    return this.recording.exchanges;
  }

  private setAt(start: number): number[] {
    if (start >= this.ex.length) return [];
    const g = this.ex[start].group;
    if (g === undefined) return [start];
    const out: number[] = [];
    for (let i = start; i < this.ex.length && this.ex[i].group === g; i++) out.push(i);
    return out;
  }

  private done(i: number): boolean {
    return this.served[i] >= (this.ex[i].repeat ? 1 : (this.ex[i].times ?? 1));
  }

  private available(i: number): boolean {
    return this.ex[i].repeat === true || this.served[i] < (this.ex[i].times ?? 1);
  }

  private routeErrors(i: number, r: Received): string[] {
    const want = this.ex[i].request;
    const errors: string[] = [];
    const scratch = { ...this.vars };
    if (want.method.toUpperCase() !== r.method) errors.push(`method: expected ${want.method}, got ${r.method}`);
    matchValue(want.path, r.path, 'path', scratch, errors);
    const wq = want.query ?? {};
    for (const k of Object.keys(r.query)) if (!(k in wq)) errors.push(`query: unexpected ${k}=${r.query[k]}`);
    for (const [k, v] of Object.entries(wq)) matchValue(v, r.query[k], `query.${k}`, scratch, errors);
    return errors;
  }

  /** The exchange a request is for: one of the current set, or (when the set is complete) the next. */
  private pick(r: Received): { index?: number; errors: string[] } {
    for (let guard = 0; guard < this.ex.length + 1; guard++) {
      const set = this.setAt(this.pos);
      if (!set.length) return { errors: ['no more exchanges are modelled'] };
      const end = set[set.length - 1] + 1;
      const complete = set.every((i) => this.done(i));
      if (complete && this.setAt(end).some((i) => this.routeErrors(i, r).length === 0)) {
        this.pos = end;
        continue;
      }
      const hit = set.find((i) => this.available(i) && this.routeErrors(i, r).length === 0);
      if (hit !== undefined) return { index: hit };
      const open = set.filter((i) => this.available(i));
      return { errors: open.length ? open.map((i) => `#${i} ${this.ex[i].request.method} ${this.ex[i].request.path}: ${this.routeErrors(i, r).join('; ')}`) : ['the modelled exchanges are used up'] };
    }
    return { errors: ['no exchange fits'] };
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    let body: unknown = text || undefined;
    if (text && /json/.test(String(req.headers['content-type'] ?? 'application/json'))) {
      try {
        body = JSON.parse(text);
      } catch {
        body = text;
      }
    }
    const u = new URL(req.url ?? '/', 'http://127.0.0.1');
    const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k.toLowerCase(), Array.isArray(v) ? v.join(', ') : String(v ?? '')]));
    const r: Received = { method: (req.method ?? 'GET').toUpperCase(), path: decodeURIComponent(u.pathname), query: Object.fromEntries(u.searchParams.entries()), headers, body };
    this.received.push(r);
    const fail = (why: string) => {
      const msg = `request ${this.received.length} (${r.method} ${u.pathname}${u.search}) does not fit the recording: ${why}`;
      this.failures.push(msg);
      res.writeHead(418, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ kind: 'Status', status: 'Failure', code: 418, message: `replay mismatch: ${msg}` }));
    };
    const { index, errors } = this.pick(r);
    if (index === undefined) return fail(errors.join(' | '));
    const ex = this.ex[index];
    const scratch = { ...this.vars };
    const bodyErrors: string[] = [];
    matchValue(ex.request.path, r.path, 'path', scratch, bodyErrors);
    for (const [k, v] of Object.entries(ex.request.query ?? {})) matchValue(v, r.query[k], `query.${k}`, scratch, bodyErrors);
    for (const [k, v] of Object.entries(ex.request.headers ?? {})) matchValue(v, headers[k.toLowerCase()], `headers.${k}`, scratch, bodyErrors);
    if (ex.request.body !== undefined) matchValue(ex.request.body, body, 'body', scratch, bodyErrors);
    this.served[index]++;
    r.exchange = index;
    if (bodyErrors.length) return fail(`#${index} (${ex.note ?? ex.request.path}): ${bodyErrors.join('; ')}`);
    Object.assign(this.vars, scratch);
    const set = this.setAt(this.pos);
    if (set.every((i) => this.done(i) && !this.ex[i].repeat)) this.pos = set[set.length - 1] + 1;
    let out: unknown;
    try {
      out = render(ex.response.body, this.vars);
    } catch (e) {
      return fail((e as Error).message);
    }
    const isText = typeof out === 'string';
    res.writeHead(ex.response.status, { 'content-type': isText ? 'text/plain' : 'application/json', ...(ex.response.headers ?? {}) });
    res.end(out === undefined ? '' : isText ? out : JSON.stringify(out));
  }

  /** The exchanges not served as often as modelled. */
  unserved(): string[] {
    return this.ex.map((e, i) => (this.done(i) ? '' : `#${i} ${e.request.method} ${e.request.path}${e.note ? ` (${e.note})` : ''}`)).filter(Boolean);
  }

  /** Throws when a request did not fit, or a modelled one never came. */
  verify(): void {
    const problems = [...this.failures, ...this.unserved().map((u) => `never requested: ${u}`)];
    if (problems.length) throw new Error(`replay of "${this.recording.description}" failed:\n  ${problems.join('\n  ')}`);
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.closeAllConnections?.();
      this.server.close(() => resolve());
    });
  }
}

/** A URL on 127.0.0.1 where nothing listens: calls to it are refused. */
export async function refusedURL(): Promise<string> {
  const s = http.createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}
