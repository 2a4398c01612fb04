import type { Cluster, RegistryConfig, Sous, SousPlugin } from '@sous/core';
import { swarmSettings, type SwarmSchedulerOptions } from './options';
import { SwarmScheduler } from './scheduler';

/** Registers the scheduler for clusters of kind `swarm`: one per cluster, made again when its definition changes. */
export class SwarmSchedulerPlugin implements SousPlugin {
  static readonly PLUGIN_NAME = 'sous:scheduler-swarm';
  readonly name = SwarmSchedulerPlugin.PLUGIN_NAME;
  private readonly schedulers = new Map<string, { key: string; scheduler: SwarmScheduler }>();

  constructor(readonly options: SwarmSchedulerOptions = {}) {}

  schedulerFor(name: string, def: Cluster, gdm?: string, registries?: RegistryConfig): SwarmScheduler {
    const key = JSON.stringify([def, gdm]);
    const have = this.schedulers.get(name);
    if (have && have.key === key) return have.scheduler;
    const scheduler = new SwarmScheduler(swarmSettings(name, def, this.options, gdm, registries));
    this.schedulers.set(name, { key, scheduler });
    return scheduler;
  }

  apply(sous: Sous): void {
    sous.hooks.scheduler.for('swarm').tap(this.name, (c) => this.schedulerFor(c.name, c.def, c.gdm, sous.config));
  }
}

/** The swarm scheduler plugin, for sous.config.ts: `plugins: [swarmScheduler({ healthcheck: 'wget' })]`. */
export const swarmScheduler = (opts?: SwarmSchedulerOptions) => new SwarmSchedulerPlugin(opts);
