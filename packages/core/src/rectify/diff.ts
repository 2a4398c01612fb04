import * as crypto from 'node:crypto';
import type { Deployment } from '../gdm/state';
import { formatManifestID } from '../model/ids';
import type { DeploySpec } from '../model/types';
import { sameBuild } from '../model/version';
import type { Action, DeployState, RectifyPlan, StoredView } from '../pipeline/types';
import type { SousError } from '../errors';
import { sealedSpec, sealEnv, type Seal } from '../secrets/seal';

/** An intended deployment as the rectifier compares it. */
export function intendedState(d: Deployment): DeployState {
  return { id: d.id, manifestID: d.manifestID, cluster: d.cluster, kind: d.kind, owners: [...d.owners].sort(), spec: d.spec, status: 'Active' };
}

function norm(v: unknown): string {
  if (v === undefined || v === null) return '';
  if (Array.isArray(v)) return JSON.stringify(v.map((x) => (typeof x === 'object' ? JSON.parse(norm(x)) : x)));
  if (typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return JSON.stringify(Object.fromEntries(Object.keys(o).sort().filter((k) => o[k] !== undefined && o[k] !== '' && !(Array.isArray(o[k]) && (o[k] as unknown[]).length === 0)).map((k) => [k, o[k]])));
  }
  return String(v);
}

function resourcesOf(s: DeploySpec): string {
  const r = s.Resources ?? {};
  return norm(Object.fromEntries(Object.entries(r).map(([k, v]) => [k, String(Number(v))])));
}

/** A skipped readiness check is skipped whatever else the Startup says (a cluster's defaults, say). */
function startupKey(s: DeploySpec): string {
  return s.Startup?.SkipCheck ? 'skip' : norm(s.Startup);
}

/**
 * The variables whose secret changed between what runs and what is intended:
 * another reference, another value (its keyed hash), or one added or removed.
 * Names only: a difference never says what the value is or was.
 */
function secretDifferences(prior: DeployState, post: DeployState): string[] {
  const pr = prior.spec.Secrets ?? {};
  const po = post.spec.Secrets ?? {};
  const names = new Set([...Object.keys(pr), ...Object.keys(po)]);
  return [...names].filter((n) => pr[n] !== po[n] || prior.secrets?.[n] !== post.secrets?.[n]).sort();
}

function sameSecrets(prior: DeployState, post: DeployState): boolean {
  const a = post.secrets;
  const b = prior.secrets;
  if (!a && !b) return true;
  return deepEqual(a ?? {}, b ?? {});
}

/** The fields whose change needs a new deploy (the original's rule), each with a description. */
function deployDifferences(prior: DeploySpec, post: DeploySpec, seal: (v: string) => string = (v) => v): string[] {
  const out: string[] = [];
  if (!sameBuild(prior.Version ?? '', post.Version ?? '')) out.push(`version ${prior.Version || '(none)'} → ${post.Version || '(none)'}`);
  else if (post.Digest && prior.Digest && prior.Digest !== post.Digest) out.push(`image ${prior.Digest.slice(7, 19)} → ${post.Digest.slice(7, 19)}`);
  if (resourcesOf(prior) !== resourcesOf(post)) out.push('resources');
  // Schedulers keep Env values as keyed hashes: compare both sides sealed (a hash stays as it is).
  if (norm(prior.Env) !== norm(post.Env) && norm(sealEnv(prior.Env, seal)) !== norm(sealEnv(post.Env, seal))) out.push('env');
  if (norm(prior.Volumes) !== norm(post.Volumes)) out.push('volumes');
  if (startupKey(prior) !== startupKey(post)) out.push('startup');
  if (norm(prior.Args) !== norm(post.Args)) out.push('args');
  if (norm(prior.Metadata) !== norm(post.Metadata)) out.push('metadata');
  if (norm(prior.Route) !== norm(post.Route)) out.push('route');
  if (Boolean(prior.Autoscaled) !== Boolean(post.Autoscaled)) out.push(post.Autoscaled ? 'autoscaled' : 'no longer autoscaled');
  return out;
}

/**
 * The running spec as the intended one is compared with: the intended
 * version when both name the same build (`0.0.51` labelled with revision
 * `618536…` is `0.0.51+618536…`), the intended value of every field the
 * scheduler cannot see, and no digest when the GDM pins none (a version the
 * original Sous wrote, the digest found separately). Allocates only when
 * something is taken over.
 */
export function comparablePrior(prior: DeployState, post: DeployState): DeploySpec {
  const p = prior.spec;
  const q = post.spec;
  const version = p.Version !== q.Version && sameBuild(p.Version ?? '', q.Version ?? '');
  const digest = p.Digest !== undefined && q.Digest === undefined;
  const image = p.Image !== undefined && q.Image === undefined;
  if (!version && !digest && !image && !prior.unobserved?.length) return p;
  const out: DeploySpec = { ...p };
  if (version) out.Version = q.Version;
  if (digest) delete out.Digest;
  if (image) delete out.Image;
  for (const k of prior.unobserved ?? []) {
    if (q[k] === undefined) delete out[k];
    else (out as Record<string, unknown>)[k] = q[k];
  }
  return out;
}

/** Structural equality of plain JSON data, without allocating (the common case: nothing changed). */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!deepEqual(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const ka = Object.keys(a as object);
  if (ka.length !== Object.keys(b as object).length) return false;
  for (const k of ka) if (!deepEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k])) return false;
  return true;
}

/**
 * What a scheduler may keep of an intended deployment where it reads it back
 * (labels, annotations, metadata): Env values sealed, secrets as their keyed
 * hashes, and the intent hash over that, so nothing kept there can be turned
 * back into a value.
 */
export function storedView(d: DeployState, seal: Seal): StoredView {
  const spec = sealedSpec(d.spec, seal);
  return { spec, ...(d.secrets ? { secrets: d.secrets } : {}), intent: intentHash({ ...d, spec }) };
}

/** A stable hash of what an intended deployment asks for: a held change is released when it changes. */
export function intentHash(s: DeployState): string {
  const spec = s.spec;
  const h = crypto.createHash('sha256');
  h.update(
    JSON.stringify([
      s.kind,
      s.owners,
      spec.Version ?? '',
      spec.Digest ?? '',
      resourcesOf(spec),
      norm(spec.Env),
      norm(spec.Volumes),
      norm(spec.Startup),
      norm(spec.Args),
      norm(spec.Metadata),
      spec.NumInstances ?? 0,
      spec.Schedule ?? '',
      ...(spec.Route ? [norm(spec.Route)] : []),
      ...(spec.Autoscaled ? ['autoscaled'] : []),
      ...(spec.Secrets ? [norm(spec.Secrets), norm(s.secrets)] : []),
    ]),
  );
  return h.digest('hex').slice(0, 24);
}

function sameOwners(a: string[], b: string[]): boolean {
  if (a.length !== b.length) return false;
  const sa = [...a].sort();
  const sb = [...b].sort();
  return sa.every((x, i) => x === sb[i]);
}

export interface DiffOptions {
  /** Clusters whose actual state was read; deployments elsewhere are neither added nor removed. */
  clustersRead: ReadonlySet<string>;
  /** Whether removed deployments of a cluster are deleted (--prune or the cluster's AllowPrune). */
  prune(cluster: string): boolean;
  /** Redeploy these deployment IDs even when unchanged. */
  force?: ReadonlySet<string>;
  /**
   * Manifests (keys) the GDM could not read: their deployments are unknown, not
   * absent, so whatever runs of them is neither changed nor reported removed.
   */
  unreadable?: ReadonlySet<string>;
  /** Turns a value into the keyed hash schedulers keep of it, to compare Env against what they report. */
  seal?: Seal;
  /** Deployments whose secrets could not be read: each is planned as a change that fails with its error. */
  refused?: ReadonlyMap<string, SousError>;
  revision: string;
}

/**
 * Pairs actual (prior) and intended (post) deployments by DeploymentID and
 * plans an action for each pair that differs, in the original's semantics:
 * Added → create; Modified → a new deploy when version, resources, env,
 * volumes, startup or args changed, the current deploy failed or its rollout
 * is unfinished (the scheduler reports it Pending), a scale when
 * only the instance count did, a request update for kind/owners/schedule;
 * Removed → reported, deleted only with prune.
 */
export function planActions(intended: DeployState[], actual: DeployState[], opts: DiffOptions): RectifyPlan {
  const actions: Action[] = [];
  const unchanged: string[] = [];
  const priors = new Map(actual.map((d) => [d.id, d]));
  const seen = new Set<string>();
  for (const post of intended) {
    if (!opts.clustersRead.has(post.cluster)) continue;
    seen.add(post.id);
    const prior = priors.get(post.id);
    const forced = opts.force?.has(post.id) ?? false;
    if (!post.spec.Version) {
      unchanged.push(post.id);
      continue;
    }
    const refused = opts.refused?.get(post.id);
    if (refused && (prior || (post.spec.NumInstances ?? 0) > 0)) {
      actions.push({ kind: prior ? 'update' : 'create', deploymentID: post.id, cluster: post.cluster, reason: `its secrets cannot be read (${refused.code})`, prior, post, refused: { code: refused.code, message: refused.message } });
      continue;
    }
    if (!prior) {
      if ((post.spec.NumInstances ?? 0) === 0 && !forced) {
        unchanged.push(post.id);
        continue;
      }
      actions.push({ kind: 'create', deploymentID: post.id, cluster: post.cluster, reason: `new deployment of ${post.spec.Version} (${post.spec.NumInstances ?? 0} instance(s))`, post });
      continue;
    }
    const priorSpec = comparablePrior(prior, post);
    if (!forced && prior.status !== 'Failed' && prior.status !== 'Pending' && prior.kind === post.kind && deepEqual(priorSpec, post.spec) && sameSecrets(prior, post) && sameOwners(prior.owners, post.owners)) {
      unchanged.push(post.id);
      continue;
    }
    const diffs = deployDifferences(priorSpec, post.spec, opts.seal);
    const changedSecrets = secretDifferences(prior, post);
    if (changedSecrets.length) diffs.push(`secrets changed: ${changedSecrets.join(', ')}`);
    if (prior.status === 'Failed') diffs.push(`the current deploy failed${prior.message ? `: ${prior.message}` : ''}`);
    const requestDiffs: string[] = [];
    if (prior.kind !== post.kind) requestDiffs.push(`kind ${prior.kind} → ${post.kind}`);
    if (!sameOwners(prior.owners, post.owners)) requestDiffs.push('owners');
    if ((prior.spec.Schedule ?? '') !== (post.spec.Schedule ?? '')) requestDiffs.push('schedule');
    const pi = prior.spec.NumInstances ?? 0;
    const qi = post.spec.NumInstances ?? 0;
    // A scheduler reports Pending when it can see an unfinished rollout (a rectifier
    // killed mid-action, say): finishing it is an update even when the specs agree.
    if (prior.status === 'Pending' && !diffs.length && !requestDiffs.length && pi === qi) diffs.push(`the last rollout has not finished${prior.message ? `: ${prior.message}` : ''}`);
    if (diffs.length || requestDiffs.length || forced) {
      const why = [...diffs, ...requestDiffs, ...(pi !== qi ? [`instances ${pi} → ${qi}`] : [])];
      actions.push({ kind: 'update', deploymentID: post.id, cluster: post.cluster, reason: why.length ? why.join(', ') : 'forced redeploy', prior, post, force: forced || undefined });
    } else if (pi !== qi) {
      actions.push({ kind: 'scale', deploymentID: post.id, cluster: post.cluster, reason: `instances ${pi} → ${qi}`, prior, post });
    } else {
      unchanged.push(post.id);
    }
  }
  for (const prior of actual) {
    if (seen.has(prior.id) || !opts.clustersRead.has(prior.cluster)) continue;
    if (opts.unreadable?.size && opts.unreadable.has(formatManifestID(prior.manifestID))) continue;
    if (opts.prune(prior.cluster)) {
      actions.push({ kind: 'delete', deploymentID: prior.id, cluster: prior.cluster, reason: 'not intended any more (pruning)', prior });
    } else {
      actions.push({ kind: 'report-removed', deploymentID: prior.id, cluster: prior.cluster, reason: 'not intended any more; left running (prune to delete)', prior });
    }
  }
  actions.sort((a, b) => a.deploymentID.localeCompare(b.deploymentID));
  return { actions, unchanged: unchanged.sort(), held: [], errors: [], revision: opts.revision };
}
