import { usageError, type ClusterRef, type Scheduler, type Sous, type SousPlugin } from '@sous/core';
import { SingularityClient } from './client';
import { SingularityScheduler } from './scheduler';

/** Options of `singularityScheduler()`; every field has a default. */
export interface SingularityOptions {
  /** Registry to name images in when the cluster has no Registry of its own (default: Sous's `registry`). */
  registry?: string;
  /** How often to ask Singularity whether a deploy or scale finished, in ms (default 2000). */
  pollMs?: number;
  /** Give up on a single HTTP call after this long, in ms (default 30000). */
  requestTimeoutMs?: number;
  /** Calls in flight at once per cluster (default 10, as the original Sous). */
  maxConcurrency?: number;
  /** Extra headers on every call, e.g. `{ Authorization: 'Bearer ...' }` for an authenticating Singularity. */
  headers?: Record<string, string>;
  /** The user named in Singularity's deploy history (default: Sous's user email, or name). */
  user?: string;
}

/** A scheduler that reports a configuration problem whenever it is used, so other clusters carry on. */
function broken(kind: string, error: Error): Scheduler {
  return {
    kind,
    actual: () => Promise.reject(error),
    apply: () => Promise.reject(error),
  };
}

/**
 * Schedules deployments on Singularity (cluster kind `singularity`), the
 * scheduler the original Sous drove, through its REST API. Cluster BaseURL
 * is the Singularity root (the API is under `/api`).
 */
export class SingularitySchedulerPlugin implements SousPlugin {
  static readonly PLUGIN_NAME = 'sous:scheduler-singularity';
  readonly name = SingularitySchedulerPlugin.PLUGIN_NAME;
  private readonly schedulers = new Map<string, Scheduler>();

  constructor(private readonly opts: SingularityOptions = {}) {}

  apply(sous: Sous): void {
    sous.hooks.scheduler.for('singularity').tap(this.name, (c: ClusterRef) => {
      const registry = c.def.Registry || this.opts.registry || sous.config.registry;
      const key = JSON.stringify([c.name, c.def.BaseURL, registry]);
      let s = this.schedulers.get(key);
      if (!s) {
        s = this.create(c, registry, sous);
        this.schedulers.set(key, s);
      }
      return s;
    });
  }

  private create(c: ClusterRef, registry: string | undefined, sous: Sous): Scheduler {
    const base = c.def.BaseURL ?? '';
    if (!/^https?:\/\//.test(base)) {
      return broken(
        'singularity',
        usageError('SINGULARITY_NO_BASE_URL', `cluster ${c.name} has ${base ? `BaseURL ${JSON.stringify(base)}, not an http(s) URL` : 'no BaseURL'}; a Singularity cluster needs the URL Singularity answers at`, {
          hints: [`Set it: sous cluster add --name ${c.name} --kind singularity --base-url http://singularity.example.com/singularity`],
        }),
      );
    }
    const client = new SingularityClient({
      baseURL: base,
      timeoutMs: this.opts.requestTimeoutMs ?? 30_000,
      maxConcurrency: this.opts.maxConcurrency ?? 10,
      headers: this.opts.headers,
    });
    return new SingularityScheduler({
      cluster: c,
      client,
      registry,
      registries: sous.config,
      user: this.opts.user || sous.config.user.email || sous.config.user.name,
      pollMs: this.opts.pollMs ?? 2000,
    });
  }
}

/** The Singularity scheduler plugin, for `plugins` in the Sous config. */
export const singularityScheduler = (opts?: SingularityOptions): SingularitySchedulerPlugin => new SingularitySchedulerPlugin(opts);

export { SingularityScheduler, type SingularityContext } from './scheduler';
export { SingularityClient, type ClientOptions } from './client';
export { requestIDFor, newDeployID, sanitize } from './ids';
export { stateFromSingularity, statusOf } from './read';
export { deployBody, requestBody, healthcheckFor, startupFrom, META } from './wire';
export type * from './dto';
export { sandboxLogs, checkLogRequest, LOG_FILES, type TaskIdHistory, type FileChunk, type Sandbox } from './logs';
