import type { Logger, ResolvedConfig, Sous, SousPlugin } from '@sous/core';

/**
 * The plugins a standard installation applies, in order, before the ones the
 * configuration lists. Each is loaded only when a command needs a Sous.
 */
export const DEFAULT_PLUGINS: readonly [pkg: string, factory: string][] = [
  ['@sous/plugin-docker', 'docker'],
  ['@sous/plugin-stack-node', 'nodeStack'],
  ['@sous/plugin-stack-go', 'goStack'],
  ['@sous/plugin-stack-java', 'javaStack'],
  ['@sous/plugin-contracts', 'contracts'],
  ['@sous/plugin-sign', 'sign'],
  ['@sous/plugin-cache', 'cache'],
  ['@sous/plugin-scheduler-docker', 'dockerScheduler'],
  ['@sous/plugin-scheduler-swarm', 'swarmScheduler'],
  ['@sous/plugin-scheduler-kubernetes', 'kubernetesScheduler'],
  ['@sous/plugin-scheduler-singularity', 'singularityScheduler'],
  ['@sous/plugin-notify-webhook', 'webhookNotifier'],
  ['@sous/plugin-notify-slack', 'slackNotifier'],
  ['@sous/plugin-notify-email', 'emailNotifier'],
  ['@sous/plugin-secrets', 'secrets'],
];

export function defaultPlugins(): SousPlugin[] {
  const out: SousPlugin[] = [];
  for (const [pkg, factory] of DEFAULT_PLUGINS) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const mod = require(pkg) as Record<string, unknown>;
    const make = mod[factory];
    if (typeof make === 'function') out.push((make as () => SousPlugin)());
  }
  return out;
}

/** A Sous with the core defaults, the standard plugins, then the configured ones; the config checked by every plugin. */
export function createSous(config: ResolvedConfig, logger: Logger): Sous {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const core = require('@sous/core') as typeof import('@sous/core');
  const sous = core.Sous.create(config, { logger });
  const configured = new Set(config.plugins.map((p) => p.name));
  sous.use(...defaultPlugins().filter((p) => !configured.has(p.name)), ...config.plugins);
  sous.validateConfig();
  return sous;
}
