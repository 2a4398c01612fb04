import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { usageError } from '@sous/core';
import { sousDir } from './context';

export type Scope = 'read' | 'deploy' | 'admin';
export const SCOPES: readonly Scope[] = ['read', 'deploy', 'admin'];
const RANK: Record<Scope, number> = { read: 0, deploy: 1, admin: 2 };

/** Whether a token with `have` may do what needs `need` (admin ⊃ deploy ⊃ read). */
export function allows(have: Scope, need: Scope): boolean {
  return RANK[have] >= RANK[need];
}

export interface StoredToken {
  id: string;
  name: string;
  email?: string;
  scope: Scope;
  /** sha256 of the secret part: the token itself is never stored. */
  hash: string;
  createdAt: string;
  /** After this time (ISO 8601) the token no longer works. */
  expiresAt?: string;
}

/** A revoked token, kept so a person who pastes it is told why it fails. */
export interface RevokedToken {
  id: string;
  name: string;
  revokedAt: string;
}

/** Why a token does not stand for anyone. */
export type TokenRefusal = { reason: 'malformed' | 'unknown' } | { reason: 'revoked'; at: string } | { reason: 'expired'; at: string };

/** What a token refusal says to a person. */
export function refusalText(r: TokenRefusal): string {
  switch (r.reason) {
    case 'malformed':
      return 'That is not a Sous token (they look like sous_<id>_<secret>).';
    case 'unknown':
      return 'That token is not valid here.';
    case 'revoked':
      return `That token was revoked (${r.at}).`;
    case 'expired':
      return `That token expired (${r.at}).`;
  }
}

export interface Principal {
  id: string;
  name: string;
  email: string;
  scope: Scope;
}

/** The server's token file for a state directory, unless one is given. */
export function tokensFileFor(stateLocation: string): string {
  return path.join(sousDir(stateLocation), 'tokens.json');
}

const TOKEN_RE = /^sous_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$/;

function hashSecret(secret: string): string {
  return crypto.createHash('sha256').update(secret).digest('hex');
}

/**
 * Bearer tokens, stored hashed in a JSON file (mode 0600). A token is
 * `sous_<id>_<secret>`: the id finds the record, the secret is compared by hash.
 */
export class TokenStore {
  private tokens: StoredToken[] = [];
  private revoked: RevokedToken[] = [];
  private loadedAt = 0;
  private checkedAt = 0;

  constructor(readonly file: string) {}

  private loading?: Promise<void>;

  /** Re-reads the file when it changed; concurrent callers share one read. */
  private load(force = false): Promise<void> {
    // Tokens made or revoked by `sous server token` take effect within a second.
    if (!force && Date.now() - this.checkedAt < 1000) return this.loading ?? Promise.resolve();
    this.checkedAt = Date.now();
    this.loading = (async () => {
      try {
        const st = await fsp.stat(this.file);
        if (st.mtimeMs === this.loadedAt) return;
        const doc = JSON.parse(await fsp.readFile(this.file, 'utf8')) as { tokens?: StoredToken[]; revoked?: RevokedToken[] };
        this.tokens = doc.tokens ?? [];
        this.revoked = doc.revoked ?? [];
        this.loadedAt = st.mtimeMs;
      } catch (e) {
        if ((e as { code?: string }).code !== 'ENOENT') throw e;
        this.tokens = [];
        this.revoked = [];
      }
    })();
    return this.loading;
  }

  private async save(): Promise<void> {
    await fsp.mkdir(path.dirname(this.file), { recursive: true });
    const tmp = `${this.file}.${process.pid}.tmp`;
    await fsp.writeFile(tmp, JSON.stringify({ tokens: this.tokens, ...(this.revoked.length ? { revoked: this.revoked.slice(-1000) } : {}) }, null, 2), { mode: 0o600 });
    await fsp.rename(tmp, this.file);
    this.loadedAt = fs.statSync(this.file).mtimeMs;
    this.checkedAt = Date.now();
  }

  /** Makes a token; the returned string is the only time its secret exists in the clear. */
  async create(name: string, scope: Scope, email?: string, opts: { expiresAt?: string } = {}): Promise<{ token: string; id: string; name: string; scope: Scope; expiresAt?: string }> {
    if (!/^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$/.test(name)) {
      throw usageError('INVALID_TOKEN_NAME', `token name ${JSON.stringify(name)} is not allowed`, { hints: ['Names are letters, digits, ".", "_", "@" and "-", at most 64 characters'] });
    }
    if (!SCOPES.includes(scope)) throw usageError('INVALID_SCOPE', `scope ${JSON.stringify(scope)} is not one of ${SCOPES.join(', ')}`, { hints: ['--scope read|deploy|admin'] });
    await this.load(true);
    const id = crypto.randomBytes(6).toString('hex');
    const secret = crypto.randomBytes(32).toString('base64url');
    this.tokens.push({ id, name, email, scope, hash: hashSecret(secret), createdAt: new Date().toISOString(), ...(opts.expiresAt ? { expiresAt: opts.expiresAt } : {}) });
    await this.save();
    return { token: `sous_${id}_${secret}`, id, name, scope, ...(opts.expiresAt ? { expiresAt: opts.expiresAt } : {}) };
  }

  async list(): Promise<Omit<StoredToken, 'hash'>[]> {
    await this.load();
    return this.tokens.map(({ hash: _hash, ...t }) => t);
  }

  async revoke(idOrName: string): Promise<number> {
    await this.load(true);
    const before = this.tokens.length;
    const at = new Date().toISOString();
    for (const t of this.tokens) if (t.id === idOrName || t.name === idOrName) this.revoked.push({ id: t.id, name: t.name, revokedAt: at });
    this.tokens = this.tokens.filter((t) => t.id !== idOrName && t.name !== idOrName);
    if (this.tokens.length !== before) await this.save();
    return before - this.tokens.length;
  }

  /** The principal a bearer token stands for, or undefined. Constant-time on the secret. */
  async verify(token: string): Promise<Principal | undefined> {
    const r = await this.check(token);
    return 'principal' in r ? r.principal : undefined;
  }

  /** The principal a token stands for, or why it stands for no one (revoked and expired tokens say when). */
  async check(token: string): Promise<{ principal: Principal } | TokenRefusal> {
    const m = TOKEN_RE.exec(token.trim());
    if (!m) return { reason: 'malformed' };
    await this.load();
    // A token made a moment ago may not be in what was loaded: look at the file again (a stat, and a read only when it changed).
    if (!this.tokens.some((t) => t.id === m[1])) await this.load(true);
    const rec = this.tokens.find((t) => t.id === m[1]);
    const want = Buffer.from(rec?.hash ?? '0'.repeat(64), 'hex');
    const got = Buffer.from(hashSecret(m[2]), 'hex');
    if (!rec || !crypto.timingSafeEqual(want, got)) {
      const gone = this.revoked.find((t) => t.id === m[1]);
      return gone ? { reason: 'revoked', at: gone.revokedAt } : { reason: 'unknown' };
    }
    return this.live(rec);
  }

  /** The principal of the token with this id, as long as it is neither revoked nor expired (a session stays tied to its token). */
  async byId(id: string): Promise<{ principal: Principal } | TokenRefusal> {
    await this.load();
    const rec = this.tokens.find((t) => t.id === id);
    if (!rec) {
      const gone = this.revoked.find((t) => t.id === id);
      return gone ? { reason: 'revoked', at: gone.revokedAt } : { reason: 'unknown' };
    }
    return this.live(rec);
  }

  private live(rec: StoredToken): { principal: Principal } | TokenRefusal {
    if (rec.expiresAt && Date.parse(rec.expiresAt) <= Date.now()) return { reason: 'expired', at: rec.expiresAt };
    return { principal: { id: rec.id, name: rec.name, email: rec.email ?? `${rec.name}@sous-token`, scope: rec.scope } };
  }
}
