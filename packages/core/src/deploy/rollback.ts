import * as path from 'node:path';
import { usageError } from '../errors';
import type { Sous } from '../hooks/sous';
import { manifestKey, type Gdm, type State } from '../gdm/state';
import type { User } from '../gdm/store';
import { readHistory, TRAILER_CHANGE, TRAILER_ROLLBACK_FROM, type HistoryEntry } from '../history/history';
import type { ManifestID } from '../model/ids';
import { parseVersion } from '../model/version';
import type { AutoDeployPause } from '../model/types';
import { checkCluster, findManifest, specFor } from '../ops/manifests';
import { OutcomeLog } from '../rectify/outcomes';
import type { RectifyObserver } from '../rectify/rectifier';
import { deploy, type DeployResult } from './deploy';

/** What a rollback goes to, and how it is written. */
export interface RollbackPlan {
  deploymentID: string;
  /** The version the deployment asks for now. */
  from: string;
  /** The version it goes back to. */
  version: string;
  /** The digest that version ran as, when it ran successfully: the artifact must still be that image. */
  digest?: string;
  /** The commit message, with the trailers `sous history` reads. */
  message: string;
  /** Set when the deployment has an AutoDeploy range: the pause the rollback records. */
  pause?: AutoDeployPause;
}

export interface RollbackRequest {
  id: ManifestID;
  cluster: string;
  /** Another version than the last one that ran successfully before the current one. */
  to?: string;
  /** Allow a version that never ran successfully there (and an artifact rebuilt since it ran). */
  force?: boolean;
  user: User;
}

function describe(history: HistoryEntry[]): string {
  const seen = new Map<string, string>();
  for (const e of history) {
    const v = e.to?.version;
    if (!v || seen.get(v) === 'ran') continue;
    seen.set(v, e.outcome?.status === 'Active' ? 'ran' : e.outcome ? e.outcome.status.toLowerCase() : 'never rectified');
  }
  return [...seen].map(([v, how]) => `${v} (${how})`).join(', ') || 'no version was ever deployed';
}

/** The newest entry for `version` whose outcome says it ran. */
function ranOK(history: HistoryEntry[], version: string): HistoryEntry | undefined {
  return history.find((e) => e.to?.version === version && e.outcome?.status === 'Active');
}

/**
 * Picks the version to roll back to from a deployment's history (newest
 * first): by default the newest version other than the current one that
 * ran successfully there; with `to`, that version, which must have run
 * successfully there unless `force`.
 */
export function chooseRollback(history: HistoryEntry[], deploymentID: string, current: string, req: Pick<RollbackRequest, 'to' | 'force'>): { version: string; digest?: string } {
  const listing = describe(history);
  if (req.to !== undefined) {
    const want = parseVersion(req.to);
    const match = history.find((e) => e.to?.version && (e.to.version === want.raw || (!want.meta && parseVersion(e.to.version).tag === want.tag)));
    const version = match?.to?.version ?? want.raw;
    if (version === current) {
      throw usageError('ROLLBACK_TO_CURRENT', `${deploymentID} already asks for ${current}`, { hints: [`Its history: ${listing}`, 'Redeploy it with: sous deploy --force --tag ' + current] });
    }
    const ok = ranOK(history, version);
    if (ok) return { version, digest: ok.to?.digest };
    if (!req.force) {
      throw usageError('VERSION_NEVER_SUCCEEDED', `${version} never ran successfully in ${deploymentID.slice(0, deploymentID.indexOf(':'))} (${deploymentID}); its history: ${listing}`, {
        hints: [`Roll back to it anyway with --force: sous rollback --cluster ${deploymentID.slice(0, deploymentID.indexOf(':'))} --to ${version} --force`, 'Or deploy it: sous deploy --tag ' + version],
        details: { versions: listing },
      });
    }
    return { version };
  }
  const target = history.find((e) => e.to?.version && e.to.version !== current && e.outcome?.status === 'Active');
  if (!target) {
    throw usageError('NO_EARLIER_VERSION', `no version other than ${current || '(none)'} ran successfully in ${deploymentID}; its history: ${listing}`, {
      hints: ['Deploy a version explicitly: sous deploy --tag VERSION', 'Roll back to a version that never ran there with --to VERSION --force', 'See the changes: sous history'],
      details: { versions: listing },
    });
  }
  return { version: target.to!.version, digest: target.to!.digest };
}

/**
 * Works out a rollback from the GDM's history and the recorded outcomes
 * (`<statusDir>/outcomes`), changing nothing. The deployment, its cluster
 * and the version chosen are checked here; the artifact is verified by the
 * deploy that carries the plan out.
 */
export async function planRollback(gdm: Gdm, statusDir: string, req: RollbackRequest, state?: State): Promise<RollbackPlan> {
  const s = state ?? (await gdm.read());
  checkCluster(s, req.cluster);
  const m = findManifest(s, req.id);
  const spec = specFor(m, req.id, req.cluster);
  const deploymentID = `${req.cluster}:${manifestKey(req.id)}`;
  const current = spec.Version ?? '';
  const outcomes = await new OutcomeLog(path.join(statusDir, 'outcomes')).read(req.cluster);
  // The version to go back to is nearly always among the last few changes: read further only when it is not.
  let history = await readHistory(gdm, outcomes, { manifest: req.id, cluster: req.cluster, limit: 20 });
  let choice: { version: string; digest?: string };
  try {
    choice = chooseRollback(history, deploymentID, current, req);
  } catch (e) {
    if (history.length < 20) throw e;
    history = await readHistory(gdm, outcomes, { manifest: req.id, cluster: req.cluster, limit: 1000 });
    choice = chooseRollback(history, deploymentID, current, req);
  }
  const pause: AutoDeployPause | undefined = spec.AutoDeploy
    ? { Reason: `rollback of ${current || '(none)'} to ${choice.version}`, By: `${req.user.name} <${req.user.email}>`, At: new Date().toISOString() }
    : undefined;
  const message = [
    `Roll back ${manifestKey(req.id)} in ${req.cluster} to ${choice.version} (from ${current || 'none'})`,
    '',
    ...(pause ? [`AutoDeploy (${spec.AutoDeploy}) is paused until the next explicit deploy or sous autodeploy resume.`, ''] : []),
    `${TRAILER_CHANGE}: rollback`,
    `${TRAILER_ROLLBACK_FROM}: ${current || 'none'}`,
  ].join('\n');
  return { deploymentID, from: current, version: choice.version, ...(choice.digest ? { digest: choice.digest } : {}), message, ...(pause ? { pause } : {}) };
}

export interface RollbackOptions extends RollbackRequest {
  noWait?: boolean;
  timeoutMs?: number;
  statusDir: string;
  observer?: RectifyObserver;
}

export interface RollbackResult extends DeployResult {
  rollback: { from: string; to: string };
}

/**
 * `sous rollback`: a deploy of the version chosen by `planRollback`, with
 * deploy's verification, one GDM commit that says it is a rollback (and
 * pauses AutoDeploy), the rectify of that one deployment, and deploy's exit
 * codes.
 */
export async function rollback(sous: Sous, gdm: Gdm, opts: RollbackOptions): Promise<RollbackResult> {
  const plan = await planRollback(gdm, opts.statusDir, opts);
  const r = await deploy(sous, gdm, {
    id: opts.id,
    cluster: opts.cluster,
    version: plan.version,
    user: opts.user,
    noWait: opts.noWait,
    force: opts.force,
    timeoutMs: opts.timeoutMs,
    statusDir: opts.statusDir,
    observer: opts.observer,
    message: plan.message,
    pauseAutoDeploy: plan.pause,
    expectDigest: opts.force ? undefined : plan.digest,
  });
  return { ...r, rollback: { from: plan.from, to: r.version } };
}
