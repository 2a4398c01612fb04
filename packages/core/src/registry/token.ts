/**
 * The registry auth challenge (`WWW-Authenticate`) and Docker's token
 * service protocol: a bearer token for a set of scopes, fetched with the
 * user's credentials (GET with Basic auth, or the OAuth2 form with a refresh
 * token or a password) or anonymously for public pulls.
 */
import { failure, type SousError } from '../errors';
import { markSecret } from '../log';
import { networkFailure, sousFetch, type TlsOptions } from '../net/fetch';
import type { RegistryAuth } from './auth';
import { unauthorized } from './errors';

/** One challenge of a WWW-Authenticate header. */
export interface Challenge {
  scheme: 'basic' | 'bearer' | string;
  params: Record<string, string>;
}

/** Parses `Bearer realm="…",service="…",scope="…"` (several challenges, quoted or bare values). */
export function parseChallenges(header: string | null): Challenge[] {
  const out: Challenge[] = [];
  if (!header) return out;
  const s = header;
  let i = 0;
  const skip = (chars: string) => {
    while (i < s.length && chars.includes(s[i])) i++;
  };
  const word = (): string => {
    const start = i;
    while (i < s.length && /[A-Za-z0-9_.~+/-]/.test(s[i])) i++;
    return s.slice(start, i);
  };
  let current: Challenge | undefined;
  while (i < s.length) {
    skip(' ,\t');
    const start = i;
    const w = word();
    if (!w) {
      i++;
      continue;
    }
    skip(' \t');
    if (s[i] === '=' && current) {
      i++;
      skip(' \t');
      let value = '';
      if (s[i] === '"') {
        i++;
        while (i < s.length && s[i] !== '"') {
          if (s[i] === '\\' && i + 1 < s.length) i++;
          value += s[i++];
        }
        i++;
      } else {
        const v0 = i;
        while (i < s.length && s[i] !== ',') i++;
        value = s.slice(v0, i).trim();
      }
      current.params[w.toLowerCase()] = value;
    } else {
      i = start + w.length;
      current = { scheme: w.toLowerCase(), params: {} };
      out.push(current);
    }
  }
  return out;
}

/** A token and when to stop using it. */
export interface Token {
  token: string;
  expiresAt: number;
  /** The refresh token the service handed back, if any (never stored). */
  refreshToken?: string;
}

const DEFAULT_EXPIRY_S = 60;

function realmHost(realm: string): string {
  try {
    return new URL(realm).host;
  } catch {
    return realm;
  }
}

function hostname(url: string): string {
  try {
    return new URL(url).hostname;
  } catch {
    return url;
  }
}

function tokenRefused(registry: string, realm: string, status: number, body: string): SousError {
  const said = body.trim().slice(0, 200);
  return failure('REGISTRY_TOKEN_REFUSED', `the token service of ${registry} (${realmHost(realm)}) refused a token: HTTP ${status}${said ? ` (${said})` : ''}`, {
    hints: [`Check the registry's token service answers: curl -i '${realm.split('?')[0]}'`, 'Its own words are in the message; a 403 usually means the account has no access to the repository'],
    details: { registry, realm: realm.split('?')[0], status },
  });
}

/**
 * Asks the registry's token service for a token covering `scopes`. With
 * credentials: GET with Basic auth, falling back to the OAuth2 password grant
 * where the service wants POST; a refresh token always uses the OAuth2 form.
 * Without: an anonymous GET (public pulls).
 */
export async function fetchToken(
  registry: string,
  challenge: Challenge,
  scopes: readonly string[],
  auth: RegistryAuth,
  opts: { tls?: TlsOptions; timeoutMs?: number } = {},
): Promise<Token> {
  const realm = challenge.params.realm;
  if (!realm || !/^https?:\/\//i.test(realm)) {
    throw failure('REGISTRY_TOKEN_REFUSED', `${registry} asked for a bearer token but named no token service (realm ${JSON.stringify(realm ?? '')})`, {
      hints: ['The registry is misconfigured: its auth.token.realm must be the URL of a token service'],
      details: { registry },
    });
  }
  const service = challenge.params.service;
  const cred = auth.credential;
  // A token service on the registry's own host is trusted as the registry is (its CA, its client certificate).
  const tls = hostname(realm) === hostname(`https://${registry}`) ? opts.tls : undefined;
  const timeout = opts.timeoutMs ?? 30_000;
  const send = async (init: RequestInit & { url: string }): Promise<{ status: number; body: string }> => {
    let res: Response;
    try {
      res = await sousFetch(init.url, { ...init, signal: AbortSignal.timeout(timeout), redirect: 'follow' }, { tls });
    } catch (e) {
      const f = networkFailure(e, init.url);
      throw failure(f.kind === 'proxy' ? 'REGISTRY_PROXY_REFUSED' : f.kind === 'tls-untrusted' ? 'REGISTRY_TLS_UNTRUSTED' : 'REGISTRY_UNREACHABLE', `the token service of ${registry} (${realmHost(realm)}) cannot be reached: ${f.reason}`, {
        hints: [`Check it answers: curl -i '${realm}'`],
        details: { registry, realm, reason: f.reason },
        cause: e,
      });
    }
    return { status: res.status, body: await res.text() };
  };
  const form = (fields: Record<string, string | undefined>): string => {
    const p = new URLSearchParams();
    for (const [k, v] of Object.entries(fields)) if (v !== undefined) p.append(k, v);
    return p.toString();
  };
  let answer: { status: number; body: string };
  if (cred?.identityToken) {
    answer = await send({
      url: realm,
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: form({ grant_type: 'refresh_token', refresh_token: cred.identityToken, service, scope: scopes.join(' ') || undefined, client_id: 'sous' }),
    });
  } else {
    const url = new URL(realm);
    if (service) url.searchParams.set('service', service);
    for (const s of scopes) url.searchParams.append('scope', s);
    if (cred?.username) url.searchParams.set('account', cred.username);
    const headers: Record<string, string> = {};
    if (cred?.password !== undefined) headers.authorization = `Basic ${Buffer.from(`${cred.username}:${cred.password}`).toString('base64')}`;
    answer = await send({ url: url.toString(), method: 'GET', headers });
    // GCR answers 404 and some services 405 to a GET: they want the OAuth2 password grant.
    if (cred?.password !== undefined && (answer.status === 404 || answer.status === 405)) {
      answer = await send({
        url: realm,
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: form({ grant_type: 'password', username: cred.username, password: cred.password, service, scope: scopes.join(' ') || undefined, client_id: 'sous' }),
      });
    }
  }
  if (answer.status === 401 || (answer.status === 400 && /invalid_grant|invalid_client|unauthorized/i.test(answer.body))) {
    throw unauthorized(registry, auth, `its token service (${realmHost(realm)}) refused the credentials`);
  }
  if (answer.status < 200 || answer.status >= 300) throw tokenRefused(registry, realm, answer.status, answer.body);
  let json: { token?: string; access_token?: string; expires_in?: number; issued_at?: string; refresh_token?: string };
  try {
    json = JSON.parse(answer.body) as typeof json;
  } catch {
    throw tokenRefused(registry, realm, answer.status, 'the answer is not JSON');
  }
  const token = json.token || json.access_token;
  if (!token) throw tokenRefused(registry, realm, answer.status, 'the answer holds no token');
  markSecret(token);
  markSecret(json.refresh_token);
  const issued = json.issued_at ? Date.parse(json.issued_at) : NaN;
  const start = Number.isFinite(issued) && Math.abs(issued - Date.now()) < 3600_000 ? issued : Date.now();
  const life = (typeof json.expires_in === 'number' && json.expires_in > 0 ? json.expires_in : DEFAULT_EXPIRY_S) * 1000;
  return { token, expiresAt: start + life * 0.9, ...(json.refresh_token ? { refreshToken: json.refresh_token } : {}) };
}

/** `repository:<name>:<actions>` scopes, merged per repository. */
export function scopeString(scopes: Iterable<string>): string[] {
  const byRes = new Map<string, Set<string>>();
  for (const s of scopes) {
    const i = s.lastIndexOf(':');
    if (i < 0) continue;
    const res = s.slice(0, i);
    const set = byRes.get(res) ?? new Set<string>();
    for (const a of s.slice(i + 1).split(',')) if (a) set.add(a);
    byRes.set(res, set);
  }
  return [...byRes].map(([res, a]) => `${res}:${[...a].sort().join(',')}`).sort();
}

/** Whether a token granted for `have` covers `want`. */
export function covers(have: readonly string[], want: readonly string[]): boolean {
  const h = new Map(have.map((s) => [s.slice(0, s.lastIndexOf(':')), new Set(s.slice(s.lastIndexOf(':') + 1).split(','))]));
  return want.every((s) => {
    const set = h.get(s.slice(0, s.lastIndexOf(':')));
    return !!set && (set.has('*') || s.slice(s.lastIndexOf(':') + 1).split(',').every((a) => set.has(a)));
  });
}
