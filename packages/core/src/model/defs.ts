import { usageError } from '../errors';
import { validateOrThrow } from '../schema';
import { canonicalStartup, checkSecretRefs, sortedMap } from './manifest';
import type { Cluster, Defs } from './types';

export function emptyDefs(): Defs {
  return { DockerRepo: '', Clusters: {}, EnvVars: [], Resources: [], Metadata: [] };
}

export function validateDefs(input: unknown, file = 'defs.yaml'): Defs {
  const d = validateOrThrow<Defs>('defs', input ?? {}, 'DEFS_INVALID', { file });
  for (const [name, c] of Object.entries(d.Clusters ?? {})) {
    checkClusterName(name, file);
    if (c.BaseURL) checkBaseURL(c.BaseURL, `${file}: Clusters.${name}.BaseURL`);
    checkSecretRefs(c.Secrets, c.Env, file, `Clusters.${name}`);
  }
  return d;
}

/** `file` is the file the name was read from; without one (a flag), the message names no file. */
export function checkClusterName(name: string, file?: string): void {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(name)) {
    throw usageError('INVALID_CLUSTER_NAME', `${file ? `${file}: ` : ''}cluster name ${JSON.stringify(name)} is not allowed`, {
      ...(file ? { file, field: `Clusters.${name}` } : {}),
      hints: ['Cluster names are letters, digits, ".", "_" and "-", starting with a letter or digit (no ":" or "/")'],
    });
  }
}

export function checkBaseURL(url: string, where: string): void {
  let ok = false;
  try {
    const u = new URL(url);
    ok = ['http:', 'https:', 'unix:', 'tcp:', 'npipe:', 'memory:'].includes(u.protocol);
  } catch {
    ok = false;
  }
  if (!ok) {
    throw usageError('INVALID_BASE_URL', `${where} ${JSON.stringify(url)} is not a URL Sous can reach`, {
      hints: ['Use http(s)://host:port, tcp://host:port or unix:///path/to/docker.sock'],
    });
  }
}

export function canonicalCluster(c: Cluster): Cluster {
  const out: Cluster = { Name: c.Name ?? '', Kind: c.Kind, BaseURL: c.BaseURL ?? '', Env: sortedMap(c.Env) } as Cluster;
  if (c.Secrets && Object.keys(c.Secrets).length) out.Secrets = sortedMap(c.Secrets);
  const st = canonicalStartup(c.Startup);
  if (st) out.Startup = st;
  out.AllowedAdvisories = [...(c.AllowedAdvisories ?? [])];
  if (c.Registry) out.Registry = c.Registry;
  if (c.RequireSignature) out.RequireSignature = c.RequireSignature;
  if (c.TrustedKeys && c.TrustedKeys.length) out.TrustedKeys = [...c.TrustedKeys];
  if (c.AllowPrune) out.AllowPrune = c.AllowPrune;
  if (c.AllowAutoDeploy) out.AllowAutoDeploy = c.AllowAutoDeploy;
  return out;
}

export function canonicalDefs(d: Defs): Defs {
  const clusters: Record<string, Cluster> = {};
  for (const k of Object.keys(d.Clusters ?? {}).sort()) clusters[k] = canonicalCluster(d.Clusters![k]);
  return { DockerRepo: d.DockerRepo ?? '', Clusters: clusters, EnvVars: d.EnvVars ?? [], Resources: d.Resources ?? [], Metadata: d.Metadata ?? [] };
}
