import { Flags } from '@oclif/core';
import { clusterFlag, filterFlags } from './base';
import { createSous } from './sous';
import type { Logger, ResolvedConfig, Rectifier, RectifyPlan, StateBackend } from '@sous/core';

/** The scope of a rectify or plan: the original's filters, or --all. */
export const scopeFlags = {
  ...filterFlags,
  cluster: clusterFlag,
  all: Flags.boolean({ description: 'every deployment in every cluster', helpGroup: 'FILTER' }),
  prune: Flags.boolean({ description: 'delete deployments that are no longer intended (otherwise they are only reported, unless the cluster allows pruning)' }),
};

export function checkScope(flags: { repo?: string; source?: string; cluster?: string; all?: boolean; offset?: string; flavor?: string }): void {
  if (!flags.all && !flags.repo && !flags.source && !flags.cluster) {
    const { usageError } = require('@sous/core') as typeof import('@sous/core');
    throw usageError('NO_SCOPE', 'say what to rectify: --repo/--source (with --offset, --flavor), --cluster, or --all', {
      hints: ['sous rectify --repo github.com/acme/shop', 'sous rectify --all'],
    });
  }
}

/** The rectifier of the embedded store: the standard plugins, outcomes kept beside the state. */
export function localRectifier(config: ResolvedConfig, logger: Logger, backend: StateBackend): Rectifier {
  const core = require('@sous/core') as typeof import('@sous/core');
  return new core.Rectifier(createSous(config, logger), backend, core.statusDirFor(config.stateLocation));
}

/** A plan as `sous plan` and `sous rectify --dry-run` print it: one line per action, held change and unreadable cluster, then the counts. */
export function describePlan(plan: RectifyPlan): string {
  const lines: string[] = [];
  for (const a of plan.actions) lines.push(`${a.kind.padEnd(14)} ${a.deploymentID}: ${a.reason}`);
  for (const h of plan.held) lines.push(`${'held'.padEnd(14)} ${h.action.deploymentID}: failed ${h.failures} times (${h.lastError})`);
  for (const e of plan.errors) lines.push(`${'error'.padEnd(14)} ${e.cluster && !e.deploymentID ? `cluster ${e.cluster}: ` : ''}${e.message} [${e.code}]`);
  const pins = plan.pins ?? [];
  if (pins.length) lines.push(`${'pin'.padEnd(14)} ${pins.length} deployment(s) have a version but no digest in the GDM; found (${pins.filter((p) => p.from === 'running').length} running, ${pins.filter((p) => p.from === 'registry').length} from the registry); a rectify records them`);
  lines.push(`${plan.actions.filter((a) => a.kind !== 'report-removed').length} change(s), ${plan.unchanged.length} unchanged, ${plan.held.length} held (GDM ${plan.revision.slice(0, 12)})`);
  return lines.join('\n');
}
