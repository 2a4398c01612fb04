import { Readable } from 'node:stream';
import { failure } from '../errors';
import { networkFailure, sousFetch, type SousRequestInit, type TlsOptions } from '../net/fetch';
import { resolveRegistryAuth, type RegistryAuth } from './auth';
import { DigestCheck, checkDigest, digestMismatch, digestOf, isDigest } from './digest';
import { denied, transportError, unauthorized } from './errors';
import { discard, readLimited, refused, unreachable } from './http';
import { MANIFEST_ACCEPT, isImageManifestType, isIndexType, type ImageIndex, type ImageManifest } from './media-types';
import { apiHost, canonicalRegistry, CERTS_D, isInsecureRegistry, isLoopbackRegistry, registryTls, type RegistryConfig } from './settings';
import { covers, fetchToken, parseChallenges, scopeString, type Challenge, type Token } from './token';

/** How a RegistryClient speaks to its registry. */
export interface RegistryClientOptions {
  /** Registries (host or host:port) spoken to over plain http or unverified TLS besides those the config marks insecure. */
  insecure?: readonly string[];
  /** How long to wait for a registry's answer (headers) before calling it unreachable, in ms. Uploads are not limited. */
  timeoutMs?: number;
  /** The resolved config: `registries` (credentials, CA, insecure), the legacy `sign.insecureRegistries`. */
  config?: RegistryConfig;
  /** The credential to use instead of looking one up with resolveRegistryAuth. */
  auth?: RegistryAuth;
  /** Docker's certs.d directory (default /etc/docker/certs.d). */
  certsDir?: string;
}

/** What a registry says about a manifest without sending it. */
export interface ManifestHead {
  digest: string;
  mediaType: string;
  size: number;
}

/** A manifest as fetched: its bytes (which its digest is of) and their parsed form. */
export interface FetchedManifest extends ManifestHead {
  bytes: Buffer;
  json: ImageManifest | ImageIndex;
}

/** Manifests are small; distribution itself refuses ones over 4 MiB. */
const MANIFEST_LIMIT = 4 * 1024 * 1024;

/** What Go's TLS server answers to a plain HTTP request. */
const WANTS_HTTPS = /HTTP request to an HTTPS server/i;

/** The token scopes a request needs: `repository:<name>:<actions>` from its path and method. */
export function scopesFor(method: string, url: URL): string[] {
  const m = /^\/v2\/(.+?)\/(?:manifests|blobs|tags)\//.exec(url.pathname);
  if (!m) return [];
  const name = decodeURIComponent(m[1]);
  const verb = method.toUpperCase();
  const actions = verb === 'GET' || verb === 'HEAD' ? 'pull' : verb === 'DELETE' ? 'delete' : 'pull,push';
  const out = [`repository:${name}:${actions}`];
  const from = url.searchParams.get('from');
  if (from && url.searchParams.get('mount')) out.push(`repository:${from}:pull`);
  return scopeString(out);
}

/**
 * A client for one registry's OCI distribution API (`/v2/`): manifests,
 * blobs, uploads, cross-repository mounts and tags. Every download is checked
 * against its digest; every failure is a SousError (REGISTRY_UNREACHABLE,
 * REGISTRY_REFUSED, REGISTRY_UNAUTHORIZED, REGISTRY_DENIED,
 * REGISTRY_TLS_UNTRUSTED, REGISTRY_PROXY_REFUSED, MANIFEST_UNKNOWN,
 * BLOB_UNKNOWN, DIGEST_MISMATCH).
 *
 * Credentials come from resolveRegistryAuth, looked up only once the
 * registry asks (a 401): Basic auth, or a bearer token from the registry's
 * token service per scope, cached until it expires and fetched again once
 * when the registry refuses it. HTTPS for every registry not on this machine;
 * loopback registries get plain HTTP unless they have TLS settings or say
 * they speak HTTPS.
 */
export class RegistryClient {
  /** The registry as Sous names it (Docker Hub: docker.io). */
  readonly registry: string;
  private readonly timeoutMs: number;
  private readonly insecure: boolean;
  private readonly loopback: boolean;
  private scheme: 'http' | 'https';
  private readonly tls: TlsOptions | undefined;
  private readonly caFrom: string | undefined;
  private readonly certsDir: string;
  private authPromise?: Promise<RegistryAuth>;
  private challenge?: Challenge;
  private readonly tokens: { scopes: string[]; token: Token }[] = [];
  private readonly pending = new Map<string, Promise<Token>>();

  constructor(
    /** host[:port] */
    registry: string,
    private readonly opts: RegistryClientOptions = {},
  ) {
    this.registry = canonicalRegistry(registry);
    this.timeoutMs = opts.timeoutMs ?? 30_000;
    this.insecure = isInsecureRegistry(this.registry, opts.config, opts.insecure);
    this.loopback = isLoopbackRegistry(this.registry);
    const t = registryTls(this.registry, opts.config, opts.certsDir ?? CERTS_D);
    this.certsDir = t.certsDir;
    this.caFrom = t.caFrom;
    this.tls = this.insecure ? { ...(t.tls ?? {}), rejectUnauthorized: false } : t.tls;
    // Loopback registries speak plain HTTP unless they have TLS settings (or say they want HTTPS); every other one HTTPS.
    this.scheme = this.loopback && !t.tls ? 'http' : 'https';
  }

  /** The base URL of the API (Docker Hub's is registry-1.docker.io). */
  get baseURL(): string {
    return `${this.scheme}://${apiHost(this.registry)}`;
  }

  /** The credential this client uses (looked up on first need). */
  auth(): Promise<RegistryAuth> {
    return (this.authPromise ??= this.opts.auth ? Promise.resolve(this.opts.auth) : resolveRegistryAuth(this.registry, this.opts.config));
  }

  /** Docker Hub's official images live under library/. */
  private repo(repository: string): string {
    return this.registry === 'docker.io' && !repository.includes('/') ? `library/${repository}` : repository;
  }

  private url(path: string): string {
    if (path.startsWith('http://') || path.startsWith('https://')) {
      const u = new URL(path);
      // The registry's own URLs (upload locations) follow a change of scheme.
      if (u.host === apiHost(this.registry)) u.protocol = `${this.scheme}:`;
      return u.toString();
    }
    return `${this.baseURL}${path.replace(/^\/v2\/([^?]+?)\/(manifests|blobs|tags)\//, (_m, name: string, kind: string) => `/v2/${this.repo(name)}/${kind}/`)}`;
  }

  /** The Authorization header for a request needing `scopes`, once the registry has said how it wants it. */
  private async authorization(scopes: string[]): Promise<string | undefined> {
    const c = this.challenge;
    if (!c) return undefined;
    const auth = await this.auth();
    if (c.scheme === 'basic') {
      const cred = auth.credential;
      return cred?.password !== undefined ? `Basic ${Buffer.from(`${cred.username}:${cred.password}`).toString('base64')}` : undefined;
    }
    if (c.scheme !== 'bearer') return undefined;
    const now = Date.now();
    for (let i = this.tokens.length - 1; i >= 0; i--) if (this.tokens[i].token.expiresAt <= now) this.tokens.splice(i, 1);
    const have = this.tokens.find((t) => covers(t.scopes, scopes));
    if (have) return `Bearer ${have.token.token}`;
    const key = scopes.join(' ');
    let p = this.pending.get(key);
    if (!p) {
      p = fetchToken(this.registry, c, scopes, auth, { tls: this.tls, timeoutMs: this.timeoutMs }).finally(() => this.pending.delete(key));
      this.pending.set(key, p);
    }
    const token = await p;
    if (!this.tokens.some((t) => t.token === token)) this.tokens.push({ scopes, token });
    return `Bearer ${token.token}`;
  }

  /** A 401: remember how the registry wants to be asked, and drop a token it refused. */
  private challenged(res: Response, sent: string | undefined): Challenge | undefined {
    const cs = parseChallenges(res.headers.get('www-authenticate'));
    const c = cs.find((x) => x.scheme === 'bearer') ?? cs.find((x) => x.scheme === 'basic');
    if (c) this.challenge = c;
    if (sent?.startsWith('Bearer ')) {
      const t = sent.slice(7);
      for (let i = this.tokens.length - 1; i >= 0; i--) if (this.tokens[i].token.token === t) this.tokens.splice(i, 1);
    }
    return c;
  }

  private async authFailure(res: Response, scopes: string[], sent: string | undefined): Promise<Error> {
    const auth = await this.auth();
    const text = await res.text().catch(() => '');
    let said = '';
    try {
      said = ((JSON.parse(text) as { errors?: { code?: string; message?: string }[] }).errors ?? []).map((e) => [e.code, e.message].filter(Boolean).join(': ')).join('; ');
    } catch {
      said = text.trim().slice(0, 200);
    }
    if (!auth.credential) return unauthorized(this.registry, auth);
    if (sent?.startsWith('Bearer ')) {
      // The token service accepted the credential, and the registry still said no: the token does not cover this.
      const [, name, actions] = /^repository:(.+):([^:]+)$/.exec(scopes[0] ?? '') ?? [];
      if (name) return denied(this.registry, name, actions.includes('push') ? 'push to' : actions.includes('delete') ? 'delete from' : 'pull from', auth, said);
    }
    return unauthorized(this.registry, auth);
  }

  /** One HTTP exchange; below-HTTP failures become REGISTRY_UNREACHABLE, REGISTRY_TLS_* or REGISTRY_PROXY_REFUSED. */
  private async exchange(path: string, init: SousRequestInit, limited: boolean): Promise<Response> {
    for (let tries = 0; ; tries++) {
      const url = this.url(path);
      const ac = new AbortController();
      const timer = limited ? setTimeout(() => ac.abort(), this.timeoutMs) : undefined;
      let res: Response;
      try {
        res = await sousFetch(url, { ...init, signal: ac.signal, redirect: 'follow' }, { tls: this.scheme === 'https' ? this.tls : undefined });
      } catch (e) {
        const f = networkFailure(e, url);
        if (f.kind === 'not-tls' && this.insecure && this.scheme === 'https' && tries === 0 && replayable(init)) {
          this.scheme = 'http';
          continue;
        }
        // A registry that wants a client certificate closes a TLS 1.3 connection without one right after the handshake.
        const closed = this.scheme === 'https' && /closed|reset|ECONNRESET|UND_ERR_SOCKET/i.test(`${f.code ?? ''} ${f.reason}`);
        const hints = closed ? [`If the registry wants a client certificate: put client.cert and client.key in ${this.certsDir}`] : [];
        throw transportError(this.registry, f, this.certsDir, this.caFrom, e) ?? unreachable(this.registry, this.baseURL, e, this.timeoutMs, hints);
      } finally {
        if (timer) clearTimeout(timer);
      }
      if (res.status === 400 && this.scheme === 'http' && tries === 0 && replayable(init)) {
        const text = await res.clone().text().catch(() => '');
        if (WANTS_HTTPS.test(text)) {
          await discard(res);
          this.scheme = 'https';
          continue;
        }
      }
      return res;
    }
  }

  /**
   * One request, authenticated as the registry asks: a 401 is answered with
   * credentials (or a fresh token) once. A second 401 is REGISTRY_UNAUTHORIZED
   * or REGISTRY_DENIED. `limited` bounds the wait for the answer's headers.
   */
  private async send(path: string, init: SousRequestInit = {}, limited = true): Promise<Response> {
    const method = init.method ?? 'GET';
    const scopes = scopesFor(method, new URL(this.url(path)));
    let refreshed = false;
    for (;;) {
      const headers = new Headers(init.headers);
      const sent = await this.authorization(scopes);
      if (sent) headers.set('authorization', sent);
      const res = await this.exchange(path, { ...init, headers }, limited);
      if (res.status !== 401 || !replayable(init)) {
        if (res.status === 401) throw await this.authFailure(res, scopes, sent);
        return res;
      }
      const c = this.challenged(res, sent);
      const cred = (await this.auth()).credential;
      // Once the registry has said how it wants to be asked (nothing was sent), and once more with a fresh token for one it refused.
      const retry = !sent ? c?.scheme === 'bearer' || (c?.scheme === 'basic' && cred?.password !== undefined) : sent.startsWith('Bearer ') && !refreshed;
      if (!retry) throw await this.authFailure(res, scopes, sent);
      if (sent) refreshed = true;
      await discard(res);
    }
  }

  /**
   * Gets ready to talk to the registry (connection, TLS, how it wants to be
   * authenticated, and a token for pushing to `repository`) while something
   * else runs: the engine's push, say. Never fails; a later call reports.
   */
  async prepare(repository?: string): Promise<void> {
    try {
      await this.auth();
      const res = await this.exchange('/v2/', {}, true);
      if (res.status === 401) this.challenged(res, undefined);
      await discard(res);
      if (repository && this.challenge?.scheme === 'bearer') await this.authorization(scopeString([`repository:${this.repo(repository)}:pull,push`]));
    } catch {
      // The call that needs the registry says what is wrong.
    }
  }

  /** Checks the registry answers the v2 API (200, or 401 when it wants credentials). */
  async ping(): Promise<void> {
    const res = await this.send('/v2/');
    await discard(res);
    if (res.status !== 200) throw await refused(res, this.registry, 'the API version check');
  }

  /**
   * Checks that this client may push to a repository (an upload started, then
   * cancelled): throws what stands in the way, with its own code.
   */
  async checkPush(repository: string): Promise<void> {
    const res = await this.send(`/v2/${repository}/blobs/uploads/`, { method: 'POST', body: '' });
    await discard(res);
    if (res.status !== 202) throw await refused(res, this.registry, `an upload to ${repository}`);
    const loc = res.headers.get('location');
    if (loc) await this.send(new URL(loc, this.baseURL).toString(), { method: 'DELETE' }).then(discard, () => undefined);
  }

  /** Deletes a manifest by digest; false when the registry did not have it. */
  async deleteManifest(repository: string, digest: string): Promise<boolean> {
    checkDigest(digest);
    const res = await this.send(`/v2/${repository}/manifests/${digest}`, { method: 'DELETE' });
    await discard(res);
    if (res.status === 202 || res.status === 200) return true;
    if (res.status === 404) return false;
    throw await refused(res, this.registry, `deleting ${repository}@${digest}`);
  }

  /** The manifest's digest, media type and size, or undefined when the registry does not have it. */
  async headManifest(repository: string, reference: string): Promise<ManifestHead | undefined> {
    const res = await this.send(`/v2/${repository}/manifests/${reference}`, { method: 'HEAD', headers: { accept: MANIFEST_ACCEPT } });
    await discard(res);
    if (res.status === 404) return undefined;
    if (!res.ok) throw await refused(res, this.registry, `HEAD ${repository}:${reference}`);
    const digest = res.headers.get('docker-content-digest') ?? '';
    if (isDigest(reference) && digest && digest !== reference) throw digestMismatch(`the manifest ${this.registry}/${repository}@${reference}`, reference, digest);
    return { digest: digest || (isDigest(reference) ? reference : ''), mediaType: (res.headers.get('content-type') ?? '').split(';')[0], size: Number(res.headers.get('content-length') ?? 0) };
  }

  /** Fetches a manifest by tag or digest and checks its bytes against the digest asked for (or the one the registry names). */
  async getManifest(repository: string, reference: string): Promise<FetchedManifest> {
    const where = `${this.registry}/${repository}${isDigest(reference) ? '@' : ':'}${reference}`;
    const res = await this.send(`/v2/${repository}/manifests/${reference}`, { headers: { accept: MANIFEST_ACCEPT } });
    if (res.status === 404) {
      await discard(res);
      throw failure('MANIFEST_UNKNOWN', `${where} does not exist`, { hints: ['Check the repository, tag or digest: sous query artifacts lists what was built'], details: { registry: this.registry, repository, reference } });
    }
    if (!res.ok) throw await refused(res, this.registry, `GET ${repository}:${reference}`);
    const bytes = await readLimited(res, MANIFEST_LIMIT, `the manifest ${where}`, this.registry);
    const digest = digestOf(bytes);
    const expected = isDigest(reference) ? reference : res.headers.get('docker-content-digest');
    if (expected && expected !== digest) throw digestMismatch(`the manifest ${where}`, expected, digest);
    let json: ImageManifest | ImageIndex;
    try {
      json = JSON.parse(bytes.toString('utf8')) as ImageManifest | ImageIndex;
    } catch {
      throw failure('MANIFEST_INVALID', `the manifest ${where} is not JSON`, { details: { registry: this.registry, repository, reference } });
    }
    const mediaType = json.mediaType || (res.headers.get('content-type') ?? '').split(';')[0];
    if (!isImageManifestType(mediaType) && !isIndexType(mediaType)) {
      throw failure('MANIFEST_UNSUPPORTED', `the manifest ${where} is of type ${JSON.stringify(mediaType)}, which Sous does not read`, {
        hints: ['Sous reads Docker v2 schema 2 and OCI manifests and indexes: push the image with a current client'],
        details: { mediaType },
      });
    }
    return { digest, mediaType, size: bytes.length, bytes, json };
  }

  /** Stores a manifest under a tag or its digest; returns its digest. */
  async putManifest(repository: string, reference: string, bytes: Buffer, mediaType: string): Promise<string> {
    const digest = digestOf(bytes);
    if (isDigest(reference) && reference !== digest) throw digestMismatch('the manifest to store', reference, digest);
    const res = await this.send(`/v2/${repository}/manifests/${reference}`, { method: 'PUT', body: bytes, headers: { 'content-type': mediaType } });
    if (res.status !== 201 && res.status !== 200) throw await refused(res, this.registry, `the manifest ${repository}:${reference}`);
    await discard(res);
    const said = res.headers.get('docker-content-digest');
    if (said && said !== digest) throw digestMismatch(`the manifest stored as ${repository}:${reference}`, digest, said);
    return digest;
  }

  /** The blob's size when the repository has it, undefined when not. */
  async headBlob(repository: string, digest: string): Promise<number | undefined> {
    checkDigest(digest);
    const res = await this.send(`/v2/${repository}/blobs/${digest}`, { method: 'HEAD' });
    await discard(res);
    if (res.status === 404) return undefined;
    if (!res.ok) throw await refused(res, this.registry, `HEAD blob ${digest} in ${repository}`);
    return Number(res.headers.get('content-length') ?? 0);
  }

  /** A blob as a stream that fails at its end with DIGEST_MISMATCH unless the bytes are the digest's. */
  async getBlob(repository: string, digest: string): Promise<Readable> {
    checkDigest(digest);
    const res = await this.send(`/v2/${repository}/blobs/${digest}`);
    if (res.status === 404) {
      await discard(res);
      throw failure('BLOB_UNKNOWN', `${this.registry}/${repository} has no blob ${digest}`, { details: { registry: this.registry, repository, digest } });
    }
    if (!res.ok) throw await refused(res, this.registry, `GET blob ${digest} in ${repository}`);
    const check = new DigestCheck(digest, `the blob ${this.registry}/${repository}@${digest}`);
    const body = res.body ? Readable.fromWeb(res.body as import('node:stream/web').ReadableStream<Uint8Array>) : Readable.from([]);
    body.on('error', (e) => check.destroy(unreachable(this.registry, this.baseURL, e)));
    return body.pipe(check);
  }

  /** A small blob (a config, a signature payload) in memory, checked against its digest. */
  async readBlob(repository: string, digest: string, limit = MANIFEST_LIMIT): Promise<Buffer> {
    const chunks: Buffer[] = [];
    let n = 0;
    const stream = await this.getBlob(repository, digest);
    for await (const c of stream) {
      n += (c as Buffer).length;
      if (n > limit) {
        stream.destroy();
        throw failure('REGISTRY_RESPONSE_TOO_LARGE', `the blob ${digest} in ${this.registry}/${repository} is larger than ${limit} bytes`, { details: { registry: this.registry, digest, limit } });
      }
      chunks.push(c as Buffer);
    }
    return Buffer.concat(chunks);
  }

  /**
   * Uploads one blob (monolithic: POST then a single PUT), streaming when
   * given a stream. Returns the bytes sent. The registry checks the digest
   * too, and refuses the upload when the bytes do not match it.
   */
  async pushBlob(repository: string, digest: string, body: Buffer | Readable, size?: number): Promise<number> {
    checkDigest(digest);
    const start = await this.send(`/v2/${repository}/blobs/uploads/`, { method: 'POST', body: '' });
    if (start.status !== 202) throw await refused(start, this.registry, `an upload to ${repository}`);
    await discard(start);
    return this.finishUpload(start.headers.get('location'), repository, digest, body, size);
  }

  private async finishUpload(location: string | null, repository: string, digest: string, body: Buffer | Readable, size?: number): Promise<number> {
    if (!location) throw failure('REGISTRY_REFUSED', `${this.registry} started an upload to ${repository} without saying where to send it`, { details: { registry: this.registry } });
    const url = new URL(location, this.baseURL);
    url.searchParams.set('digest', digest);
    let sent = 0;
    let sourceError: unknown;
    let init: RequestInit & { duplex?: 'half' };
    const headers: Record<string, string> = { 'content-type': 'application/octet-stream' };
    if (Buffer.isBuffer(body)) {
      init = { method: 'PUT', body, headers };
    } else {
      if (size !== undefined) headers['content-length'] = String(size);
      async function* counted(src: Readable): AsyncGenerator<Buffer> {
        try {
          for await (const c of src) {
            sent += (c as Buffer).length;
            yield c as Buffer;
          }
        } catch (e) {
          sourceError = e;
          throw e;
        }
      }
      init = { method: 'PUT', body: Readable.toWeb(Readable.from(counted(body))) as unknown as RequestInit['body'], headers, duplex: 'half' };
    }
    let res: Response;
    try {
      res = await this.send(url.toString(), init, false);
    } catch (e) {
      throw sourceError ?? e;
    }
    if (sourceError) throw sourceError;
    if (res.status !== 201) throw await refused(res, this.registry, `the blob ${digest} for ${repository}`);
    await discard(res);
    return Buffer.isBuffer(body) ? body.length : sent;
  }

  /**
   * Asks the registry to link a blob it holds in `from` into `repository`
   * without sending it. False when the registry cannot (it does not hold the
   * blob there); the upload it opened instead is cancelled.
   */
  async mountBlob(repository: string, digest: string, from: string): Promise<boolean> {
    checkDigest(digest);
    const q = new URLSearchParams({ mount: digest, from });
    const res = await this.send(`/v2/${repository}/blobs/uploads/?${q}`, { method: 'POST', body: '' });
    await discard(res);
    if (res.status === 201) return true;
    if (res.status === 202) {
      const loc = res.headers.get('location');
      if (loc) await this.send(new URL(loc, this.baseURL).toString(), { method: 'DELETE' }).then(discard, () => undefined);
      return false;
    }
    throw await refused(res, this.registry, `mounting ${digest} from ${from} into ${repository}`);
  }

  /** Every tag of a repository (following the registry's pages); none for an unknown repository. */
  async tags(repository: string): Promise<string[]> {
    const out: string[] = [];
    let next: string | undefined = `/v2/${repository}/tags/list?n=1000`;
    while (next) {
      const res = await this.send(next);
      if (res.status === 404) {
        await discard(res);
        return out;
      }
      if (!res.ok) throw await refused(res, this.registry, `the tags of ${repository}`);
      const body = JSON.parse((await readLimited(res, MANIFEST_LIMIT, `the tags of ${repository}`, this.registry)).toString('utf8')) as { tags?: string[] | null };
      out.push(...(body.tags ?? []));
      const link = /<([^>]+)>;\s*rel="?next"?/.exec(res.headers.get('link') ?? '');
      next = link ? new URL(link[1], this.baseURL).toString() : undefined;
    }
    return out;
  }
}

/** A request whose body can be sent again (not a stream). */
function replayable(init: SousRequestInit): boolean {
  const b = init.body as unknown;
  return b === undefined || b === null || typeof b === 'string' || Buffer.isBuffer(b) || b instanceof Uint8Array || b instanceof URLSearchParams;
}

const shared = new WeakMap<object, Map<string, RegistryClient>>();
const NO_CONFIG = {};

/**
 * The client of a registry for a config, shared within the process so that
 * every plugin's calls reuse one credential lookup, one token cache and one
 * set of connections.
 */
export function registryClient(registry: string, config?: RegistryConfig, opts: Omit<RegistryClientOptions, 'config'> = {}): RegistryClient {
  const holder = (config ?? NO_CONFIG) as object;
  let m = shared.get(holder);
  if (!m) shared.set(holder, (m = new Map()));
  const key = `${canonicalRegistry(registry)} ${opts.timeoutMs ?? ''} ${(opts.insecure ?? []).join(',')} ${opts.certsDir ?? ''} ${opts.auth ? 'given' : ''}`;
  let c = m.get(key);
  if (!c) m.set(key, (c = new RegistryClient(registry, { ...opts, config })));
  return c;
}
