import * as crypto from 'node:crypto';
import { formatManifestID, intentHash, type DeploySpec, type DeployState, type ManifestID, type StoredView } from '@sous/core';

/** The labels Sous puts on what it runs; actual state is read back from them alone. */
export const LABELS = {
  /** The DeploymentID (cluster:manifestID). */
  deployment: 'dev.sous.deployment',
  cluster: 'dev.sous.cluster',
  manifest: 'dev.sous.manifest',
  version: 'dev.sous.version',
  digest: 'dev.sous.digest',
  /** core's intentHash of the intended deployment. */
  intent: 'dev.sous.intent',
  /** A hash of everything an instance is made from: instances with the same one are interchangeable. */
  config: 'dev.sous.config',
  /** The intended deployment (manifest ID, kind, owners, spec) as JSON. */
  state: 'dev.sous.state',
  /**
   * The GDM (its identity) that made a container or service: an engine shared by
   * several independent GDMs keeps each one's deployments apart. Missing on what
   * was made before the label existed, which every GDM may adopt.
   */
  gdm: 'dev.sous.gdm',
  /** Marks a lease record, with the cluster it guards. */
  lease: 'dev.sous.lease',
} as const;

/** What the labels keep of an intended deployment. */
export interface LabelledState {
  manifestID: ManifestID;
  kind: DeployState['kind'];
  owners: string[];
  /** The spec as core's storedView seals it: Env values and secrets as keyed hashes, never values. */
  spec: DeploySpec;
  /** The secrets' keyed hashes, by variable name. */
  secrets?: Record<string, string>;
}

/** JSON with object keys sorted, so equal data always hashes alike. */
export function stableJSON(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableJSON).join(',')}]`;
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .filter((k) => o[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stableJSON(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

export function shortHash(s: string, n = 16): string {
  return crypto.createHash('sha256').update(s).digest('hex').slice(0, n);
}

/**
 * The configuration hash of a deployment: the spec without its instance count
 * (scaling keeps instances), plus kind and, when `withOwners`, the owners
 * (for schedulers that can only relabel by replacing instances).
 */
export function configHash(d: Pick<DeployState, 'kind' | 'owners' | 'spec' | 'secrets'>, withOwners: boolean): string {
  const { NumInstances: _n, ...rest } = d.spec;
  void _n;
  // The secrets' keyed hashes (never values): a rotated value makes new instances.
  return shortHash(stableJSON({ kind: d.kind, owners: withOwners ? [...d.owners].sort() : undefined, spec: rest, ...(d.secrets && Object.keys(d.secrets).length ? { secrets: d.secrets } : {}) }));
}

/** Whether a container or service with these labels belongs to the GDM `gdm` (anything does when either is unknown). */
export function ownedBy(labels: Record<string, string> | undefined | null, gdm: string | undefined): boolean {
  const of = labels?.[LABELS.gdm];
  return !gdm || !of || of === gdm;
}

/**
 * The labels of one deployment's instances (or service), marked with the GDM
 * that makes them when it is known. `stored` is what core lets a scheduler keep
 * where it can be read back (Env values and secrets as keyed hashes); without
 * it (a scheduler driven directly, not by the rectifier) Env values stay as they are.
 */
export function deploymentLabels(d: DeployState, config: string, gdm?: string, stored?: StoredView): Record<string, string> {
  const state: LabelledState = { manifestID: d.manifestID, kind: d.kind, owners: [...d.owners].sort(), spec: stored?.spec ?? d.spec, ...(stored?.secrets ? { secrets: stored.secrets } : {}) };
  return {
    ...(gdm ? { [LABELS.gdm]: gdm } : {}),
    [LABELS.deployment]: d.id,
    [LABELS.cluster]: d.cluster,
    [LABELS.manifest]: formatManifestID(d.manifestID),
    [LABELS.version]: d.spec.Version ?? '',
    [LABELS.digest]: d.spec.Digest ?? '',
    [LABELS.intent]: stored?.intent ?? intentHash(d),
    [LABELS.config]: config,
    [LABELS.state]: JSON.stringify(state),
  };
}

/** The intended deployment recorded in labels, or undefined when they hold none (not Sous's, or damaged). */
export function stateFromLabels(labels: Record<string, string> | undefined | null): LabelledState | undefined {
  const raw = labels?.[LABELS.state];
  if (!raw) return undefined;
  try {
    const s = JSON.parse(raw) as LabelledState;
    if (!s || typeof s !== 'object' || !s.manifestID || !s.spec || typeof s.kind !== 'string') return undefined;
    return { manifestID: s.manifestID, kind: s.kind, owners: Array.isArray(s.owners) ? s.owners : [], spec: s.spec, ...(s.secrets && typeof s.secrets === 'object' ? { secrets: s.secrets } : {}) };
  } catch {
    return undefined;
  }
}

/** A name fragment made of [a-z0-9-] from any text (a DeploymentID, say), at most `max` long. */
export function slug(s: string, max = 40): string {
  const out = s
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
  return out.slice(0, max).replace(/-+$/, '') || 'x';
}
