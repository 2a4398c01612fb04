import type { Cluster, RegistryConfig, Sous, SousPlugin } from '@sous/core';
import { clusterSettings, type DockerSchedulerOptions } from './options';
import { DockerScheduler } from './scheduler';

/**
 * Registers the scheduler for clusters of kind `docker`. One scheduler per
 * cluster, made again only when the cluster's definition changes.
 */
export class DockerSchedulerPlugin implements SousPlugin {
  static readonly PLUGIN_NAME = 'sous:scheduler-docker';
  readonly name = DockerSchedulerPlugin.PLUGIN_NAME;
  private readonly schedulers = new Map<string, { key: string; scheduler: DockerScheduler }>();

  constructor(readonly options: DockerSchedulerOptions = {}) {}

  /** The scheduler for a cluster (made on first use). */
  schedulerFor(name: string, def: Cluster, gdm?: string, registries?: RegistryConfig): DockerScheduler {
    const key = JSON.stringify([def, gdm]);
    const have = this.schedulers.get(name);
    if (have && have.key === key) return have.scheduler;
    const scheduler = new DockerScheduler(clusterSettings(name, def, this.options, gdm, registries));
    this.schedulers.set(name, { key, scheduler });
    return scheduler;
  }

  apply(sous: Sous): void {
    sous.hooks.scheduler.for('docker').tap(this.name, (c) => this.schedulerFor(c.name, c.def, c.gdm, sous.config));
  }
}

/** The docker scheduler plugin, for sous.config.ts: `plugins: [dockerScheduler({ bindAddress: '0.0.0.0' })]`. */
export const dockerScheduler = (opts?: DockerSchedulerOptions) => new DockerSchedulerPlugin(opts);
