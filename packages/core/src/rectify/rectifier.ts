import * as os from 'node:os';
import * as path from 'node:path';
import { failure, toSousError, usageError } from '../errors';
import type { Sous } from '../hooks/sous';
import { intendedDeployments, type State } from '../gdm/state';
import { formatManifestID, parseManifestID } from '../model/ids';
import { clone } from '../model/manifest';
import type { Cluster } from '../model/types';
import type { StateBackend } from '../ops/backend';
import { matchesDeployment, matchesManifest, type ResolvedFilters } from '../ops/filters';
import type { Action, ActionOutcome, DeployState, DigestPin, Lease, Progress, RectifyPlan, RectifyResult, Scheduler } from '../pipeline/types';
import { intendedState, planActions, storedView } from './diff';
import { resolvePins, withPins } from './pins';
import { resolveSecrets, secretHashKey, sealer, type ResolvedSecrets, type Seal } from '../secrets';
import { fileLease, StatusStore, type DeploymentStatus } from './status';
import { OutcomeLog } from './outcomes';
import { backoff, limiter, sleep } from './util';
import { emitEvent } from '../events/emit';
import type { EventType } from '../events/catalogue';

export interface RectifyOptions {
  filters?: ResolvedFilters;
  /** Only these clusters (a server rectifies its own); all when unset. */
  clusters?: readonly string[];
  /** Delete deployments that are no longer intended (otherwise only when the cluster allows it). */
  prune?: boolean;
  /** Redeploy even when unchanged, and release held changes: true for all in scope, or these deployment IDs. */
  force?: boolean | ReadonlySet<string>;
  /** Readiness timeout for each action; by default from the deployment's Startup settings. */
  timeoutMs?: number;
  /** Who holds the cluster leases (for messages). */
  holder?: string;
  observer?: RectifyObserver;
  signal?: AbortSignal;
}

export interface RectifyObserver {
  plan?(plan: RectifyPlan): void;
  actionStart?(action: Action): void;
  actionDone?(outcome: ActionOutcome): void;
  progress?(action: Action, p: Progress): void;
}

/**
 * What the rectifier last saw on one cluster: the deployments its scheduler
 * reported (patched with the outcomes of the actions it carried out since),
 * or why it could not read them. A status page serves this instead of
 * reading every cluster for every view.
 */
export interface ClusterObservation {
  cluster: string;
  /** When the cluster was last read (ISO 8601). */
  readAt?: string;
  /** When this observation last changed: a read, or an action's outcome. */
  at: string;
  deployments: DeployState[];
  /** The last read failed (the deployments are from the read before, if any). */
  error?: { code: string; message: string };
}

interface ClusterScope {
  name: string;
  def: Cluster;
  scheduler?: Scheduler;
  lease?: Lease;
}

const LEASE_TTL_MS = 30_000;
const MAX_ACTION_TIMEOUT_MS = 20 * 60_000;

function defaultTimeout(a: Action): number {
  const st = a.post?.spec.Startup;
  const secs = (st?.ConnectDelay ?? 0) + (st?.Timeout || 60);
  return Math.min(MAX_ACTION_TIMEOUT_MS, Math.max(30_000, secs * 2000));
}

/**
 * The rectifier: intended (GDM expanded with defs) against actual (every
 * cluster's scheduler, read concurrently) → a plan of actions → applied one
 * action per deployment, a bounded number at a time per scheduler, with
 * retries, readiness gating and outcomes remembered between passes.
 */
export class Rectifier {
  readonly status: StatusStore;
  /** Every action's outcome, for the history and for rollbacks. */
  readonly outcomes: OutcomeLog;
  /** The last observation of each cluster this rectifier read. */
  readonly observed = new Map<string, ClusterObservation>();
  /** Called whenever an observation changes. */
  onObserved?: (o: ClusterObservation) => void;

  constructor(
    private readonly sous: Sous,
    private readonly backend: StateBackend,
    /** Where outcomes and leases are kept (beside the state, never inside the GDM). */
    readonly statusDir: string,
  ) {
    this.status = new StatusStore(statusDir);
    this.outcomes = new OutcomeLog(path.join(statusDir, 'outcomes'));
  }

  private observe(cluster: string, fn: (prev: ClusterObservation | undefined) => ClusterObservation): void {
    const o = fn(this.observed.get(cluster));
    this.observed.set(cluster, o);
    this.onObserved?.(o);
  }

  private gdmIdentity?: Promise<string | undefined>;

  private clusterScopes(state: State, filters: ResolvedFilters, only: readonly string[] | undefined, gdm: string | undefined): ClusterScope[] {
    const defs = state.defs.Clusters ?? {};
    if (filters.cluster && !defs[filters.cluster]) {
      throw usageError('UNKNOWN_CLUSTER', `cluster ${JSON.stringify(filters.cluster)} is not defined`, { hints: [`known clusters: ${Object.keys(defs).join(', ') || '(none)'}`] });
    }
    const names = (filters.cluster ? [filters.cluster] : Object.keys(defs).sort()).filter((n) => !only || only.includes(n));
    return names.map((name) => {
      const def = defs[name];
      return { name, def, scheduler: this.sous.hooks.scheduler.get(def.Kind)?.call({ name, def, ...(gdm ? { gdm } : {}) }) };
    });
  }

  /** Reads intended and actual state and makes the plan; changes nothing. */
  private realSeal?: Seal;
  /** The keyed hash schedulers keep of Env and secret values; its key is read (or made) on first use. */
  readonly seal: Seal = (v) => (this.realSeal ??= sealer(secretHashKey(this.sous.config.secretHashKeyFile)))(v);

  /** The intent of an intended deployment, as its scheduler records it (over the sealed spec). */
  private intentOf(post: DeployState): string {
    return storedView(post, this.seal).intent;
  }

  async plan(opts: RectifyOptions = {}): Promise<{ plan: RectifyPlan; state: State; scopes: ClusterScope[]; actual: DeployState[]; secrets: ResolvedSecrets }> {
    const filters = opts.filters ?? {};
    this.gdmIdentity ??= this.backend.identity?.() ?? Promise.resolve(undefined);
    const [state, gdm] = await Promise.all([this.backend.read(), this.gdmIdentity]);
    const scopes = this.clusterScopes(state, filters, opts.clusters, gdm);
    const inScope = (d: DeployState) => matchesDeployment(filters, d.manifestID, d.cluster) && (!opts.clusters || opts.clusters.includes(d.cluster));
    let intended = intendedDeployments(state).map(intendedState).filter(inScope);
    const errors: RectifyPlan['errors'] = [];
    const read = new Set<string>();
    const actual: DeployState[] = [];
    await Promise.all(
      scopes.map(async (s) => {
        if (!s.scheduler) {
          errors.push({ cluster: s.name, code: 'UNKNOWN_CLUSTER_KIND', message: `no scheduler plugin handles clusters of kind ${JSON.stringify(s.def.Kind)} (cluster ${s.name})` });
          return;
        }
        try {
          const got = (await s.scheduler.actual()).filter((d) => d.cluster === s.name);
          actual.push(...got.filter(inScope));
          read.add(s.name);
          const now = new Date().toISOString();
          this.observe(s.name, () => ({ cluster: s.name, readAt: now, at: now, deployments: got }));
        } catch (e) {
          const se = toSousError(e, 'SCHEDULER_UNREACHABLE');
          errors.push({ cluster: s.name, code: se.code, message: `cannot read cluster ${s.name}: ${se.message}` });
          this.observe(s.name, (p) => ({ cluster: s.name, readAt: p?.readAt, at: new Date().toISOString(), deployments: p?.deployments ?? [], error: { code: se.code, message: se.message } }));
        }
      }),
    );
    // Versions the original Sous wrote carry no digest: find them before planning.
    const pinning = await resolvePins(intended.filter((d) => read.has(d.cluster)), actual, { defs: state.defs, registry: this.sous.config.registry, concurrency: this.sous.config.rectify.concurrency });
    intended = withPins(intended, pinning.pins);
    const unresolved = new Set(pinning.errors.map((e) => e.deploymentID));
    const force = opts.force === true ? new Set(intended.map((d) => d.id)) : opts.force || undefined;
    // A manifest whose file does not read is unknown, never absent: what runs of it is left alone.
    const unreadable = state.flaws.filter((f) => f.manifest && matchesManifest(filters, parseManifestID(f.manifest)));
    // Secrets are read where the rectifier runs; a deployment whose secrets cannot be read fails, the others go on.
    const secrets = await resolveSecrets(this.sous, intended, this.seal);
    let plan = planActions(intended, actual, {
      seal: this.seal,
      refused: secrets.errors,
      clustersRead: read,
      prune: (c) => Boolean(opts.prune) || Boolean(state.defs.Clusters?.[c]?.AllowPrune),
      force,
      unreadable: new Set(unreadable.map((f) => f.manifest!)),
      revision: state.revision,
    });
    plan.errors.push(...errors.sort((a, b) => a.cluster!.localeCompare(b.cluster!)));
    plan.errors.push(
      ...unreadable.map((f) => ({ manifest: f.manifest, file: f.path, code: 'MANIFEST_UNREADABLE', message: `manifest ${f.manifest} cannot be read, so its deployments are left as they are: ${f.message}` })),
    );
    plan.errors.push(...pinning.errors);
    if (unresolved.size) plan.actions = plan.actions.filter((a) => !unresolved.has(a.deploymentID));
    if (pinning.pins.length) plan.pins = pinning.pins;
    await this.applyHolds(plan, force);
    plan = await this.sous.hooks.plan.promise(plan);
    return { plan, state, scopes, actual, secrets };
  }

  /** Moves changes that failed too often in a row (at the same intent) out of the plan. */
  private async applyHolds(plan: RectifyPlan, force: ReadonlySet<string> | undefined): Promise<void> {
    const limit = this.sous.config.rectify.holdAfterFailures;
    const byCluster = new Map<string, Record<string, DeploymentStatus>>();
    const keep: Action[] = [];
    for (const a of plan.actions) {
      if (a.kind === 'report-removed' || !a.post || force?.has(a.deploymentID)) {
        keep.push(a);
        continue;
      }
      if (!byCluster.has(a.cluster)) byCluster.set(a.cluster, await this.status.load(a.cluster));
      const rec = byCluster.get(a.cluster)![a.deploymentID];
      if (rec && rec.intent === this.intentOf(a.post) && rec.failures >= limit) {
        plan.held.push({ action: a, failures: rec.failures, lastError: rec.message ?? '' });
      } else keep.push(a);
    }
    plan.actions = keep;
  }

  /**
   * Writes the digests found for versions without one into the GDM: one
   * commit for the pass. A deployment changed meanwhile (another version, or
   * a digest of its own) is left as it now is.
   */
  private async writePins(plan: RectifyPlan): Promise<void> {
    const pins = plan.pins!;
    const r = await this.backend.update((state) => {
      const byManifest = new Map<string, DigestPin[]>();
      for (const p of pins) byManifest.set(p.manifestID, [...(byManifest.get(p.manifestID) ?? []), p]);
      const changed = [];
      let n = 0;
      for (const [key, list] of byManifest) {
        const stored = state.manifests.get(key);
        if (!stored) continue;
        const m = clone(stored.manifest);
        let touched = false;
        for (const p of list) {
          const spec = m.Deployments?.[p.cluster];
          if (!spec || spec.Digest || spec.Version !== p.version) continue;
          spec.Digest = p.digest;
          if (p.image) spec.Image = p.image;
          touched = true;
          n++;
        }
        if (touched) changed.push(m);
      }
      if (!changed.length) return { result: 0 };
      const from = pins.some((p) => p.from === 'registry') ? 'the running deploys and the registry' : 'the running deploys';
      return { change: { message: `Pin the image digests of ${n} deployment(s) whose versions had none, found from ${from}`, setManifests: changed }, result: n };
    }, this.sous.config.user);
    this.sous.logger.info(`pinned ${r.result} image digest(s) in the GDM (${r.revision.slice(0, 12)})`);
    if (r.changed) plan.revision = r.revision;
  }

  private async takeLeases(scopes: ClusterScope[], holder: string, plan: RectifyPlan): Promise<void> {
    for (const s of scopes) {
      if (!s.scheduler || !plan.actions.some((a) => a.cluster === s.name)) continue;
      const lease = s.scheduler.lease ? await s.scheduler.lease(holder, LEASE_TTL_MS) : await fileLease(path.join(this.statusDir, 'leases'), s.name, holder, LEASE_TTL_MS);
      if (lease) s.lease = lease;
      else {
        plan.errors.push({ cluster: s.name, code: 'CLUSTER_LEASED', message: `another rectifier is acting on cluster ${s.name}; its actions wait for the next pass` });
        plan.actions = plan.actions.filter((a) => a.cluster !== s.name);
      }
    }
  }

  /** One rectify pass. */
  async run(opts: RectifyOptions = {}): Promise<RectifyResult> {
    const started = Date.now();
    const { plan, scopes, secrets, state, actual } = await this.plan(opts);
    if (plan.pins?.length) await this.writePins(plan);
    const holder = opts.holder ?? `${os.hostname()}:${process.pid}`;
    await this.takeLeases(scopes, holder, plan);
    opts.observer?.plan?.(plan);
    const outcomes: ActionOutcome[] = [];
    try {
      for (const h of plan.held) await this.announceHeld(h.action, h.failures, h.lastError);
      const byCluster = new Map<string, Action[]>();
      for (const a of plan.actions) byCluster.set(a.cluster, [...(byCluster.get(a.cluster) ?? []), a]);
      await Promise.all(
        [...byCluster.entries()].map(async ([cluster, actions]) => {
          const scope = scopes.find((s) => s.name === cluster)!;
          const limit = limiter(this.sous.config.rectify.concurrency);
          const renew = scope.lease ? setInterval(() => void scope.lease!.renew(), LEASE_TTL_MS / 3) : undefined;
          try {
            await Promise.all(actions.map((a) => limit(async () => outcomes.push(await this.applyOne(scope, a, opts, plan.revision, secrets.values.get(a.deploymentID))))));
          } finally {
            if (renew) clearInterval(renew);
          }
        }),
      );
      // Pins written this pass moved the GDM on: the intents to compare are the pinned ones.
      await this.noteUnchanged(plan, plan.revision === state.revision ? state : await this.backend.read(), actual);
    } finally {
      await Promise.all(scopes.map((s) => s.lease?.release()));
    }
    outcomes.sort((a, b) => a.action.deploymentID.localeCompare(b.action.deploymentID));
    const result: RectifyResult = { plan, outcomes, startedAt: new Date(started).toISOString(), durationMs: Date.now() - started };
    await this.sous.hooks.rectified.promise(result);
    return result;
  }

  /**
   * A deployment the cluster already runs as intended, after the last
   * outcome recorded for it was at another intent (a rollback to the version
   * a failed deploy left running, say): its change needed no action and
   * ended well, which the history should say. Recorded as Active, unchanged.
   */
  private async noteUnchanged(plan: RectifyPlan, state: State, actual: DeployState[]): Promise<void> {
    if (!plan.unchanged.length) return;
    const running = new Map(actual.map((a) => [a.id, a]));
    const wanted = new Set(plan.unchanged.filter((id) => running.get(id)?.status === 'Active'));
    if (!wanted.size) return;
    for (const d of intendedDeployments(state)) {
      if (!wanted.has(d.id) || !d.spec.Version) continue;
      const prev = (await this.status.load(d.cluster))[d.id];
      // Most unchanged deployments were last recorded Active at this version: nothing to say, no hash to compute.
      if (!prev || (prev.status === 'Active' && prev.version === d.spec.Version)) continue;
      // Unchanged means its secrets' hashes are the ones it runs with: the intent includes them, as the plan's does.
      const running0 = running.get(d.id);
      const intent = this.intentOf({ ...intendedState(d), ...(running0?.secrets ? { secrets: running0.secrets } : {}) });
      if (prev.intent === intent) continue;
      const at = new Date().toISOString();
      await this.status.update(d.cluster, d.id, () => ({ id: d.id, cluster: d.cluster, intent, version: d.spec.Version, status: 'Active', resolution: 'unchanged', failures: 0, at }));
      await this.outcomes
        .append({ id: d.id, cluster: d.cluster, revision: plan.revision, kind: 'update', version: d.spec.Version, digest: d.spec.Digest, intent, status: 'Active', resolution: 'unchanged', at, durationMs: 0 })
        .catch((e) => this.sous.logger.warn(`outcome of ${d.id} not logged: ${(e as Error).message}`));
    }
  }

  private async applyOne(scope: ClusterScope, action: Action, opts: RectifyOptions, revision: string, secrets?: Record<string, string>): Promise<ActionOutcome> {
    const t0 = Date.now();
    opts.observer?.actionStart?.(action);
    const prevStatus = (await this.status.load(action.cluster))[action.deploymentID];
    if (action.kind === 'report-removed') {
      const outcome: ActionOutcome = { action, resolution: 'not deleted', status: 'Active', message: action.reason, attempts: 0, durationMs: 0 };
      if (!prevStatus?.removedNotified) {
        await this.event('rectify.removed', action, { reason: action.reason, instances: action.prior?.spec.NumInstances ?? 0 });
        await this.status.update(action.cluster, action.deploymentID, (p) => ({ ...(p ?? baseStatus(action)), removedNotified: true, at: new Date().toISOString() }));
      }
      opts.observer?.actionDone?.(outcome);
      return outcome;
    }
    const intent = action.post ? this.intentOf(action.post) : 'deleted';
    if (prevStatus && prevStatus.status === 'Active' && prevStatus.intent === intent && action.prior && !action.force) {
      await this.event('rectify.drift', action, { intended: snapshot(action.post), actual: snapshot(action.prior), differences: action.reason.split(', '), action: action.kind });
    }
    await this.sous.hooks.beforeAction.promise(action);
    const retries = this.sous.config.rectify.retries;
    let attempts = 0;
    let outcome: ActionOutcome;
    for (;;) {
      attempts++;
      if (action.refused) {
        // Known to fail before the scheduler is asked (its secrets cannot be read): what runs is left as it is.
        outcome = { action, resolution: action.kind === 'create' ? 'not created' : 'not updated', status: 'Failed', message: `${action.refused.message} [${action.refused.code}]`, attempts, durationMs: 0 };
        await this.sous.hooks.failed.promise(action, failure(action.refused.code, action.refused.message));
        break;
      }
      try {
        outcome = await scope.scheduler!.apply(action, {
          signal: opts.signal,
          timeoutMs: opts.timeoutMs ?? defaultTimeout(action),
          onProgress: (p) => opts.observer?.progress?.(action, p),
          ...(secrets ? { secrets } : {}),
          ...(action.post ? { stored: storedView(action.post, this.seal) } : {}),
        });
        outcome.attempts = attempts;
        break;
      } catch (e) {
        const se = toSousError(e, 'SCHEDULER_ERROR');
        if (se.details?.retryable === true && attempts <= retries && !opts.signal?.aborted) {
          await sleep(backoff(attempts));
          continue;
        }
        outcome = { action, resolution: action.kind === 'create' ? 'not created' : action.kind === 'delete' ? 'not deleted' : 'not updated', status: 'Failed', message: `${se.message} [${se.code}]`, attempts, durationMs: 0 };
        await this.sous.hooks.failed.promise(action, se);
        break;
      }
    }
    outcome.durationMs = Date.now() - t0;
    const rec = await this.status.update(action.cluster, action.deploymentID, (p) => {
      if (action.kind === 'delete' && outcome.status !== 'Failed') return undefined;
      const sameIntent = p?.intent === intent;
      return {
        ...baseStatus(action),
        intent,
        version: action.post?.spec.Version,
        status: outcome.status,
        resolution: outcome.resolution,
        message: outcome.message,
        failures: outcome.status === 'Failed' ? (sameIntent ? p!.failures : 0) + 1 : 0,
        heldNotified: sameIntent && outcome.status === 'Failed' ? p?.heldNotified : undefined,
        at: new Date().toISOString(),
      };
    });
    if (action.kind !== 'delete' || outcome.status === 'Failed') {
      await this.outcomes
        .append({
          id: action.deploymentID,
          cluster: action.cluster,
          revision,
          kind: action.kind,
          version: action.post?.spec.Version,
          digest: action.post?.spec.Digest,
          intent,
          status: outcome.status,
          resolution: outcome.resolution,
          ...(outcome.message ? { message: outcome.message } : {}),
          at: new Date().toISOString(),
          durationMs: outcome.durationMs,
        })
        .catch((e) => this.sous.logger.warn(`outcome of ${action.deploymentID} not logged: ${(e as Error).message}`));
    }
    this.noteOutcome(action, outcome);
    await this.sous.hooks.afterAction.promise(outcome);
    if (action.kind === 'create' || action.kind === 'update' || action.kind === 'scale') {
      if (outcome.status === 'Active') {
        await this.event('deploy.succeeded', action, { digest: action.post?.spec.Digest, previousVersion: action.prior?.spec.Version, resolution: outcome.resolution, instances: action.post?.spec.NumInstances ?? 0, durationMs: outcome.durationMs });
      } else if (outcome.status === 'Failed') {
        await this.event('deploy.failed', action, {
          phase: 'rectify',
          error: { code: /\[([A-Z_]+)\]$/.exec(outcome.message ?? '')?.[1] ?? 'DEPLOY_FAILED', message: outcome.message ?? 'failed' },
          attempts,
          digest: action.post?.spec.Digest,
          previousVersion: action.prior?.spec.Version,
          durationMs: outcome.durationMs,
        });
        if (rec && rec.failures >= this.sous.config.rectify.holdAfterFailures) await this.announceHeld(action, rec.failures, rec.message ?? '');
      }
    }
    opts.observer?.actionDone?.(outcome);
    return outcome;
  }

  /** What an action changed, as far as it is known without reading the cluster again. */
  private noteOutcome(action: Action, outcome: ActionOutcome): void {
    if (!this.observed.has(action.cluster)) return;
    this.observe(action.cluster, (p) => {
      const others = (p?.deployments ?? []).filter((d) => d.id !== action.deploymentID);
      const before = p?.deployments.find((d) => d.id === action.deploymentID);
      let now: DeployState | undefined;
      if (action.kind === 'delete') now = outcome.status === 'Failed' ? before : undefined;
      else if (action.kind === 'report-removed') now = before;
      else if (outcome.status === 'Active' && action.post) now = { ...action.post, status: 'Active', endpoints: before?.endpoints, message: undefined };
      else if (before) now = { ...before, status: outcome.status, message: outcome.message };
      else if (action.post) now = { ...action.post, status: outcome.status, message: outcome.message };
      const deployments = [...others, ...(now ? [now] : [])].sort((a, b) => a.id.localeCompare(b.id));
      return { cluster: action.cluster, readAt: p?.readAt, at: new Date().toISOString(), deployments, ...(p?.error ? { error: p.error } : {}) };
    });
  }

  private async announceHeld(action: Action, failures: number, lastError: string): Promise<void> {
    const rec = (await this.status.load(action.cluster))[action.deploymentID];
    if (rec?.heldNotified) return;
    await this.event('rectify.held', action, { failures, error: { code: 'DEPLOY_HELD', message: lastError || 'failed repeatedly' }, action: action.kind });
    await this.status.update(action.cluster, action.deploymentID, (p) => (p ? { ...p, heldNotified: true } : p));
  }

  private async event(type: EventType, action: Action, fields: Record<string, unknown>): Promise<void> {
    const d = action.post ?? action.prior!;
    await emitEvent(this.sous, {
      type,
      deploymentID: action.deploymentID,
      manifestID: formatManifestID(d.manifestID),
      cluster: action.cluster,
      ...(d.spec.Version ? { version: d.spec.Version } : {}),
      owners: d.owners,
      ...fields,
    } as never).catch((e) => this.sous.logger.warn(`${type} not announced: ${(e as Error).message}`));
  }
}

function baseStatus(action: Action): DeploymentStatus {
  return { id: action.deploymentID, cluster: action.cluster, intent: '', status: 'Pending', resolution: 'coming', failures: 0, at: new Date().toISOString() };
}

function snapshot(d: DeployState | undefined): Record<string, unknown> {
  if (!d) return {};
  return { version: d.spec.Version, digest: d.spec.Digest, instances: d.spec.NumInstances ?? 0, status: d.status };
}


