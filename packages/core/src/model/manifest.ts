import { usageError } from '../errors';
import { validateOrThrow } from '../schema';
import { parseSourceLocation, formatManifestID, type ManifestID } from './ids';
import { parseVersion } from './version';
import { DEFAULT_RESOURCES, STARTUP_FIELDS, type Cluster, type DeploySpec, type Manifest, type Startup } from './types';

/** Deep copy of plain JSON data. */
export function clone<T>(v: T): T {
  return v === undefined ? v : (JSON.parse(JSON.stringify(v)) as T);
}

/** A copy of a map with its keys in sorted order (none when undefined). */
export function sortedMap<V>(m: Record<string, V> | undefined): Record<string, V> {
  const out: Record<string, V> = {};
  for (const k of Object.keys(m ?? {}).sort()) out[k] = (m as Record<string, V>)[k];
  return out;
}

function isZero(v: unknown): boolean {
  return v === undefined || v === null || v === 0 || v === '' || v === false || (Array.isArray(v) && v.length === 0);
}

/** Startup in field order, zero fields left out (they mean "use the cluster's"). */
export function canonicalStartup(s: Startup | undefined): Startup | undefined {
  if (!s) return undefined;
  const out: Record<string, unknown> = {};
  for (const f of STARTUP_FIELDS) if (!isZero(s[f])) out[f] = s[f];
  return Object.keys(out).length ? (out as Startup) : undefined;
}

/** A deploy spec in the order and with the omissions the original used. */
export function canonicalDeploySpec(d: DeploySpec): DeploySpec {
  const out: DeploySpec = {};
  out.Resources = sortedMap(d.Resources);
  if (d.Metadata && Object.keys(d.Metadata).length) out.Metadata = sortedMap(d.Metadata);
  if (d.Args && d.Args.length) out.Args = [...d.Args];
  if (d.Env && Object.keys(d.Env).length) out.Env = sortedMap(d.Env);
  out.NumInstances = d.NumInstances ?? 0;
  out.Volumes = (d.Volumes ?? []).map((v) => ({ Host: v.Host, Container: v.Container, ...(v.Mode ? { Mode: v.Mode } : {}) }));
  const st = canonicalStartup(d.Startup);
  if (st) out.Startup = st;
  out.Schedule = d.Schedule ?? '';
  out.Version = d.Version ?? '';
  if (d.Digest) out.Digest = d.Digest;
  if (d.Image) out.Image = d.Image;
  if (d.AutoDeploy) out.AutoDeploy = d.AutoDeploy;
  if (d.AutoDeployPaused?.Reason) out.AutoDeployPaused = { Reason: d.AutoDeployPaused.Reason, ...(d.AutoDeployPaused.By ? { By: d.AutoDeployPaused.By } : {}), ...(d.AutoDeployPaused.At ? { At: d.AutoDeployPaused.At } : {}) };
  if (d.SingularityRequestID) out.SingularityRequestID = d.SingularityRequestID;
  if (d.Stack) out.Stack = d.Stack;
  if (d.Autoscaled) out.Autoscaled = true;
  if (d.Route) out.Route = { ...d.Route, Hosts: [...d.Route.Hosts] };
  if (d.Secrets && Object.keys(d.Secrets).length) out.Secrets = sortedMap(d.Secrets);
  return out;
}

export function canonicalManifest(m: Manifest): Manifest {
  const out: Manifest = { Source: m.Source } as Manifest;
  if (m.Flavor) out.Flavor = m.Flavor;
  out.Owners = [...(m.Owners ?? [])];
  out.Kind = m.Kind;
  const deps: Record<string, DeploySpec> = {};
  for (const c of Object.keys(m.Deployments ?? {}).sort()) deps[c] = canonicalDeploySpec(m.Deployments![c]);
  out.Deployments = deps;
  return out;
}

export function manifestIDOf(m: Manifest): ManifestID {
  return { source: parseSourceLocation(m.Source), flavor: m.Flavor ?? '' };
}

/**
 * Checks a manifest beyond its schema: versions are semver, resources are
 * numbers written as strings, protocols are HTTP or HTTPS. `file` names where
 * it came from in errors.
 */
export function validateManifest(input: unknown, file = 'manifest'): Manifest {
  const m = validateOrThrow<Manifest>('manifest', input, 'MANIFEST_INVALID', { file });
  parseSourceLocation(m.Source);
  for (const [cluster, spec] of Object.entries(m.Deployments ?? {})) {
    const at = `Deployments.${cluster}`;
    if (spec.Version) {
      try {
        parseVersion(spec.Version);
      } catch {
        throw usageError('MANIFEST_INVALID_VERSION', `${file}: ${at}.Version ${JSON.stringify(spec.Version)} is not a semantic version`, {
          file,
          field: `${at}.Version`,
          hints: ['Versions look like 1.2.3 or 1.2.3-rc.1+abc123'],
        });
      }
    }
    for (const [k, v] of Object.entries(spec.Resources ?? {})) {
      const ok = k === 'cpus' ? /^\d+(\.\d+)?$/.test(v) && Number(v) >= 0 : k === 'memory' || k === 'ports' ? /^\d+$/.test(v) : true;
      if (!ok) {
        throw usageError('MANIFEST_INVALID_RESOURCE', `${file}: ${at}.Resources.${k} is ${JSON.stringify(v)}; ${k === 'cpus' ? 'cpus is a non-negative number such as "0.5"' : `${k} is a non-negative whole number`}`, {
          file,
          field: `${at}.Resources.${k}`,
          hints: ['Resources are written as strings: cpus: "0.1", memory: "100" (MB), ports: "1"'],
        });
      }
    }
    checkSecretRefs(spec.Secrets, spec.Env, file, at);
    if (spec.Startup?.CheckReadyProtocol) spec.Startup.CheckReadyProtocol = spec.Startup.CheckReadyProtocol.toUpperCase() as Startup['CheckReadyProtocol'];
    if ((m.Kind === 'scheduled' || m.Kind === 'scheduled-job') && spec.Schedule !== undefined && spec.Schedule !== '' && spec.Schedule.trim().split(/\s+/).length < 5) {
      throw usageError('MANIFEST_INVALID_SCHEDULE', `${file}: ${at}.Schedule ${JSON.stringify(spec.Schedule)} is not a cron schedule`, {
        file,
        field: `${at}.Schedule`,
        hints: ['A cron schedule has five fields, e.g. "*/5 * * * *"'],
      });
    }
  }
  return m;
}

/**
 * Checks a Secrets map beyond its schema: a variable is either a secret or in
 * Env, never both, and a `file:` key stays inside the provider's directory.
 */
export function checkSecretRefs(secrets: Record<string, string> | undefined, env: Record<string, string> | undefined, file: string, at: string): void {
  for (const [name, ref] of Object.entries(secrets ?? {})) {
    const field = `${at}.Secrets.${name}`;
    if (env?.[name] !== undefined) {
      throw usageError('SECRET_ENV_CLASH', `${file}: ${field}: ${name} is both a secret and an Env value`, { file, field, hints: [`Keep ${name} in Secrets only (its value then never enters the GDM), or in Env only`] });
    }
    const { provider, key } = parseSecretRef(ref, file, field);
    if (provider === 'file' && (key.startsWith('/') || key.split('/').some((p) => p === '..' || p === '.' || p === '') || key.includes('\\') || key.includes('\0'))) {
      throw usageError('SECRET_REF_INVALID', `${file}: ${field}: the file key ${JSON.stringify(key)} would leave the secrets directory`, { file, field, hints: ['A file key is a relative path inside the directory, such as ledger/db-password'] });
    }
  }
}

/**
 * SECRET_PROVIDER_UNKNOWN unless every secret reference of the manifest (or of
 * defs.yaml's clusters) names a provider of `providers`: a reference nobody
 * here could resolve is refused when it is written, not found out at rectify time.
 */
export function checkSecretProviders(doc: { Deployments?: Record<string, { Secrets?: Record<string, string> }>; Clusters?: Record<string, { Secrets?: Record<string, string> }> }, providers: readonly string[], file: string): void {
  const entries = [...Object.entries(doc.Deployments ?? {}).map(([c, d]) => [`Deployments.${c}`, d.Secrets] as const), ...Object.entries(doc.Clusters ?? {}).map(([c, d]) => [`Clusters.${c}`, d.Secrets] as const)];
  for (const [at, secrets] of entries) {
    for (const [name, ref] of Object.entries(secrets ?? {})) {
      const { provider } = parseSecretRef(ref, file, `${at}.Secrets.${name}`);
      if (!providers.includes(provider)) {
        throw usageError('SECRET_PROVIDER_UNKNOWN', `${file}: ${at}.Secrets.${name}: no plugin provides secrets of kind ${JSON.stringify(provider)}`, {
          file,
          field: `${at}.Secrets.${name}`,
          hints: [`providers here: ${providers.join(', ') || '(none)'}`, 'References are <provider>:<key>, e.g. file:ledger/db-password'],
        });
      }
    }
  }
}

/** A secret reference `<provider>:<key>` split, or SECRET_REF_INVALID. */
export function parseSecretRef(ref: string, file = 'manifest', field = 'Secrets'): { provider: string; key: string } {
  const m = /^([a-z][a-z0-9-]*):(.+)$/.exec(ref);
  if (!m) throw usageError('SECRET_REF_INVALID', `${file}: ${field} is not a secret reference (its text is not shown: it may be a value put there by mistake)`, { file, field, hints: ['A reference is <provider>:<key>: file:ledger/db-password, env:STRIPE_KEY, command:prod/db'] });
  return { provider: m[1], key: m[2] };
}

/** Checks that every deployment names a cluster defs.yaml knows. */
export function checkClustersKnown(m: Manifest, clusters: Record<string, Cluster>, file = formatManifestID(manifestIDOf(m))): void {
  for (const c of Object.keys(m.Deployments ?? {})) {
    if (!clusters[c]) {
      throw usageError('UNKNOWN_CLUSTER', `${file}: cluster ${JSON.stringify(c)} is not defined in defs.yaml`, {
        file,
        field: `Deployments.${c}`,
        hints: [Object.keys(clusters).length ? `known clusters: ${Object.keys(clusters).sort().join(', ')}` : 'no clusters are defined yet', 'Add one with: sous cluster add --name NAME --kind docker --base-url unix:///var/run/docker.sock'],
      });
    }
  }
}

/**
 * Fills a deploy spec with its cluster's defaults: the cluster's Env fills keys
 * the spec leaves unset, its Startup fills zero fields, and missing resources
 * take Sous's defaults.
 */
export function expandDeploySpec(spec: DeploySpec, cluster: Cluster | undefined): DeploySpec {
  const out = clone(spec);
  out.Resources = { ...DEFAULT_RESOURCES, ...(spec.Resources ?? {}) };
  out.Env = { ...(cluster?.Env ?? {}), ...(spec.Env ?? {}) };
  // A cluster's secret fills a variable the deployment names neither as a secret nor in Env.
  const secrets = { ...(spec.Secrets ?? {}) };
  for (const [k, v] of Object.entries(cluster?.Secrets ?? {})) if (secrets[k] === undefined && spec.Env?.[k] === undefined) secrets[k] = v;
  for (const k of Object.keys(secrets)) delete out.Env[k];
  if (Object.keys(secrets).length) out.Secrets = secrets;
  else delete out.Secrets;
  const st: Record<string, unknown> = { ...(spec.Startup ?? {}) };
  for (const f of STARTUP_FIELDS) {
    if (isZero(st[f]) && cluster?.Startup && !isZero(cluster.Startup[f])) st[f] = clone(cluster.Startup[f]);
  }
  if (isZero(st.CheckReadyURIPath)) st.CheckReadyURIPath = '/health';
  if (isZero(st.CheckReadyProtocol)) st.CheckReadyProtocol = 'HTTP';
  out.Startup = st as Startup;
  out.NumInstances = spec.NumInstances ?? 0;
  out.Volumes = spec.Volumes ?? [];
  return out;
}

/**
 * The reverse of expansion, for writing back: values that only came from the
 * cluster (and were not in the previously stored spec) are removed again.
 */
export function unexpandDeploySpec(expanded: DeploySpec, cluster: Cluster | undefined, old: DeploySpec | undefined): DeploySpec {
  const out = clone(expanded);
  const env: Record<string, string> = { ...(expanded.Env ?? {}) };
  for (const [k, v] of Object.entries(cluster?.Env ?? {})) {
    if (env[k] === v && old?.Env?.[k] === undefined) delete env[k];
  }
  out.Env = env;
  if (expanded.Secrets) {
    const secrets: Record<string, string> = { ...expanded.Secrets };
    for (const [k, v] of Object.entries(cluster?.Secrets ?? {})) if (secrets[k] === v && old?.Secrets?.[k] === undefined) delete secrets[k];
    if (Object.keys(secrets).length) out.Secrets = secrets;
    else delete out.Secrets;
  }
  const st: Record<string, unknown> = { ...(expanded.Startup ?? {}) };
  const base: Record<string, unknown> = { CheckReadyURIPath: '/health', CheckReadyProtocol: 'HTTP', ...(cluster?.Startup ?? {}) };
  for (const f of STARTUP_FIELDS) {
    const oldV = old?.Startup?.[f];
    if (!isZero(st[f]) && JSON.stringify(st[f]) === JSON.stringify(base[f]) && isZero(oldV)) delete st[f];
  }
  out.Startup = st as Startup;
  const res: Record<string, string> = { ...(expanded.Resources ?? {}) };
  if (old && !old.Resources) {
    for (const [k, v] of Object.entries(DEFAULT_RESOURCES)) if (res[k] === v) delete res[k];
  }
  out.Resources = res;
  return out;
}

/** A new deploy spec with Sous's defaults, as `sous init` writes it. */
export function defaultDeploySpec(): DeploySpec {
  return { Resources: { ...DEFAULT_RESOURCES }, Env: {}, NumInstances: 1, Volumes: [], Schedule: '', Version: '' };
}
