import { SousError } from '../errors';
import type { Sous } from '../hooks/sous';
import type { SousPlugin } from '../hooks/plugin';
import type { Action, ActionOutcome, ApplyOptions, DeployState, Scheduler } from '../pipeline/types';
import { clone } from '../model/manifest';

/** Decides how an action goes in a MemoryScheduler: succeed, fail with a message, or throw. */
export type MemoryBehaviour = (action: Action, attempt: number) => 'ok' | { fail: string } | { throw: SousError };

/**
 * A scheduler that keeps deployments in memory: the reference implementation
 * of the Scheduler contract, for planning benchmarks and for exercising the
 * rectifier without a cluster. Cluster kind `memory`.
 */
export class MemoryScheduler implements Scheduler {
  readonly kind = 'memory';
  readonly deployments = new Map<string, DeployState>();
  readonly calls: Action[] = [];
  /** The secret values each deployment was last given (ApplyOptions.secrets), as an engine's container environment would hold them. */
  readonly secretsGiven = new Map<string, Readonly<Record<string, string>>>();
  /** The most actions in flight at once, to check bounded concurrency. */
  maxInFlight = 0;
  private inFlight = 0;
  private attempts = new Map<string, number>();
  failActual?: SousError;
  delayMs = 0;
  behaviour: MemoryBehaviour = () => 'ok';

  constructor(readonly cluster: string) {}

  async actual(): Promise<DeployState[]> {
    if (this.failActual) throw this.failActual;
    return [...this.deployments.values()].map((d) => clone(d));
  }

  async apply(action: Action, opts: ApplyOptions): Promise<ActionOutcome> {
    this.calls.push(action);
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      if (this.delayMs) await new Promise((r) => setTimeout(r, this.delayMs));
      const key = `${action.deploymentID}|${action.post?.spec.Version ?? ''}`;
      const attempt = (this.attempts.get(key) ?? 0) + 1;
      this.attempts.set(key, attempt);
      const b = this.behaviour(action, attempt);
      if (typeof b === 'object' && 'throw' in b) throw b.throw;
      const started = Date.now();
      if (action.kind === 'delete') {
        this.deployments.delete(action.deploymentID);
        return { action, resolution: 'deleted', status: 'Active', attempts: attempt, durationMs: Date.now() - started };
      }
      const post = clone(action.post!);
      if (typeof b === 'object' && 'fail' in b) {
        this.deployments.set(action.deploymentID, { ...post, status: 'Failed', message: b.fail });
        return { action, resolution: action.kind === 'create' ? 'not created' : 'not updated', status: 'Failed', message: b.fail, attempts: attempt, durationMs: Date.now() - started };
      }
      if (opts.secrets) this.secretsGiven.set(action.deploymentID, opts.secrets);
      this.deployments.set(action.deploymentID, { ...post, status: 'Active' });
      return { action, resolution: action.kind === 'create' ? 'created' : 'updated', status: 'Active', attempts: attempt, durationMs: Date.now() - started };
    } finally {
      this.inFlight--;
    }
  }
}

/**
 * Registers MemorySchedulers for clusters of kind `memory`, one per cluster
 * name. A BaseURL of `memory:?delay=500` makes every action take that many
 * milliseconds (to watch a rollout, or a shutdown mid-action).
 */
export class MemorySchedulerPlugin implements SousPlugin {
  static readonly PLUGIN_NAME = 'sous:scheduler-memory';
  readonly name = MemorySchedulerPlugin.PLUGIN_NAME;
  readonly schedulers = new Map<string, MemoryScheduler>();

  apply(sous: Sous): void {
    sous.hooks.scheduler.for('memory').tap(this.name, (c) => {
      let s = this.schedulers.get(c.name);
      if (!s) {
        this.schedulers.set(c.name, (s = new MemoryScheduler(c.name)));
        const delay = c.def.BaseURL ? Number(new URL(c.def.BaseURL).searchParams.get('delay') ?? 0) : 0;
        if (delay > 0) s.delayMs = delay;
      }
      return s;
    });
  }
}
