import * as crypto from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { isSousError, makeManifestID, SousError, usageError, validateOrThrow, type ManifestID } from '@sous/core';
import { allows, type Principal, type Scope } from './auth';
import { sessionPrincipal } from './auth/session';
import type { ServerContext } from './context';

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
  }
}

/** HTTP status for a SousError, by code first, then by kind of error. */
export function statusOf(e: SousError): number {
  const byCode: Record<string, number> = {
    UNAUTHORIZED: 401,
    FORBIDDEN: 403,
    CSRF_TOKEN_MISSING: 403,
    CSRF_TOKEN_INVALID: 403,
    PRECONDITION_REQUIRED: 428,
    PRECONDITION_FAILED: 412,
    GDM_CONFLICT: 412,
    MANIFEST_CHANGED: 412,
    MANIFEST_EXISTS: 409,
    MANIFEST_UNREADABLE: 409,
    CLUSTER_EXISTS: 409,
    CLUSTER_IN_USE: 409,
    MISDIRECTED: 421,
    BODY_TOO_LARGE: 413,
    UNSUPPORTED_MEDIA_TYPE: 415,
    REGISTRY_UNREACHABLE: 502,
    STATE_REMOTE_UNREACHABLE: 502,
    STATE_PUSH_FAILED: 502,
    GDM_BUSY: 503,
    SHUTTING_DOWN: 503,
  };
  if (byCode[e.code]) return byCode[e.code];
  if (/_NOT_FOUND$|^UNKNOWN_CLUSTER$|^NOT_FOUND$/.test(e.code)) return 404;
  if (e.exit === 2) return 400;
  if (/^(SIGNATURE_|ADVISORY_|IMAGE_|VERIFY_|KEY_)/.test(e.code)) return 422;
  return 500;
}

export function sendError(reply: FastifyReply, e: SousError): FastifyReply {
  const status = statusOf(e);
  if (status === 401) reply.header('WWW-Authenticate', 'Bearer realm="sous"');
  return reply.code(status).send({ error: { code: e.code, message: e.message, ...(e.hints.length ? { hints: e.hints } : {}), ...(e.field ? { field: e.field } : {}), ...(e.details ? { details: e.details } : {}), exit: e.exit } });
}

/** Authenticates the bearer token (or the status page's session cookie) and checks its scope. */
export async function authorize(ctx: ServerContext, req: FastifyRequest, need: Scope): Promise<Principal> {
  const h = req.headers.authorization;
  const fromSession = h === undefined && ctx.sessions ? await sessionPrincipal(ctx.sessions, req, need) : undefined;
  if (fromSession) return (req.principal = fromSession);
  const m = typeof h === 'string' ? /^Bearer\s+(\S+)$/i.exec(h) : null;
  if (!m) throw new SousError('UNAUTHORIZED', 'a bearer token is needed', { exit: 2, hints: ['Send Authorization: Bearer <token>; make one with: sous server token create --name NAME --scope read|deploy|admin'] });
  const r = await ctx.tokens.check(m[1]);
  if (!('principal' in r)) throw new SousError('UNAUTHORIZED', r.reason === 'expired' || r.reason === 'revoked' ? `the token was ${r.reason} (${r.at})` : 'the token is not valid', { exit: 2, hints: ['Check SOUS_TOKEN; tokens are made with: sous server token create'] });
  const p = r.principal;
  if (!allows(p.scope, need)) throw new SousError('FORBIDDEN', `the token ${JSON.stringify(p.name)} has scope ${p.scope}; this needs ${need}`, { exit: 2, hints: [`Use a token with the ${need} scope`] });
  req.principal = p;
  return p;
}

export function quoteEtag(tag: string): string {
  return `"${tag}"`;
}

/**
 * Checks a write's precondition against the resource's current ETag
 * (undefined when it does not exist): a write without If-Match or
 * If-None-Match is refused (428), a stale one fails (412).
 */
export function checkPrecondition(req: FastifyRequest, current: string | undefined): void {
  const ifMatch = req.headers['if-match'];
  const ifNoneMatch = req.headers['if-none-match'];
  if (ifMatch === undefined && ifNoneMatch === undefined) {
    throw new SousError('PRECONDITION_REQUIRED', 'writes need a precondition: If-Match with the ETag you read (or If-None-Match: * to create)', { exit: 2, hints: ['GET the resource, then send its ETag in If-Match'] });
  }
  const tags = (v: string | string[]) =>
    (Array.isArray(v) ? v.join(',') : v)
      .split(',')
      .map((t) => t.trim().replace(/^W\//, ''))
      .filter(Boolean);
  if (ifMatch !== undefined) {
    const want = tags(ifMatch);
    const ok = current !== undefined && (want.includes('*') || want.includes(quoteEtag(current)));
    if (!ok) {
      throw new SousError('PRECONDITION_FAILED', current === undefined ? 'the resource does not exist' : 'the resource changed since you read it (stale ETag)', {
        exit: 1,
        hints: ['GET it again and retry with the new ETag'],
        details: { etag: current ? quoteEtag(current) : null },
      });
    }
  }
  if (ifNoneMatch !== undefined) {
    const want = tags(ifNoneMatch);
    if (current !== undefined && (want.includes('*') || want.includes(quoteEtag(current)))) {
      throw new SousError('PRECONDITION_FAILED', 'the resource already exists', { exit: 1, hints: ['Use If-Match with its ETag to change it'], details: { etag: quoteEtag(current) } });
    }
  }
}


function queryString(q: Record<string, unknown>, key: string): string | undefined {
  const v = q[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw usageError('INVALID_QUERY', `query parameter ${key} must be given once`, { field: key, hints: [`?${key}=...`] });
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f]/.test(v)) throw usageError('UNSAFE_PATH', `query parameter ${key} holds control characters`, { field: key, hints: ['IDs are plain text'] });
  return v;
}

/** The ManifestID named by ?repo&offset&flavor, refusing anything that could leave the state directory. */
export function manifestIDFrom(q: Record<string, unknown>): ManifestID {
  const repo = queryString(q, 'repo');
  const offset = queryString(q, 'offset') ?? '';
  const flavor = queryString(q, 'flavor') ?? '';
  if (!repo) throw usageError('MISSING_REPO', 'the repo query parameter is required', { field: 'repo', hints: ['?repo=github.com/acme/shop&offset=&flavor='] });
  return makeManifestID(repo, offset, flavor);
}

export function clusterFrom(q: Record<string, unknown>, required = true): string | undefined {
  const c = queryString(q, 'cluster');
  if (!c && required) throw usageError('MISSING_CLUSTER', 'the cluster query parameter is required', { field: 'cluster', hints: ['?cluster=prod'] });
  if (c && !/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(c)) throw usageError('INVALID_CLUSTER_NAME', `cluster ${JSON.stringify(c)} is not a cluster name`, { field: 'cluster', hints: ['Cluster names are letters, digits, ".", "_" and "-"'] });
  return c;
}

/** Validates a request body against a definition in schemas/api.schema.json (or another schema). */
export function body<T>(req: FastifyRequest, pointer: string, schema = 'api'): T {
  if (req.body === undefined || req.body === null || typeof req.body !== 'object') {
    throw usageError('INVALID_BODY', 'the request needs a JSON object body', { hints: ['Send Content-Type: application/json'] });
  }
  return validateOrThrow<T>(schema, req.body, 'INVALID_BODY', { pointer, what: 'request body' });
}

export function etagOfJSON(v: unknown): string {
  return crypto.createHash('sha256').update(JSON.stringify(v)).digest('hex').slice(0, 40);
}

export function toError(e: unknown): SousError {
  if (isSousError(e)) return e;
  const fe = e as { statusCode?: number; code?: string; message?: string };
  if (fe.statusCode === 413 || fe.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return new SousError('BODY_TOO_LARGE', 'the request body is too large', { exit: 2, hints: ['Send less at once'] });
  if (fe.statusCode === 415 || fe.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return new SousError('UNSUPPORTED_MEDIA_TYPE', 'send JSON (Content-Type: application/json)', { exit: 2 });
  if (fe.statusCode && fe.statusCode >= 400 && fe.statusCode < 500) return new SousError('BAD_REQUEST', fe.message ?? 'bad request', { exit: 2, hints: ['Check the request body and headers'] });
  return new SousError('INTERNAL_ERROR', fe.message ?? String(e));
}
