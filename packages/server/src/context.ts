import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import type { Gdm, Logger, Rectifier, ResolvedConfig, Sous, State } from '@sous/core';
import type { Autoresolver } from './autoresolver';
import type { TagBuilds } from './builds';
import type { TokenStore, Principal } from './auth';
import type { SessionStore } from './auth/session';
import type { ServerMetrics } from './metrics';

/** The server's own files beside the state (tokens, audit trail, builds): never part of the GDM. */
export function sousDir(stateLocation: string): string {
  return path.join(stateLocation, '.git', 'sous');
}

/** Everything a route handler uses. */
export interface ServerContext {
  config: ResolvedConfig;
  sous: Sous;
  gdm: Gdm;
  tokens: TokenStore;
  /** The status page's browser sessions. */
  sessions?: SessionStore;
  /** Whether the server answers over HTTPS (session cookies are then Secure). */
  secure?: boolean;
  /** The read-only pages open without signing in (--public-status). */
  publicStatus?: boolean;
  metrics: ServerMetrics;
  logger: Logger;
  rectifier: Rectifier;
  autoresolver?: Autoresolver;
  /** Pushed semver tags and their build jobs. */
  builds?: TagBuilds;
  /** Runs rectifications one at a time in this server (API requests and the autoresolver alike). */
  runExclusive<T>(fn: () => Promise<T>): Promise<T>;
  /** Set once SIGTERM arrived: new deploy requests are refused. */
  closing: boolean;
  /** Aborts when the server closes: streamed answers (logs, page events) end then, whatever their clients do. */
  streamsEnd?: AbortSignal;
  /** The clusters this server rectifies (all when undefined). */
  clusters?: readonly string[];
  /** This server's own URL, as other servers and the CLI reach it. */
  url?: string;
  version: string;
  /** The latest state read, cached by revision. */
  cache: StateCache;
  audit(entry: AuditEntry): Promise<void>;
}

export interface AuditEntry {
  who: Principal;
  method: string;
  path: string;
  status: number;
  revision?: string;
  detail?: string;
  /** A request through the original's API (`--legacy-api`): who it names is only what its headers said. */
  legacy?: boolean;
}

/**
 * The last state read and its JSON rendering. Revisions only move by writes
 * through this server (which refresh it) or by pulls (checked on a short
 * interval), so most reads cost no git call at all.
 */
export class StateCache {
  private state?: State;
  private gdmJson?: { revision: string; body: Buffer };
  private checkedAt = 0;
  private inflight?: Promise<State>;

  constructor(
    private readonly gdm: Gdm,
    /** How long a read trusts the cached revision without asking git. */
    private readonly ttlMs: number,
  ) {}

  async get(): Promise<State> {
    if (this.state && Date.now() - this.checkedAt < this.ttlMs) return this.state;
    this.inflight ??= (async () => {
      // Without a remote the branch only moves in this repository: a ref file read tells whether anything changed.
      if (this.state && !this.gdm.store.hasRemote && (await this.gdm.store.headFast()) === this.state.revision) {
        this.checkedAt = Date.now();
        return this.state;
      }
      const s = await this.gdm.read();
      this.state = s;
      this.checkedAt = Date.now();
      return s;
    })().finally(() => {
      this.inflight = undefined;
    });
    return this.inflight;
  }

  /** Forgets the cache: the next read goes to git. */
  invalidate(): void {
    this.checkedAt = 0;
  }

  /** The rendered GET /gdm body for the current state. */
  async gdmBody(render: (s: State) => unknown): Promise<{ revision: string; body: Buffer }> {
    const s = await this.get();
    if (this.gdmJson?.revision !== s.revision) this.gdmJson = { revision: s.revision, body: Buffer.from(JSON.stringify(render(s))) };
    return this.gdmJson;
  }
}

/** Appends one JSON line per write to the audit trail (tokens are never written). */
export function auditLog(file: string): (e: AuditEntry) => Promise<void> {
  return async (e) => {
    await fsp.mkdir(path.dirname(file), { recursive: true });
    const line = JSON.stringify({ time: new Date().toISOString(), who: { name: e.who.name, email: e.who.email, token: e.who.id, scope: e.who.scope }, method: e.method, path: e.path, status: e.status, revision: e.revision, detail: e.detail, ...(e.legacy ? { legacy: true } : {}) });
    await fsp.appendFile(file, line + '\n');
  };
}

/** A promise chain: each task starts when the one before it settled. */
export function mutex(): <T>(fn: () => Promise<T>) => Promise<T> {
  let chain: Promise<unknown> = Promise.resolve();
  return <T>(fn: () => Promise<T>) => {
    const next = chain.then(fn, fn);
    chain = next.catch(() => undefined);
    return next;
  };
}
