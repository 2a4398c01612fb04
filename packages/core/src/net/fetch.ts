/**
 * Every HTTP request Sous makes of its own (registries, notifiers, webhooks,
 * the Sous server, schedulers' APIs) goes through `sousFetch`: Node's fetch,
 * routed through the proxy the environment names (see proxy.ts) and, for a
 * registry with a private CA or a client certificate, over a connection that
 * uses them. A request that needs neither is a plain fetch; TLS settings
 * alone take an Agent of the undici Node's fetch already runs on; only a
 * proxy loads undici's own package (its ProxyAgent).
 */
import * as crypto from 'node:crypto';
import type { Dispatcher } from 'undici';
import { proxyFor, safeProxy } from './proxy';

/** TLS settings of one server: a private CA, a client certificate, or no verification at all. */
export interface TlsOptions {
  /** A private CA, trusted besides the system's roots (a registry's blobs may be served from storage with a public certificate). */
  ca?: string | Buffer;
  cert?: string | Buffer;
  key?: string | Buffer;
  /** False skips the certificate check (an insecure registry). */
  rejectUnauthorized?: boolean;
}

export interface SousFetchOptions {
  tls?: TlsOptions;
  env?: Record<string, string | undefined>;
}

export type SousRequestInit = RequestInit & { duplex?: 'half' };

const dispatchers = new Map<string, Dispatcher>();

function tlsKey(tls: TlsOptions | undefined): string {
  if (!tls) return '';
  const h = crypto.createHash('sha256');
  for (const part of [tls.ca, tls.cert, tls.key]) h.update(part === undefined ? '-' : crypto.createHash('sha256').update(part).digest('hex'));
  h.update(tls.rejectUnauthorized === false ? 'noverify' : 'verify');
  return h.digest('hex');
}

function hasTls(tls: TlsOptions | undefined): tls is TlsOptions {
  return !!tls && (tls.ca !== undefined || tls.cert !== undefined || tls.key !== undefined || tls.rejectUnauthorized === false);
}

const GLOBAL_DISPATCHER = Symbol.for('undici.globalDispatcher.1');

/**
 * The Agent class of the undici Node's own fetch runs on: the global
 * dispatcher's, which Node makes on the first fetch. A connection with TLS
 * settings then needs no second copy of undici loaded (tens of
 * milliseconds of a build); undici's own package is the fallback.
 */
function builtinAgent(): (new (o: object) => Dispatcher) | undefined {
  const g = globalThis as unknown as Record<symbol, { constructor?: unknown } | undefined>;
  if (!g[GLOBAL_DISPATCHER]) void fetch('data:,').then((r) => r.arrayBuffer(), () => undefined);
  const ctor = g[GLOBAL_DISPATCHER]?.constructor as (new (o: object) => Dispatcher) | undefined;
  return typeof ctor === 'function' && ctor.name === 'Agent' ? ctor : undefined;
}

/**
 * One secure context per set of TLS settings: the system's roots plus the
 * private CA. Adding the CA to the default context's store costs about a
 * millisecond; handing Node the roots' PEM text with it costs thirty.
 */
function secureContext(tls: TlsOptions): import('node:tls').SecureContext {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const nodeTls = require('node:tls') as typeof import('node:tls');
  const ctx = nodeTls.createSecureContext({ cert: tls.cert, key: tls.key });
  if (tls.ca === undefined) return ctx;
  const native = (ctx as unknown as { context?: { addCACert?: (pem: string | Buffer) => void } }).context;
  if (typeof native?.addCACert === 'function') {
    native.addCACert(tls.ca);
    return ctx;
  }
  return nodeTls.createSecureContext({ cert: tls.cert, key: tls.key, ca: [...nodeTls.rootCertificates, tls.ca.toString()] });
}

/** The dispatcher for a request, or undefined for Node's own (no proxy, no TLS settings). */
export function dispatcherFor(url: string | URL, opts: SousFetchOptions = {}): Dispatcher | undefined {
  const proxy = proxyFor(url, opts.env);
  const tls = hasTls(opts.tls) ? opts.tls : undefined;
  if (!proxy && !tls) return undefined;
  const key = `${proxy ?? 'direct'} ${tlsKey(tls)}`;
  let d = dispatchers.get(key);
  if (!d) {
    const connect = tls ? { secureContext: secureContext(tls), rejectUnauthorized: tls.rejectUnauthorized !== false } : undefined;
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const undici = () => require('undici') as typeof import('undici');
    d = proxy ? new (undici().ProxyAgent)({ uri: proxy, ...(connect ? { requestTls: connect } : {}) }) : new (builtinAgent() ?? undici().Agent)({ connect });
    dispatchers.set(key, d);
  }
  return d;
}

/** fetch, through the environment's proxy and with the server's TLS settings. */
export function sousFetch(url: string | URL, init: SousRequestInit = {}, opts: SousFetchOptions = {}): Promise<Response> {
  const dispatcher = dispatcherFor(url, opts);
  return fetch(url, (dispatcher ? { ...init, dispatcher } : init) as RequestInit);
}

/** What went wrong below HTTP: no connection, a proxy that said no, a certificate not trusted, a server not speaking TLS. */
export interface NetworkFailure {
  kind: 'proxy' | 'tls-untrusted' | 'tls-mismatch' | 'tls' | 'not-tls' | 'timeout' | 'network';
  /** The system or TLS error code, when there is one. */
  code?: string;
  /** A short reason for messages. */
  reason: string;
  /** The proxy the request went through, when it did (without credentials). */
  proxy?: string;
}

const UNTRUSTED = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_UNTRUSTED',
  'CERT_SIGNATURE_FAILURE',
]);

/** Classifies an error thrown by fetch. */
export function networkFailure(e: unknown, url?: string | URL, env?: Record<string, string | undefined>): NetworkFailure {
  const chain: { name?: string; code?: string; message?: string; cause?: unknown }[] = [];
  for (let c = e as { cause?: unknown } | undefined, i = 0; c && i < 6; c = c.cause as { cause?: unknown } | undefined, i++) chain.push(c as never);
  const proxy = url ? proxyFor(url, env) : undefined;
  const viaProxy = proxy ? safeProxy(proxy) : undefined;
  const codes = chain.map((c) => c.code).filter((c): c is string => typeof c === 'string');
  const text = chain.map((c) => c.message ?? '').join(' | ');
  const proxyAnswer = /Proxy response \((\d+)\)/.exec(text);
  if (proxyAnswer) return { kind: 'proxy', code: `HTTP ${proxyAnswer[1]}`, reason: `the proxy ${viaProxy ?? ''} answered ${proxyAnswer[1]} to the tunnel request`.replace('  ', ' '), proxy: viaProxy };
  if (chain.some((c) => c.name === 'AbortError' || c.name === 'TimeoutError')) return { kind: 'timeout', reason: 'no answer in time', proxy: viaProxy };
  const untrusted = codes.find((c) => UNTRUSTED.has(c));
  if (untrusted) return { kind: 'tls-untrusted', code: untrusted, reason: `its TLS certificate is not signed by a trusted CA (${untrusted})`, proxy: viaProxy };
  if (codes.includes('ERR_TLS_CERT_ALTNAME_INVALID')) return { kind: 'tls-mismatch', code: 'ERR_TLS_CERT_ALTNAME_INVALID', reason: "its TLS certificate is for another name", proxy: viaProxy };
  if (codes.some((c) => c === 'ERR_SSL_WRONG_VERSION_NUMBER' || c === 'EPROTO') || /wrong version number|packet length too long/i.test(text)) {
    return { kind: 'not-tls', code: codes.find((c) => c.startsWith('ERR_SSL')) ?? 'EPROTO', reason: 'it does not speak TLS on that port', proxy: viaProxy };
  }
  const tlsCode = codes.find((c) => /^(ERR_TLS|ERR_SSL|CERT_)/.test(c));
  if (tlsCode) return { kind: 'tls', code: tlsCode, reason: `the TLS handshake failed (${tlsCode})`, proxy: viaProxy };
  // Through a proxy, Sous connects to nothing but the proxy: a connection that fails is the proxy's.
  if (viaProxy && codes.some((c) => c === 'ECONNREFUSED' || c === 'ENOTFOUND' || c === 'EAI_AGAIN' || c === 'ECONNRESET')) {
    return { kind: 'proxy', code: codes[0], reason: `the proxy ${viaProxy} cannot be reached (${codes[0]})`, proxy: viaProxy };
  }
  const code = codes.find((c) => /^E[A-Z]+$/.test(c) || c.startsWith('UND_ERR')) ?? codes[0];
  return { kind: 'network', code, reason: code ?? chain[chain.length - 1]?.message ?? String(e), proxy: viaProxy };
}
