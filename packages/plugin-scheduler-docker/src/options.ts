import { usageError, type Cluster, type RegistryConfig } from '@sous/core';
import { parseEngineURL, type EngineTarget } from './engine';

/** Settings for the clusters of kind docker; each may be given for all clusters or per cluster. */
export interface DockerClusterOptions {
  /** The host address published ports bind to. Default 127.0.0.1 for a local socket, 0.0.0.0 for a tcp engine. */
  bindAddress?: string;
  /** What instances get as TASK_HOST: where others reach them. Default: the bind address, or the engine's host when binding all addresses. */
  taskHost?: string;
  /** Where readiness probes connect. Default: as taskHost (127.0.0.1 for a local engine binding all addresses). */
  probeHost?: string;
  /** The container port of PORT0; PORTn is this plus n. Default 8080. */
  containerPort?: number;
  /** Seconds between SIGTERM and SIGKILL when an instance stops. Default 10. */
  stopGraceSeconds?: number;
  /** How long an instance without an HTTP check must keep running to count as started (ms). Default 2000. */
  settleMs?: number;
  /** Run an init process as PID 1 so SIGTERM reaches the application. Default true. */
  init?: boolean;
}

export interface DockerSchedulerOptions extends DockerClusterOptions {
  /** Per-cluster settings, by cluster name; they override the ones above. */
  clusters?: Record<string, DockerClusterOptions>;
  /** Log lines quoted in a failure message. Default 20. */
  logLines?: number;
}

/** Everything one cluster's scheduler needs to know, resolved. */
export interface ClusterSettings {
  cluster: string;
  def: Cluster;
  /** The GDM this scheduler acts for: it marks what it creates, and sees and touches nothing another GDM made. */
  gdm?: string;
  engine: EngineTarget;
  bindAddress: string;
  taskHost: string;
  probeHost: string;
  containerPort: number;
  stopGraceSeconds: number;
  settleMs: number;
  init: boolean;
  logLines: number;
  /** The config's registry settings: credentials for pulls, image names in the cluster's registry. */
  registries?: RegistryConfig;
}

const ANY = new Set(['0.0.0.0', '::', '']);

/**
 * Resolves a cluster's settings: its BaseURL (with `?bind=` and `?taskHost=`
 * query parameters), then the plugin's per-cluster options, then the plugin's
 * options, then the defaults.
 */
export function clusterSettings(name: string, def: Cluster, opts: DockerSchedulerOptions, gdm?: string, registries?: RegistryConfig): ClusterSettings {
  const engine = parseEngineURL(def.BaseURL, name);
  const per = opts.clusters?.[name] ?? {};
  const pick = <K extends keyof DockerClusterOptions>(k: K): DockerClusterOptions[K] => per[k] ?? opts[k];
  const bindAddress = engine.params.bind ?? pick('bindAddress') ?? (engine.remoteHost ? '0.0.0.0' : '127.0.0.1');
  const engineHost = engine.remoteHost ?? '127.0.0.1';
  const taskHost = engine.params.taskHost ?? pick('taskHost') ?? (ANY.has(bindAddress) ? engineHost : bindAddress);
  const probeHost = engine.params.probeHost ?? pick('probeHost') ?? (ANY.has(bindAddress) ? engineHost : bindAddress);
  const containerPort = pick('containerPort') ?? 8080;
  if (!Number.isInteger(containerPort) || containerPort < 1 || containerPort > 65000) {
    throw usageError('INVALID_PLUGIN_OPTION', `dockerScheduler: containerPort ${containerPort} is not a port number`, { hints: ['Use a port such as 8080'] });
  }
  return {
    cluster: name,
    def,
    ...(gdm ? { gdm } : {}),
    engine,
    bindAddress,
    taskHost,
    probeHost,
    containerPort,
    stopGraceSeconds: pick('stopGraceSeconds') ?? 10,
    settleMs: pick('settleMs') ?? 2000,
    init: pick('init') ?? true,
    logLines: opts.logLines ?? 20,
    registries,
  };
}
