import { usageError, type Cluster, type RegistryConfig } from '@sous/core';
import { parseEngineURL, type EngineTarget } from '@sous/plugin-scheduler-docker';

/**
 * How a service's tasks are health-checked inside their containers. Swarm
 * only stops an old task once a new one is healthy, so a check gates every
 * step of a rolling update; it needs a tool the image has. `image` (the
 * default) adds none and uses the image's own HEALTHCHECK if it has one.
 */
export type HealthcheckOption = 'image' | 'wget' | 'curl' | string[];

/** Settings for the clusters of kind swarm; each may be given for all clusters or per cluster. */
export interface SwarmClusterOptions {
  /** Seconds swarm watches each updated task for failure before the update counts as done (--update-monitor). Default 5, as docker's. */
  updateMonitorSeconds?: number;
  /** Tasks updated at once (--update-parallelism). Default 1. */
  updateParallelism?: number;
  healthcheck?: HealthcheckOption;
  /** The container port of PORT0; PORTn is this plus n. Default 8080. */
  containerPort?: number;
  /** Seconds between SIGTERM and SIGKILL when a task stops. Default 10. */
  stopGraceSeconds?: number;
  /** How long a task without an HTTP check must keep running to count as started (ms). Default 2000. */
  settleMs?: number;
  /** What tasks get as TASK_HOST. Default `{{.Node.Hostname}}` (a swarm template). */
  taskHost?: string;
  /** Where readiness probes connect. Default: the address of the task's node. */
  probeHost?: string;
}

export interface SwarmSchedulerOptions extends SwarmClusterOptions {
  /** Per-cluster settings, by cluster name; they override the ones above. */
  clusters?: Record<string, SwarmClusterOptions>;
  /** Log lines quoted in a failure message. Default 20. */
  logLines?: number;
}

export interface SwarmSettings {
  cluster: string;
  def: Cluster;
  /** The GDM this scheduler acts for: it marks the services it creates and leaves another GDM's alone. */
  gdm?: string;
  engine: EngineTarget;
  monitorSeconds: number;
  parallelism: number;
  healthcheck: HealthcheckOption;
  containerPort: number;
  stopGraceSeconds: number;
  settleMs: number;
  taskHost: string;
  probeHost?: string;
  logLines: number;
  /** The config's registry settings: credentials handed to swarm for its nodes' pulls, image names in the cluster's registry. */
  registries?: RegistryConfig;
}

function bad(option: string, value: unknown, hint: string) {
  return usageError('INVALID_PLUGIN_OPTION', `swarmScheduler: ${option} ${JSON.stringify(value)} is not allowed`, { hints: [hint] });
}

/** Resolves a cluster's settings: BaseURL query parameters, then per-cluster options, then the plugin's, then defaults. */
export function swarmSettings(name: string, def: Cluster, opts: SwarmSchedulerOptions, gdm?: string, registries?: RegistryConfig): SwarmSettings {
  const engine = parseEngineURL(def.BaseURL, name);
  const per = opts.clusters?.[name] ?? {};
  const pick = <K extends keyof SwarmClusterOptions>(k: K): SwarmClusterOptions[K] => per[k] ?? opts[k];
  const monitorSeconds = pick('updateMonitorSeconds') ?? 5;
  if (!(monitorSeconds >= 0)) throw bad('updateMonitorSeconds', monitorSeconds, 'Use a number of seconds, e.g. 5');
  const parallelism = pick('updateParallelism') ?? 1;
  if (!Number.isInteger(parallelism) || parallelism < 1) throw bad('updateParallelism', parallelism, 'Use a whole number of tasks, at least 1');
  const healthcheck = pick('healthcheck') ?? 'image';
  if (!Array.isArray(healthcheck) && !['image', 'wget', 'curl'].includes(healthcheck)) throw bad('healthcheck', healthcheck, "Use 'image', 'wget', 'curl' or a command array with {url} in it");
  return {
    cluster: name,
    def,
    ...(gdm ? { gdm } : {}),
    engine,
    monitorSeconds,
    parallelism,
    healthcheck,
    containerPort: pick('containerPort') ?? 8080,
    stopGraceSeconds: pick('stopGraceSeconds') ?? 10,
    settleMs: pick('settleMs') ?? 2000,
    taskHost: engine.params.taskHost ?? pick('taskHost') ?? '{{.Node.Hostname}}',
    probeHost: engine.params.probeHost ?? pick('probeHost'),
    logLines: opts.logLines ?? 20,
    registries,
  };
}
