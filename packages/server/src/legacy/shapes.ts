/**
 * The JSON the original Sous's server and client exchanged: its Go structs
 * encoded by encoding/json with no tags, so field names are the Go ones, nil
 * maps and slices are null, and every Startup field is present
 * (lib/manifest.go, lib/deploy_config.go, lib/deploy_spec.go, lib/startup.go,
 * lib/deployment.go, server/data.go, dto/). Sous's own additions (Digest,
 * Image, AutoDeploy, Args) are not sent: the original's decoders would drop
 * them anyway, and they must not come back as removals.
 */
import { STARTUP_FIELDS, type Cluster, type Deployment, type DeploySpec, type Manifest, type ManifestID, type Startup, type Volume } from '@sous/core';

export interface GoSourceLocation {
  Repo: string;
  Dir: string;
}

export interface GoDeploySpec {
  Resources: Record<string, string> | null;
  Metadata: Record<string, string> | null;
  Env: Record<string, string> | null;
  NumInstances: number;
  Volumes: { Host: string; Container: string; Mode: string }[] | null;
  Startup: Record<string, unknown>;
  Schedule: string;
  SingularityRequestID: string;
  Version: string;
}

export interface GoManifest {
  Source: GoSourceLocation;
  Flavor: string;
  Owners: string[] | null;
  Kind: string;
  Deployments: Record<string, GoDeploySpec> | null;
}

const INT_STARTUP = ['ConnectDelay', 'Timeout', 'ConnectInterval', 'CheckReadyPortIndex', 'CheckReadyURITimeout', 'CheckReadyInterval', 'CheckReadyRetries'] as const;

function map(m: Record<string, string> | undefined): Record<string, string> | null {
  return m && Object.keys(m).length ? Object.fromEntries(Object.entries(m).map(([k, v]) => [k, String(v)])) : null;
}

export function goStartup(st: Startup | undefined): Record<string, unknown> {
  const s = (st ?? {}) as Record<string, unknown>;
  return {
    SkipCheck: Boolean(s.SkipCheck),
    ...Object.fromEntries(INT_STARTUP.slice(0, 3).map((k) => [k, Number(s[k] ?? 0)])),
    CheckReadyProtocol: String(s.CheckReadyProtocol ?? ''),
    CheckReadyURIPath: String(s.CheckReadyURIPath ?? ''),
    CheckReadyPortIndex: Number(s.CheckReadyPortIndex ?? 0),
    CheckReadyFailureStatuses: Array.isArray(s.CheckReadyFailureStatuses) && s.CheckReadyFailureStatuses.length ? [...(s.CheckReadyFailureStatuses as number[])] : null,
    CheckReadyURITimeout: Number(s.CheckReadyURITimeout ?? 0),
    CheckReadyInterval: Number(s.CheckReadyInterval ?? 0),
    CheckReadyRetries: Number(s.CheckReadyRetries ?? 0),
  };
}

export function goDeploySpec(spec: DeploySpec): GoDeploySpec {
  return {
    Resources: map(spec.Resources as Record<string, string> | undefined),
    Metadata: map(spec.Metadata),
    Env: map(spec.Env),
    NumInstances: spec.NumInstances ?? 0,
    Volumes: spec.Volumes?.length ? spec.Volumes.map((v: Volume) => ({ Host: v.Host, Container: v.Container, Mode: v.Mode ?? '' })) : null,
    Startup: goStartup(spec.Startup),
    Schedule: spec.Schedule ?? '',
    SingularityRequestID: spec.SingularityRequestID ?? '',
    Version: spec.Version ?? '',
  };
}

export function goManifest(m: Manifest, id: ManifestID): GoManifest {
  return {
    Source: { Repo: id.source.repo, Dir: id.source.dir },
    Flavor: id.flavor,
    Owners: m.Owners?.length ? [...m.Owners] : null,
    Kind: m.Kind,
    Deployments: Object.fromEntries(Object.entries(m.Deployments ?? {}).map(([c, s]) => [c, goDeploySpec(s)])),
  };
}

export function goCluster(name: string, c: Cluster): Record<string, unknown> {
  return { Name: name, Kind: c.Kind, BaseURL: c.BaseURL ?? '', Env: map(c.Env as Record<string, string> | undefined), Startup: goStartup(c.Startup), AllowedAdvisories: c.AllowedAdvisories?.length ? [...c.AllowedAdvisories] : null };
}

/** A sous.Deployment: the expanded spec, its cluster, SourceID, owners as a set (a JSON object of empty objects). */
export function goDeployment(d: Deployment, user?: { name: string; email: string }): Record<string, unknown> {
  const { Version, ...config } = goDeploySpec(d.spec);
  return {
    ...config,
    ClusterName: d.cluster,
    Cluster: goCluster(d.cluster, d.clusterDef),
    SourceID: { Location: { Repo: d.manifestID.source.repo, Dir: d.manifestID.source.dir }, Version },
    Flavor: d.manifestID.flavor,
    Owners: Object.fromEntries([...d.owners].sort().map((o) => [o, {}])),
    Kind: d.kind,
    User: { Name: user?.name ?? '', Email: user?.email ?? '' },
  };
}

function str(v: unknown, at: string, errors: string[]): string {
  if (v === undefined || v === null) return '';
  if (typeof v !== 'string') errors.push(`${at} is ${typeof v}, not a string`);
  return String(v);
}

function strMap(v: unknown, at: string, errors: string[]): Record<string, string> | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'object' || Array.isArray(v)) {
    errors.push(`${at} is not an object of strings`);
    return undefined;
  }
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) out[k] = str(x, `${at}.${k}`, errors);
  return Object.keys(out).length ? out : undefined;
}

function int(v: unknown, at: string, errors: string[]): number {
  if (v === undefined || v === null) return 0;
  if (typeof v !== 'number' || !Number.isInteger(v)) errors.push(`${at} is not a whole number`);
  return Number(v);
}

/** Decodes a DeploySpec as the original's server did (json.Decoder into sous.DeploySpec): unknown fields ignored, wrong types refused. */
export function fromGoDeploySpec(v: unknown, at: string, errors: string[]): DeploySpec {
  if (!v || typeof v !== 'object' || Array.isArray(v)) {
    errors.push(`${at} is not an object`);
    return {};
  }
  const o = v as Record<string, unknown>;
  const spec: DeploySpec = {};
  const res = strMap(o.Resources, `${at}.Resources`, errors);
  if (res) spec.Resources = res as DeploySpec['Resources'];
  const md = strMap(o.Metadata, `${at}.Metadata`, errors);
  if (md) spec.Metadata = md;
  spec.Env = strMap(o.Env, `${at}.Env`, errors) ?? {};
  spec.NumInstances = int(o.NumInstances, `${at}.NumInstances`, errors);
  spec.Volumes = [];
  if (o.Volumes !== undefined && o.Volumes !== null) {
    if (!Array.isArray(o.Volumes)) errors.push(`${at}.Volumes is not a list`);
    else spec.Volumes = o.Volumes.map((x, i) => {
      const vo = (x ?? {}) as Record<string, unknown>;
      const mode = str(vo.Mode, `${at}.Volumes[${i}].Mode`, errors);
      return { Host: str(vo.Host, `${at}.Volumes[${i}].Host`, errors), Container: str(vo.Container, `${at}.Volumes[${i}].Container`, errors), ...(mode ? { Mode: mode as Volume['Mode'] } : {}) };
    });
  }
  const st = (o.Startup ?? {}) as Record<string, unknown>;
  if (typeof st !== 'object' || Array.isArray(st)) errors.push(`${at}.Startup is not an object`);
  const startup: Record<string, unknown> = {};
  for (const k of STARTUP_FIELDS) {
    const x = st[k];
    if (x === undefined || x === null) continue;
    if (k === 'SkipCheck') {
      if (typeof x !== 'boolean') errors.push(`${at}.Startup.SkipCheck is not true or false`);
      if (x) startup[k] = true;
    } else if (k === 'CheckReadyProtocol' || k === 'CheckReadyURIPath') {
      const s = str(x, `${at}.Startup.${k}`, errors);
      if (s) startup[k] = s;
    } else if (k === 'CheckReadyFailureStatuses') {
      if (!Array.isArray(x) || x.some((n) => !Number.isInteger(n))) errors.push(`${at}.Startup.${k} is not a list of whole numbers`);
      else if (x.length) startup[k] = [...x];
    } else {
      const n = int(x, `${at}.Startup.${k}`, errors);
      if (n) startup[k] = n;
    }
  }
  spec.Startup = startup as Startup;
  spec.Schedule = str(o.Schedule, `${at}.Schedule`, errors);
  const rid = str(o.SingularityRequestID, `${at}.SingularityRequestID`, errors);
  if (rid) spec.SingularityRequestID = rid;
  spec.Version = str(o.Version, `${at}.Version`, errors);
  return spec;
}

/** Decodes a sous.Manifest body. */
export function fromGoManifest(v: unknown, errors: string[]): Manifest {
  const o = (v && typeof v === 'object' && !Array.isArray(v) ? v : {}) as Record<string, unknown>;
  if (v !== o) errors.push('the body is not a JSON object');
  const src = (o.Source ?? {}) as Record<string, unknown>;
  const repo = str(src.Repo, 'Source.Repo', errors);
  const dir = str(src.Dir, 'Source.Dir', errors);
  const flavor = str(o.Flavor, 'Flavor', errors);
  const owners = o.Owners === null || o.Owners === undefined ? [] : Array.isArray(o.Owners) ? o.Owners.map((x, i) => str(x, `Owners[${i}]`, errors)) : (errors.push('Owners is not a list'), []);
  const deployments: Record<string, DeploySpec> = {};
  if (o.Deployments !== null && o.Deployments !== undefined) {
    if (typeof o.Deployments !== 'object' || Array.isArray(o.Deployments)) errors.push('Deployments is not an object');
    else for (const [c, s] of Object.entries(o.Deployments as Record<string, unknown>)) deployments[c] = fromGoDeploySpec(s, `Deployments.${c}`, errors);
  }
  const m: Manifest = { Source: dir ? `${repo},${dir}` : repo, Owners: owners, Kind: str(o.Kind, 'Kind', errors) as Manifest['Kind'], Deployments: deployments };
  if (flavor) m.Flavor = flavor;
  return m;
}
