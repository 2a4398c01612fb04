import * as path from 'node:path';
import { failure, SousError } from '../errors';
import type { Sous } from '../hooks/sous';
import type { StateBackend } from '../ops/backend';
import type { ActionOutcome } from '../pipeline/types';
import { Rectifier, type RectifyObserver } from '../rectify/rectifier';
import { updateDeployment, type UpdateOptions, type UpdateResult } from './update';

/** Exit code for a deploy that did not become ready (or fail) in time: neither success (0) nor failure (1). */
export const EXIT_DEPLOY_TIMEOUT = 3;

export interface DeployOptions extends UpdateOptions {
  /** Only update the GDM; do not wait for the outcome. */
  noWait?: boolean;
  /** Redeploy even if this version is already what runs. */
  force?: boolean;
  /** How long to wait for the deployment to become ready. */
  timeoutMs?: number;
  /** Where the rectifier keeps outcomes and leases. */
  statusDir: string;
  observer?: RectifyObserver;
}

export interface DeployResult extends UpdateResult {
  outcome?: Pick<ActionOutcome, 'resolution' | 'status' | 'message' | 'attempts' | 'durationMs'>;
  status: 'live' | 'failed' | 'timeout' | 'requested';
}

/** The directory beside a state repository where its rectifier keeps outcomes. */
export function statusDirFor(stateLocation: string): string {
  return path.join(stateLocation, '.git', 'sous', 'rectify');
}

/**
 * `sous deploy`: update, then rectify that one deployment in-process and wait
 * for the outcome. Resolves when it is live; throws DEPLOY_FAILED (exit 1)
 * with the scheduler's message, or DEPLOY_TIMEOUT (exit 3).
 */
export async function deploy(sous: Sous, backend: StateBackend, opts: DeployOptions): Promise<DeployResult> {
  const updated = await updateDeployment(sous, backend, opts);
  if (opts.noWait) return { ...updated, status: 'requested' };
  const rectifier = new Rectifier(sous, backend, opts.statusDir);
  const result = await rectifier.run({
    filters: { repo: opts.id.source.repo, offset: opts.id.source.dir, flavor: opts.id.flavor, cluster: opts.cluster },
    force: opts.force ? new Set([updated.deploymentID]) : undefined,
    timeoutMs: opts.timeoutMs,
    observer: opts.observer,
  });
  const clusterError = result.plan.errors.find((e) => e.cluster === opts.cluster);
  if (clusterError) {
    throw failure(clusterError.code ?? 'DEPLOY_FAILED', clusterError.message, { hints: ['The GDM now asks for the new version; a later rectify will deploy it.'] });
  }
  const held = result.plan.held.find((h) => h.action.deploymentID === updated.deploymentID);
  if (held) {
    throw failure('DEPLOY_HELD', `${updated.deploymentID} failed ${held.failures} times in a row at this version and is held back: ${held.lastError}`, {
      hints: ['Fix the cause, deploy another version, or retry with --force'],
    });
  }
  const o = result.outcomes.find((x) => x.action.deploymentID === updated.deploymentID);
  if (!o) return { ...updated, status: 'live', outcome: { resolution: 'unchanged', status: 'Active', attempts: 0, durationMs: 0 } };
  const outcome = { resolution: o.resolution, status: o.status, message: o.message, attempts: o.attempts, durationMs: o.durationMs };
  if (o.status === 'Active') return { ...updated, status: 'live', outcome };
  if (o.status === 'Failed') {
    throw failure('DEPLOY_FAILED', `${updated.deploymentID} ${updated.version} failed: ${o.message ?? 'the scheduler gave no reason'}`, {
      hints: updated.previousVersion ? [`The previous version (${updated.previousVersion}) keeps serving where the scheduler allows.`] : [],
      details: { outcome },
    });
  }
  throw new SousError('DEPLOY_TIMEOUT', `${updated.deploymentID} ${updated.version} was not ready in time: ${o.message ?? 'still pending'}`, {
    exit: EXIT_DEPLOY_TIMEOUT,
    hints: ['Check it later with: sous status', 'Wait longer with --timeout'],
    details: { outcome },
  });
}
