import * as crypto from 'node:crypto';
import type { ManifestID } from '@sous/core';

/** Labels on every object Sous makes: how actual() finds them. */
export const LABELS = {
  managedBy: 'app.kubernetes.io/managed-by',
  /** The application: the repository's last segment (and offset). */
  name: 'app.kubernetes.io/name',
  /** This deployment of it: the objects' name. */
  instance: 'app.kubernetes.io/instance',
  version: 'app.kubernetes.io/version',
  /** What the pods do: server, worker or job (from the manifest's kind). */
  component: 'app.kubernetes.io/component',
  cluster: 'sous.dev/cluster',
  /** A hash of the DeploymentID: the pod selector, which never changes for a deployment. */
  deployment: 'sous.dev/deployment',
} as const;

export const MANAGED_BY = 'sous';

/** Annotations: what Sous needs to rebuild the DeployState from the cluster alone. */
export const ANNOTATIONS = {
  deploymentID: 'sous.dev/deployment-id',
  manifestID: 'sous.dev/manifest-id',
  cluster: 'sous.dev/cluster',
  kind: 'sous.dev/kind',
  owners: 'sous.dev/owners',
  version: 'sous.dev/version',
  digest: 'sous.dev/digest',
  intent: 'sous.dev/intent',
  /** The intended deploy spec, as JSON, with the Env values left out (the pod template holds them). */
  spec: 'sous.dev/spec',
  /** The Service's name, on the workload: it is guessable, so not always the workload's own. */
  service: 'sous.dev/service',
  /** The kind of route made for the deployment (Ingress or HTTPRoute), on the workload. */
  route: 'sous.dev/route',
  /** The deployment's secrets as keyed hashes by variable (never values), as JSON, on the workload and its Secret. */
  secrets: 'sous.dev/secrets',
} as const;

/** The field manager Sous applies as (server-side apply). */
export const FIELD_MANAGER = 'sous';

function hash(s: string, n: number): string {
  return crypto.createHash('sha256').update(s).digest('hex').slice(0, n);
}

/** The selector value of a deployment. */
export function deploymentHash(deploymentID: string): string {
  return hash(deploymentID, 40);
}

function dnsLabel(s: string): string {
  return s
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
}

/**
 * The name of a deployment's objects: readable (`shop-api-canary`) and
 * unique (a hash of the DeploymentID), a DNS label of at most 63
 * characters starting with a letter, as Services require.
 */
export function objectName(mid: ManifestID, deploymentID: string): string {
  const segments = mid.source.repo.split('/');
  let base = dnsLabel([segments[segments.length - 1], mid.source.dir, mid.flavor].filter(Boolean).join('-'));
  if (!/^[a-z]/.test(base)) base = `app-${base}`.replace(/-+$/, '');
  base = base.slice(0, 54).replace(/-+$/, '');
  return `${base}-${hash(deploymentID, 8)}`;
}

/** The application's name: the repository's last segment and the offset (`shop`, `shop-api`). */
export function appName(mid: ManifestID): string {
  const segments = mid.source.repo.split('/');
  return [segments[segments.length - 1], mid.source.dir].filter(Boolean).join('-');
}

/**
 * The name a person would guess for a deployment's Service:
 * `<name>[-<flavor>]` as a DNS label (RFC 1035, as Services need: a letter
 * first, at most 63). When another deployment has it, the Service takes
 * the workload's own unique name instead (`serviceNameFor`).
 */
export function guessableName(mid: ManifestID): string {
  let base = dnsLabel([appName(mid), mid.flavor].filter(Boolean).join('-'));
  if (!/^[a-z]/.test(base)) base = `app-${base}`.replace(/-+$/, '');
  return base.slice(0, 63).replace(/-+$/, '');
}

/** A label value (at most 63 of [A-Za-z0-9._-], alphanumeric at both ends); when `s` is not one, a readable prefix and a hash. */
export function labelValue(s: string): string {
  if (/^([A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?)?$/.test(s)) return s;
  const clean = s
    .replace(/[^A-Za-z0-9._-]+/g, '-')
    .replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, '')
    .slice(0, 50)
    .replace(/[^A-Za-z0-9]+$/, '');
  return `${clean ? `${clean}-` : ''}${hash(s, 12)}`;
}

/** Pod template annotation a forced redeploy sets, so the pods are replaced even when nothing else changed. */
export const RESTARTED_AT = 'sous.dev/restarted-at';

/** Pod template annotation derived from the secrets' keyed hashes: a rotated value changes it, and so rolls the pods. */
export const SECRETS_HASH = 'sous.dev/secrets-hash';

/** The name of the Secret holding a deployment's secret values: its objects' name and `-env`. */
export function secretName(workloadName: string): string {
  return `${workloadName}-env`;
}

/** A short hash of the secrets' keyed hashes (variables sorted), for the pod template annotation. */
export function secretsHash(hashes: Record<string, string>): string {
  return hash(JSON.stringify(Object.keys(hashes).sort().map((k) => [k, hashes[k]])), 16);
}

/** The name of a cluster's rectifier Lease. */
export function leaseName(cluster: string): string {
  return `sous-rectifier-${dnsLabel(cluster).slice(0, 40) || 'cluster'}-${hash(cluster, 8)}`;
}

/** The label selector that finds this cluster's objects. */
export function selectorFor(cluster: string): string {
  return `${LABELS.managedBy}=${MANAGED_BY},${LABELS.cluster}=${labelValue(cluster)}`;
}
