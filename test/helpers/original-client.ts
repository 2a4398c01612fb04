/**
 * The requests the original Sous's CLI sends, built as its source builds
 * them (util/restful/client.go, putbackjson.go; lib/user.go HTTPHeaders;
 * cli/actions/deploy.go, manifest_get.go, sous_metadata_set.go): a GET
 * with the query as url.Values encodes it (keys sorted) and the
 * `Sous-User-Name`/`Sous-User-Email` headers; a PUT with `If-Match: <the
 * ETag as received>` and the body the GET returned with only the fields the
 * client changed replaced (putbackJSON), so the canary field goes back; no
 * Content-Type on requests. And the Go types its decoders fill, as models
 * (field names and JSON types from lib/*.go, server/data.go, dto/), with a
 * check that an answer decodes into them as encoding/json would.
 */

export interface OriginalUser {
  name: string;
  email: string;
}

/** `url.Values.Encode()`: keys sorted, form-encoded. */
export function goQuery(q: Record<string, string>): string {
  return Object.keys(q)
    .sort()
    .map((k) => `${encodeURIComponent(k)}=${encodeURIComponent(q[k]).replace(/%20/g, '+')}`)
    .join('&');
}

export interface Retrieved {
  status: number;
  etag: string;
  contentType: string;
  /** The body as received. */
  text: string;
  body: Record<string, unknown>;
}

export class OriginalClient {
  constructor(
    readonly base: string,
    readonly user?: OriginalUser,
  ) {}

  headers(extra: Record<string, string> = {}): Record<string, string> {
    return { ...(this.user ? { 'Sous-User-Name': this.user.name, 'Sous-User-Email': this.user.email } : {}), ...extra };
  }

  url(p: string, q?: Record<string, string>): string {
    return p.startsWith('http') ? p : `${this.base}${p.replace(/^\./, '')}${q ? `?${goQuery(q)}` : ''}`;
  }

  async retrieve(p: string, q?: Record<string, string>): Promise<Retrieved> {
    const res = await fetch(this.url(p, q), { headers: this.headers() });
    const text = await res.text();
    let body: Record<string, unknown> = {};
    try {
      body = JSON.parse(text) as Record<string, unknown>;
    } catch {
      body = {};
    }
    return { status: res.status, etag: res.headers.get('etag') ?? '', contentType: res.headers.get('content-type') ?? '', text, body };
  }

  /**
   * `updater.Update(changed)`: PUT with If-Match, the body putbackJSON(received, base, changed),
   * where base is the received body decoded into the Go type and encoded again (`model` drops what the type lacks).
   */
  async update(from: Retrieved, p: string, q: Record<string, string> | undefined, changed: unknown, model: GoType, raw?: string): Promise<{ status: number; text: string; location: string; etag: string; contentType: string }> {
    const base = roundTrip(model, from.body);
    const target = JSON.parse(from.text) as Record<string, unknown>;
    const body = raw ?? JSON.stringify(applyChanges(base as Record<string, unknown>, changed as Record<string, unknown>, target));
    const res = await fetch(this.url(p, q), { method: 'PUT', headers: this.headers({ 'If-Match': from.etag }), body });
    return { status: res.status, text: await res.text(), location: res.headers.get('location') ?? '', etag: res.headers.get('etag') ?? '', contentType: res.headers.get('content-type') ?? '' };
  }

  async put(p: string, q: Record<string, string> | undefined, body: string, headers: Record<string, string>): Promise<{ status: number; text: string }> {
    const res = await fetch(this.url(p, q), { method: 'PUT', headers: this.headers(headers), body });
    return { status: res.status, text: await res.text() };
  }
}

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** util/restful/putbackjson.go applyChanges. */
function applyChanges(base: Record<string, unknown>, changed: Record<string, unknown>, target: Record<string, unknown>): Record<string, unknown> {
  const b = { ...base };
  for (const [k, v] of Object.entries(changed)) {
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      if (!(k in b) || b[k] === null) target[k] = v;
      else target[k] = applyChanges(b[k] as Record<string, unknown>, v as Record<string, unknown>, (target[k] ?? {}) as Record<string, unknown>);
    } else if (!(k in b) || !same(b[k], v)) target[k] = v;
    delete b[k];
  }
  for (const k of Object.keys(b)) delete target[k];
  return target;
}

// --- The Go types, as encoding/json sees them.

export type GoType = 'string' | 'int' | 'bool' | 'any' | { map: GoType } | { list: GoType } | { ptr: GoType } | { struct: Record<string, GoType> };

const S = 'string' as const;
const I = 'int' as const;
/** lib/startup.go Startup. */
export const Startup: GoType = { struct: { SkipCheck: 'bool', ConnectDelay: I, Timeout: I, ConnectInterval: I, CheckReadyProtocol: S, CheckReadyURIPath: S, CheckReadyPortIndex: I, CheckReadyFailureStatuses: { list: I }, CheckReadyURITimeout: I, CheckReadyInterval: I, CheckReadyRetries: I } };
const DeployConfig = { Resources: { map: S }, Metadata: { map: S }, Env: { map: S }, NumInstances: I, Volumes: { list: { ptr: { struct: { Host: S, Container: S, Mode: S } } } }, Startup, Schedule: S, SingularityRequestID: S } as Record<string, GoType>;
/** lib/deploy_spec.go DeploySpec (Version is semv.Version, a JSON string). */
export const DeploySpec: GoType = { struct: { ...DeployConfig, Version: S } };
const SourceLocation: GoType = { struct: { Repo: S, Dir: S } };
/** lib/manifest.go Manifest. */
export const Manifest: GoType = { struct: { Source: SourceLocation, Flavor: S, Owners: { list: S }, Kind: S, Deployments: { map: DeploySpec } } };
/** server/data.go SingleDeploymentBody. */
export const SingleDeploymentBody: GoType = { struct: { Meta: { struct: { Links: { map: S } } }, Deployment: { ptr: DeploySpec } } };
const Cluster: GoType = { struct: { Name: S, Kind: S, BaseURL: S, Env: { map: 'any' }, Startup, AllowedAdvisories: { list: S } } };
/** lib/deployment.go Deployment (DeployConfig embedded: its fields are the Deployment's). */
export const Deployment: GoType = { struct: { ...DeployConfig, ClusterName: S, Cluster: { ptr: Cluster }, SourceID: { struct: { Location: SourceLocation, Version: S } }, Flavor: S, Owners: { map: { struct: {} } }, Kind: S, User: { struct: { Name: S, Email: S } } } };
/** dto.GDMWrapper. */
export const GDMWrapper: GoType = { struct: { Deployments: { list: { ptr: Deployment } } } };
const DeploymentID = { ManifestID: { struct: { Source: SourceLocation, Flavor: S } }, Cluster: S } as Record<string, GoType>;
const ErrorWrapper: GoType = { ptr: { struct: { Type: S, String: S } } };
/** lib DeployState (Deployment embedded; DeployStatus is an int). */
const DeployState: GoType = { struct: { ...(Deployment as { struct: Record<string, GoType> }).struct, Status: I, ExecutorMessage: S, ExecutorData: 'any', SchedulerURL: S } };
/** lib DiffResolution (DeploymentID embedded). */
const DiffResolution: GoType = { struct: { ...DeploymentID, Desc: S, Error: ErrorWrapper, DeployState: { ptr: DeployState }, SchedulerURL: S } };
/** dto.R11nResponse. */
export const R11nResponse: GoType = { struct: { QueuePosition: I, Resolution: { ptr: DiffResolution } } };
/** lib/state.go Defs. */
export const Defs: GoType = { struct: { DockerRepo: S, Clusters: { map: { ptr: Cluster } }, EnvVars: { list: 'any' }, Resources: { list: 'any' }, Metadata: { list: 'any' } } };
/** server/data.go ServerListData. */
export const ServerListData: GoType = { struct: { Servers: { list: { struct: { ClusterName: S, URL: S } } } } };
const ResolveStatus: GoType = { struct: { Started: S, Finished: S, Phase: S, Intended: { list: { ptr: Deployment } }, Log: { list: DiffResolution }, Errs: { struct: { Causes: { list: { struct: { Type: S, String: S } } } } } } };
/** server/handle_status.go statusData. */
export const StatusData: GoType = { struct: { Deployments: { list: { ptr: Deployment } }, Completed: { ptr: ResolveStatus }, InProgress: { ptr: ResolveStatus } } };

/**
 * The problems encoding/json would have decoding `v` into `t` (type
 * mismatches; unknown fields are ignored as Go ignores them), plus every
 * struct field missing from the answer, which the Go side would read as a
 * zero value the server did not mean.
 */
export function goDecodeProblems(t: GoType, v: unknown, at = '$', requireAll = true): string[] {
  const out: string[] = [];
  if (t === 'any') return out;
  if (v === null) return out; // null decodes into any Go type as "leave it zero"
  if (t === 'string') return typeof v === 'string' ? out : [`${at}: ${JSON.stringify(v)} is not a string`];
  if (t === 'int') return typeof v === 'number' && Number.isInteger(v) ? out : [`${at}: ${JSON.stringify(v)} is not an int`];
  if (t === 'bool') return typeof v === 'boolean' ? out : [`${at}: ${JSON.stringify(v)} is not a bool`];
  if ('ptr' in t) return goDecodeProblems(t.ptr, v, at, requireAll);
  if ('list' in t) {
    if (!Array.isArray(v)) return [`${at}: not a list`];
    v.forEach((x, i) => out.push(...goDecodeProblems(t.list, x, `${at}[${i}]`, requireAll)));
    return out;
  }
  if (typeof v !== 'object' || Array.isArray(v)) return [`${at}: not an object`];
  if ('map' in t) {
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) out.push(...goDecodeProblems(t.map, x, `${at}.${k}`, requireAll));
    return out;
  }
  const o = v as Record<string, unknown>;
  for (const [f, ft] of Object.entries(t.struct)) {
    if (!(f in o)) {
      if (requireAll) out.push(`${at}.${f}: missing`);
      continue;
    }
    out.push(...goDecodeProblems(ft, o[f], `${at}.${f}`, requireAll));
  }
  return out;
}

/** What a value is once decoded into `t` and encoded again: the fields `t` lacks are gone. */
export function roundTrip(t: GoType, v: unknown): unknown {
  if (v === null || v === undefined || typeof t === 'string') return v ?? null;
  if ('ptr' in t) return roundTrip(t.ptr, v);
  if ('list' in t) return Array.isArray(v) ? v.map((x) => roundTrip(t.list, x)) : null;
  if ('map' in t) return Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, roundTrip(t.map, x)]));
  const o = v as Record<string, unknown>;
  return Object.fromEntries(Object.entries(t.struct).map(([f, ft]) => [f, roundTrip(ft, o[f])]));
}
