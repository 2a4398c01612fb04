import * as semver from 'semver';
import { formatManifestID, isSousError, manifestKey, parseSourceLocation, parseVersion, TRAILER_CHANGE, updateDeployment } from '@sous/core';
import type { ServerContext } from '../context';
import type { AutoDeployOutcome, BuildJob } from './types';

/**
 * Whether a version falls in an AutoDeploy range. Pre-releases count only
 * when the range names one itself (`>=1.2.0-0` takes 1.3.0-rc.1; `^1.2.0`
 * takes releases only), so a release range never deploys a pre-release.
 */
export function inRange(version: string, range: string): boolean {
  const includePrerelease = /\d-[0-9A-Za-z]/.test(range);
  return semver.satisfies(parseVersion(version).semver, range, { includePrerelease });
}

/**
 * Deploys a freshly built version wherever a manifest of its source asks for
 * it: a deployment whose AutoDeploy range takes the version, in a cluster
 * whose definition allows auto-deploys (AllowAutoDeploy), running an older
 * version, and not paused by a rollback (AutoDeployPaused). Each deploy is
 * `updateDeployment`, the verification `sous deploy`
 * does, then a place in this server's deploy queue.
 */
export async function autoDeploy(ctx: ServerContext, job: BuildJob, log: (line: string) => void): Promise<AutoDeployOutcome[]> {
  const state = await ctx.gdm.read();
  const outcomes: AutoDeployOutcome[] = [];
  for (const stored of state.manifests.values()) {
    const m = stored.manifest;
    if (m.Source !== job.source) continue;
    const id = { source: parseSourceLocation(m.Source), flavor: m.Flavor ?? '' };
    for (const [cluster, spec] of Object.entries(m.Deployments ?? {})) {
      const range = spec.AutoDeploy?.trim();
      if (!range) continue;
      const o: AutoDeployOutcome = { manifestID: formatManifestID(id), cluster, range, status: 'skipped', message: '' };
      outcomes.push(o);
      if (!semver.validRange(range)) {
        Object.assign(o, { status: 'refused', code: 'INVALID_AUTODEPLOY_RANGE', message: `AutoDeploy ${JSON.stringify(range)} is not a semver range` });
      } else if (!inRange(job.version, range)) {
        o.message = `${job.version} is not in ${range}`;
      } else if (spec.AutoDeployPaused) {
        o.message = `paused: ${spec.AutoDeployPaused.Reason}${spec.AutoDeployPaused.By ? ` by ${spec.AutoDeployPaused.By}` : ''} (sous autodeploy resume lifts it)`;
      } else if (!state.defs.Clusters?.[cluster]?.AllowAutoDeploy) {
        Object.assign(o, { status: 'refused', code: 'AUTODEPLOY_NOT_ALLOWED', message: `cluster ${cluster} does not take auto-deploys (its definition has no AllowAutoDeploy: true)` });
      } else if (current(spec.Version) && semver.gte(current(spec.Version)!, parseVersion(job.version).semver)) {
        o.message = `${cluster} already runs ${spec.Version}`;
      } else {
        try {
          const r = await updateDeployment(ctx.sous, ctx.gdm, {
            id,
            cluster,
            version: job.version,
            user: job.author ?? ctx.config.user,
            message: `Auto-deploy ${manifestKey(id)} ${job.version} to ${cluster} (build ${job.id}, AutoDeploy ${range})\n\n${TRAILER_CHANGE}: auto-deploy`,
          });
          ctx.cache.invalidate();
          const own = !ctx.clusters || ctx.clusters.includes(cluster);
          const item = own ? ctx.autoresolver?.enqueue(r.deploymentID, { version: r.version, requestedBy: `tag build ${job.id}` }) : undefined;
          Object.assign(o, { status: 'deployed', message: `${r.previousVersion || '(none)'} → ${r.version}`, ...(item ? { queueItem: item.id } : {}) });
        } catch (e) {
          Object.assign(o, { status: 'refused', code: isSousError(e) ? e.code : 'DEPLOY_FAILED', message: (e as Error).message });
        }
      }
      log(`auto-deploy ${cluster}:${manifestKey(id)} (${range}): ${o.status}${o.message ? `: ${o.message}` : ''}`);
    }
  }
  return outcomes;
}

/** The version a deployment runs now, when it is one (a manual deploy may have written anything). */
function current(v: string | undefined): semver.SemVer | undefined {
  if (!v) return undefined;
  try {
    return parseVersion(v).semver;
  } catch {
    return undefined;
  }
}
