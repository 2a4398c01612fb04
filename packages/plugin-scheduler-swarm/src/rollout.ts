import { engineAuthFor, failure, isSousError, registryOfReference, type ApplyOptions, type DeployState, type EngineAuthConfig } from '@sous/core';
import { sleep } from '@sous/core';
import { containerPorts, imageReference, LABELS, ownedBy, readinessFor, stableJSON, waitReady, withLogLines, type Engine, type InstanceView, type RolloutResult, type WaitResult } from '@sous/plugin-scheduler-docker';
import type { SwarmSettings } from './options';
import { serviceSpec, specConfig, type ServiceExtras, type ServiceSpec } from './spec';
import { ensureSecrets, exportingCommand, removeStaleSecrets } from './secrets';
import { createService, FAILED, findService, listTasks, removeService, taskConfig, taskLogs, TERMINAL, updateService, type NodeAddresses, type Service, type Task } from './swarm';

const POLL_MS = 250;
/** Exit codes of a process ended by SIGINT, SIGKILL or SIGTERM. */
const SIGNAL_EXITS = new Set([130, 137, 143]);
const ROLLBACK_STATES = new Set(['rollback_started', 'rollback_completed', 'rollback_paused', 'paused']);

/**
 * Brings one deployment's service to its intended state and waits for it:
 * creates or updates the service (swarm then rolls tasks start-first, and
 * rolls back by itself when a new task fails), and probes every task of the
 * new configuration from outside through its published host port. Active
 * once swarm calls the update complete and every intended task answers
 * ready; Failed (after swarm's rollback) when a task fails or is never ready.
 */
export class SwarmRollout {
  private readonly desired: ServiceSpec;
  private readonly config: string;
  private readonly deadline: number;
  private readonly probes = new Map<string, { result?: WaitResult; ended?: boolean }>();
  private tasks = new Map<string, Task>();
  private lastProgress = '';

  constructor(
    private readonly engine: Engine,
    private readonly s: SwarmSettings,
    private readonly nodes: NodeAddresses,
    private readonly post: DeployState,
    private readonly opts: ApplyOptions,
    /** Restart every task even when nothing changed (a forced redeploy). */
    private readonly force = false,
  ) {
    this.desired = serviceSpec(post, s);
    this.config = specConfig(this.desired);
    this.deadline = Date.now() + opts.timeoutMs;
  }

  /** The credentials of the image's registry, for swarm to hand its nodes. */
  private registryAuth(): Promise<EngineAuthConfig> {
    return engineAuthFor(registryOfReference(this.desired.TaskTemplate.ContainerSpec.Image), this.s.registries);
  }

  private progress(message: string): void {
    if (message === this.lastProgress) return;
    this.lastProgress = message;
    this.opts.onProgress?.({ phase: 'rollout', message });
  }

  private extras: ServiceExtras = {};

  /** Secrets as docker secrets (one per value) and the command that exports them; the spec core lets the labels keep. */
  private async prepare(): Promise<void> {
    this.extras = { stored: this.opts.stored };
    const values = this.opts.secrets;
    if (!values || !Object.keys(values).length) return;
    this.progress(`creating ${Object.keys(values).length} secret(s)`);
    this.extras.secrets = await ensureSecrets(this.engine, this.post, this.s.gdm, values);
    this.extras.command = await exportingCommand(this.engine, imageReference(this.post, this.s.def, this.s.registries), this.post.spec.Args, this.s.registries);
  }

  async run(): Promise<RolloutResult> {
    await this.prepare();
    const r = await this.roll();
    // The secrets of earlier values go once nothing runs with them (one still in use stays for the next rollout).
    if (r.status === 'Active') await removeStaleSecrets(this.engine, this.post.id, this.s.gdm, new Set((this.extras.secrets ?? []).map((m) => m.SecretName)));
    return r;
  }

  private async roll(): Promise<RolloutResult> {
    const since = (await this.engine.now()) - 1000;
    let svc = await findService(this.engine, this.desired.Name);
    let created = false;
    let expectUpdate = false;
    const before = svc?.UpdateStatus?.StartedAt;
    if (!svc) {
      try {
        await createService(this.engine, serviceSpec(this.post, this.s, 0, this.extras), await this.registryAuth());
        created = true;
      } catch (e) {
        // Created meanwhile by someone else: fall through and update it like any existing service.
        if (!isSousError(e) || e.details?.status !== 409) throw e;
      }
      svc = await findService(this.engine, this.desired.Name);
      if (!svc) return { status: 'Failed', message: `service ${this.desired.Name} disappeared right after it was created` };
    }
    if (!ownedBy(svc.Spec.Labels, this.s.gdm)) return foreign(svc, this.s.cluster);
    if (!created) expectUpdate = await this.updateIfNeeded(svc);
    return this.wait(svc.ID, { since, before, expectUpdate, created });
  }

  /** Updates the service when it differs from the intended one; true when swarm will roll its tasks. */
  private async updateIfNeeded(svc: Service): Promise<boolean> {
    const stuck = svc.UpdateStatus?.State === 'paused' || svc.UpdateStatus?.State === 'rollback_paused' || this.force;
    const sameTasks = specConfig(svc.Spec) === this.config;
    // ForceUpdate makes swarm replace tasks whose spec did not change: to resume a paused update, or on --force.
    const force = (svc.Spec.TaskTemplate.ForceUpdate ?? 0) + (stuck && sameTasks ? 1 : 0);
    const next = serviceSpec(this.post, this.s, force, this.extras);
    const sameLabels = stableJSON(svc.Spec.Labels ?? {}) === stableJSON(next.Labels);
    const sameReplicas = svc.Spec.Mode.Replicated?.Replicas === next.Mode.Replicated?.Replicas;
    if (sameTasks && sameLabels && sameReplicas && !stuck) return false;
    this.progress(sameTasks && !stuck ? `updating service ${next.Name}` : `rolling service ${next.Name} to ${this.post.spec.Version}`);
    await updateService(this.engine, svc.ID, svc.Version.Index, next, false, await this.registryAuth());
    return !sameTasks || stuck;
  }

  private async wait(id: string, w: { since: number; before?: string; expectUpdate: boolean; created: boolean }): Promise<RolloutResult> {
    const want = this.post.spec.NumInstances ?? 0;
    for (;;) {
      if (this.opts.signal?.aborted) return { status: 'Pending', message: 'stopped waiting' };
      if (Date.now() >= this.deadline) return { status: 'Pending', message: `not done yet: ${this.lastProgress || 'waiting for swarm'}` };
      let svc: Service | undefined;
      let all: Task[];
      try {
        svc = await findService(this.engine, id);
        all = svc ? await listTasks(this.engine, { service: [svc.ID] }) : [];
      } catch (e) {
        // A manager restarting (or re-electing) answers 503 for a while: wait it out until the deadline.
        if (!isSousError(e) || e.details?.retryable !== true) throw e;
        this.progress(`waiting for the swarm manager: ${e.message}`);
        await sleep(4 * POLL_MS, this.opts.signal);
        continue;
      }
      if (!svc) return { status: 'Failed', message: `service ${this.desired.Name} was removed while it was deployed` };
      this.tasks = new Map(all.map((t) => [t.ID, t]));
      const us = svc.UpdateStatus;
      const fresh = Boolean(us?.StartedAt) && us?.StartedAt !== w.before;
      if (fresh && ROLLBACK_STATES.has(us!.State ?? '')) {
        this.progress(`swarm is rolling back: ${us!.Message ?? us!.State}`);
        if (us!.State !== 'rollback_started') return this.failed(`swarm rolled the update back: ${us!.Message ?? us!.State}`, all, w.since);
      } else {
        const ours = all.filter((t) => taskConfig(t) === this.config);
        const failedNow = ours.filter((t) => FAILED.has(t.Status.State) && Date.parse(t.CreatedAt) >= w.since);
        // Without an update running, swarm only restarts a failing task: say so rather than wait.
        if (failedNow.length && !w.expectUpdate) return this.abort(svc, w, 'a task failed', all);
        const running = ours.filter((t) => t.DesiredState === 'running' && t.Status.State === 'running');
        for (const t of running) if (!this.probes.has(t.ID)) this.probe(t.ID);
        const others = all.filter((t) => t.DesiredState === 'running' && taskConfig(t) !== this.config);
        const updateDone = !w.expectUpdate || (fresh && us?.State === 'completed');
        // A task that ended during swarm's update is swarm's to roll back; a task never ready is Sous's.
        const failed = [...this.probes.values()].find((p) => p.result?.status === 'failed' && !(p.ended && !updateDone));
        if (failed) return this.abort(svc, w, failed.result!.message, all);
        const ready = running.filter((t) => this.probes.get(t.ID)?.result?.status === 'ready');
        if (updateDone && running.length === want && ready.length === want && others.length === 0) {
          return { status: 'Active', message: `${want} task(s) of ${this.post.spec.Version} running and ready` };
        }
        this.progress(`${ready.length} of ${want} task(s) of ${this.post.spec.Version} ready${others.length ? `, ${others.length} earlier still running` : ''}${w.expectUpdate && !updateDone ? ' (swarm is updating)' : ''}`);
      }
      await sleep(POLL_MS, this.opts.signal);
    }
  }

  /** Probes one task in the background; the result lands in `probes`. */
  private probe(taskID: string): void {
    const entry: { result?: WaitResult; ended?: boolean } = {};
    this.probes.set(taskID, entry);
    const ports = containerPorts(this.post.spec, this.s.containerPort);
    const readiness = readinessFor(this.post.kind, this.post.spec.Startup, ports.length);
    const look = async (): Promise<InstanceView> => {
      const t = this.tasks.get(taskID);
      if (!t) return { state: 'starting', reason: 'task not listed' };
      if (TERMINAL.has(t.Status.State) || t.DesiredState !== 'running') entry.ended = true;
      if (entry.ended) return { state: 'failed', reason: `task ${t.ID.slice(0, 12)} is ${t.Status.State}${t.Status.Err ? `: ${t.Status.Err}` : ''}` };
      if (t.Status.State !== 'running') return { state: 'starting', reason: `task ${t.ID.slice(0, 12)} is ${t.Status.State}` };
      const target = ports[readiness.portIndex];
      const published = t.Status.PortStatus?.Ports?.find((p) => p.TargetPort === target)?.PublishedPort;
      return { state: 'running', host: this.s.probeHost ?? (await this.nodes.of(t.NodeID)), port: published };
    };
    void waitReady({ readiness, settleMs: this.s.settleMs, deadline: this.deadline, signal: this.opts.signal, look }).then(
      (r) => (entry.result = r),
      (e) => (entry.result = { status: 'failed', message: (e as Error).message }),
    );
  }

  /**
   * A new task failed or was never ready: put the previous version back
   * (swarm's rollback), or for a service just created remove it, and report.
   */
  private async abort(svc: Service, w: { since: number; created: boolean; expectUpdate: boolean }, why: string, all: Task[]): Promise<RolloutResult> {
    if (w.created) {
      const r = await this.failed(why, all, w.since);
      await removeService(this.engine, svc.ID);
      return r;
    }
    if (w.expectUpdate && svc.PreviousSpec && !ROLLBACK_STATES.has(svc.UpdateStatus?.State ?? '')) {
      this.progress(`rolling back: ${why}`);
      await updateService(this.engine, svc.ID, svc.Version.Index, svc.Spec, true);
      for (;;) {
        await sleep(POLL_MS);
        const now = await findService(this.engine, svc.ID).catch((e) => {
          if (isSousError(e) && e.details?.retryable === true) return svc;
          throw e;
        });
        const st = now?.UpdateStatus?.State;
        if (!now || st === 'rollback_completed' || st === 'rollback_paused' || Date.now() >= this.deadline) break;
      }
      return this.failed(`${why} (rolled back to the previous version)`, all, w.since);
    }
    return this.failed(why, all, w.since);
  }

  /** A Failed result naming the failing task's error and quoting its last log lines. */
  private async failed(why: string, all: Task[], since: number): Promise<RolloutResult> {
    const latest = await listTasks(this.engine, { service: [this.desired.Name] }).catch(() => all);
    // The newest task that failed by itself; one the rollback shut down (SIGTERM, SIGKILL) says nothing of why.
    const byItself = (t: Task) => FAILED.has(t.Status.State) && !SIGNAL_EXITS.has(t.Status.ContainerStatus?.ExitCode ?? 0);
    const bad = latest
      .filter((t) => taskConfig(t) === this.config && Date.parse(t.CreatedAt) >= since && (FAILED.has(t.Status.State) || (t.Status.ContainerStatus?.ExitCode ?? 0) !== 0))
      .sort((a, b) => Number(byItself(b)) - Number(byItself(a)) || Date.parse(b.CreatedAt) - Date.parse(a.CreatedAt))[0];
    let message = why;
    if (bad) {
      const code = bad.Status.ContainerStatus?.ExitCode;
      message += `; task ${bad.ID.slice(0, 12)} ${bad.Status.State}${bad.Status.Err ? `: ${bad.Status.Err}` : ''}${code ? ` (exit code ${code})` : ''}`;
      message = withLogLines(message, await taskLogs(this.engine, bad.ID, this.s.logLines));
    }
    return { status: 'Failed', message };
  }
}

/** A service of the same name that another GDM made: never updated or removed from here. */
function foreign(svc: Service, cluster: string): never {
  throw failure('DEPLOYMENT_OF_ANOTHER_GDM', `service ${svc.Spec.Name} on cluster ${cluster} was made by another Sous state (GDM ${svc.Spec.Labels?.[LABELS.gdm]?.slice(0, 12)}); it was left as it is`, {
    hints: ['Two GDMs define a cluster of this swarm under the same name: give one of them another cluster name, or remove the service from the GDM that should not have it'],
  });
}

/** Removes a deployment's service (when this GDM made it) and waits (until `deadline`) for its tasks to go. */
export async function removeDeploymentService(engine: Engine, name: string, deadline: number, s?: { gdm?: string; cluster: string }): Promise<boolean> {
  const svc = await findService(engine, name);
  if (!svc) return false;
  if (s && !ownedBy(svc.Spec.Labels, s.gdm)) foreign(svc, s.cluster);
  await removeService(engine, svc.ID);
  while (Date.now() < deadline) {
    const left = await listTasks(engine, { service: [svc.ID] }).catch(() => []);
    if (!left.some((t) => !TERMINAL.has(t.Status.State))) break;
    await sleep(POLL_MS);
  }
  return true;
}
