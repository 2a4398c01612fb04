import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { SousError } from '@sous/core';
import { allows, refusalText, type Principal, type Scope, type TokenRefusal, type TokenStore } from '../auth';

/** The session cookie's name. */
export const SESSION_COOKIE = 'sous_session';
/** The header (or form field `_csrf`) that carries the CSRF token on writes authorised by the cookie alone. */
export const CSRF_HEADER = 'x-csrf-token';

export interface StoredSession {
  /** sha256 of the session id: the id itself lives only in the browser's cookie. */
  hash: string;
  /** The token it was signed in with: revoking (or expiring) the token ends the session. */
  tokenId: string;
  createdAt: string;
  expiresAt: string;
}

/** Why a cookie stands for no session. */
export type SessionRefusal = 'unknown' | 'expired' | TokenRefusal;

const ID_RE = /^[A-Za-z0-9_-]{43}$/;
const sha256 = (s: string) => crypto.createHash('sha256').update(s).digest('hex');

/** The session file beside the token file (mode 0600, never in the GDM). */
export function sessionsFileFor(tokensFile: string): string {
  return path.join(path.dirname(tokensFile), 'sessions.json');
}

/**
 * Browser sessions of the status page. Signing in with a token makes a
 * random session id, sent once as an HttpOnly cookie; only its sha256 is
 * stored, with the token's id and an expiry. The CSRF token of a session is
 * an HMAC of its id, so it needs no storage and cannot be had without the
 * cookie.
 */
export class SessionStore {
  private sessions: StoredSession[] = [];
  private loadedAt = -1;

  constructor(
    readonly file: string,
    private readonly tokens: TokenStore,
    readonly ttlMs = 12 * 3600_000,
  ) {}

  private async load(): Promise<void> {
    try {
      const st = await fsp.stat(this.file);
      if (st.mtimeMs === this.loadedAt) return;
      this.sessions = (JSON.parse(await fsp.readFile(this.file, 'utf8')) as { sessions?: StoredSession[] }).sessions ?? [];
      this.loadedAt = st.mtimeMs;
    } catch (e) {
      if ((e as { code?: string }).code !== 'ENOENT') throw e;
      this.sessions = [];
    }
  }

  private async save(): Promise<void> {
    const now = Date.now();
    this.sessions = this.sessions.filter((s) => Date.parse(s.expiresAt) > now);
    await fsp.mkdir(path.dirname(this.file), { recursive: true });
    const tmp = `${this.file}.${process.pid}.tmp`;
    await fsp.writeFile(tmp, JSON.stringify({ sessions: this.sessions }, null, 1), { mode: 0o600 });
    await fsp.rename(tmp, this.file);
    this.loadedAt = fs.statSync(this.file).mtimeMs;
  }

  /** Starts a session for a token's principal; the returned id goes into the cookie and nowhere else. */
  async create(p: Principal): Promise<{ id: string; expiresAt: string }> {
    await this.load();
    const id = crypto.randomBytes(32).toString('base64url');
    const now = Date.now();
    const expiresAt = new Date(now + this.ttlMs).toISOString();
    this.sessions.push({ hash: sha256(id), tokenId: p.id, createdAt: new Date(now).toISOString(), expiresAt });
    await this.save();
    return { id, expiresAt };
  }

  /** The principal of a session id, or why there is none: unknown (forged, signed out), expired, or its token revoked or expired. */
  async resolve(id: string): Promise<{ principal: Principal; expiresAt: string } | { refusal: SessionRefusal }> {
    if (!ID_RE.test(id)) return { refusal: 'unknown' };
    await this.load();
    const want = Buffer.from(sha256(id), 'hex');
    const s = this.sessions.find((x) => crypto.timingSafeEqual(Buffer.from(x.hash, 'hex'), want));
    if (!s) return { refusal: 'unknown' };
    if (Date.parse(s.expiresAt) <= Date.now()) return { refusal: 'expired' };
    const t = await this.tokens.byId(s.tokenId);
    if (!('principal' in t)) return { refusal: t };
    return { principal: t.principal, expiresAt: s.expiresAt };
  }

  async remove(id: string): Promise<void> {
    await this.load();
    const h = sha256(id);
    const before = this.sessions.length;
    this.sessions = this.sessions.filter((s) => s.hash !== h);
    if (this.sessions.length !== before) await this.save();
  }

  /** The CSRF token of a session: an HMAC of its id. */
  csrfFor(id: string): string {
    return crypto.createHmac('sha256', id).update('sous-csrf').digest('base64url');
  }

  checkCsrf(id: string, given: string | undefined): boolean {
    if (!given) return false;
    const want = Buffer.from(this.csrfFor(id));
    const got = Buffer.from(given);
    return want.length === got.length && crypto.timingSafeEqual(want, got);
  }
}

/** What a session refusal says to the person at the login form. */
export function sessionRefusalText(r: SessionRefusal): string {
  if (r === 'unknown') return 'Your session is not valid (it ended, or the cookie is not one this server made). Sign in again.';
  if (r === 'expired') return 'Your session expired. Sign in again.';
  return `${refusalText(r)} Sign in with another token.`;
}

/** The cookies of a request (the first value of each name). */
export function parseCookies(header: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    const k = part.slice(0, eq).trim();
    if (!(k in out)) {
      try {
        out[k] = decodeURIComponent(part.slice(eq + 1).trim());
      } catch {
        out[k] = part.slice(eq + 1).trim();
      }
    }
  }
  return out;
}

/** The Set-Cookie value for a session: HttpOnly, SameSite=Strict, Secure over HTTPS, Path=/. */
export function sessionCookie(id: string, opts: { secure: boolean; maxAgeSeconds: number }): string {
  return [`${SESSION_COOKIE}=${id}`, 'Path=/', 'HttpOnly', 'SameSite=Strict', `Max-Age=${Math.max(0, Math.floor(opts.maxAgeSeconds))}`, ...(opts.secure ? ['Secure'] : [])].join('; ');
}

/** The Set-Cookie value that removes the session cookie. */
export function clearedCookie(secure: boolean): string {
  return sessionCookie('', { secure, maxAgeSeconds: 0 });
}

const SAFE = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Authorises a request by its session cookie, for routes that take a bearer
 * token too: undefined when it carries no session cookie. A cookie that
 * stands for no session is UNAUTHORIZED with the reason; a write (anything
 * but GET and HEAD) with the cookie alone needs the session's CSRF token in
 * X-CSRF-Token, else it is FORBIDDEN (CSRF_TOKEN_MISSING / CSRF_TOKEN_INVALID).
 */
export async function sessionPrincipal(
  sessions: SessionStore,
  req: { method: string; headers: Record<string, string | string[] | undefined>; body?: unknown },
  need: Scope,
): Promise<Principal | undefined> {
  const id = parseCookies(typeof req.headers.cookie === 'string' ? req.headers.cookie : undefined)[SESSION_COOKIE];
  if (!id) return undefined;
  const r = await sessions.resolve(id);
  if ('refusal' in r) throw new SousError('UNAUTHORIZED', `the session cookie is not valid: ${sessionRefusalText(r.refusal)}`, { exit: 2, hints: ['Sign in again at /login, or send Authorization: Bearer <token>'] });
  if (!SAFE.has(req.method.toUpperCase())) {
    const h = req.headers[CSRF_HEADER];
    const fromForm = req.body && typeof req.body === 'object' ? (req.body as Record<string, unknown>)._csrf : undefined;
    const given = typeof h === 'string' ? h : typeof fromForm === 'string' ? fromForm : undefined;
    if (!given) throw new SousError('CSRF_TOKEN_MISSING', 'a write authorised by the session cookie alone needs the CSRF token', { exit: 2, hints: ['Send the page\'s CSRF token in X-CSRF-Token, or use a bearer token'] });
    if (!sessions.checkCsrf(id, given)) throw new SousError('CSRF_TOKEN_INVALID', 'the CSRF token does not belong to this session', { exit: 2, hints: ['Reload the page for a fresh token'] });
  }
  if (!allows(r.principal.scope, need)) {
    throw new SousError('FORBIDDEN', `the token ${JSON.stringify(r.principal.name)} has scope ${r.principal.scope}; this needs ${need}`, { exit: 2, hints: [`Sign in with a token that has the ${need} scope`] });
  }
  return r.principal;
}
