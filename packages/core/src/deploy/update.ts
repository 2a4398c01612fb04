import { failure, usageError } from '../errors';
import type { Sous } from '../hooks/sous';
import { manifestKey, type State } from '../gdm/state';
import type { User } from '../gdm/store';
import { formatManifestID, type ManifestID } from '../model/ids';
import { parseVersion } from '../model/version';
import type { ArtifactRecord, AutoDeployPause, Manifest } from '../model/types';
import type { StateBackend } from '../ops/backend';
import type { VerifyReport, VerifyRequest } from '../pipeline/types';
import { checkCluster, findManifest, specFor } from '../ops/manifests';
import { emitEvent } from '../events/emit';

export interface UpdateOptions {
  id: ManifestID;
  cluster: string;
  version: string;
  user: User;
  /** Checked against the state the change applies to (an HTTP precondition, say); throw to refuse. */
  expect?: (state: State) => void;
  /** The commit message (default: "Deploy <manifest> <version> to <cluster>"); `sous history` reads its trailers. */
  message?: string;
  /**
   * Pause the deployment's AutoDeploy with this record (a rollback does, when
   * the deployment has an AutoDeploy range). Without it, any pause is lifted:
   * an explicit deploy is the user taking the wheel back.
   */
  pauseAutoDeploy?: AutoDeployPause;
  /** The digest the version must still be (a rollback to what ran): a rebuilt artifact is refused. */
  expectDigest?: string;
}

export interface UpdateResult {
  deploymentID: string;
  manifestID: string;
  cluster: string;
  version: string;
  previousVersion: string;
  digest: string;
  image: string;
  checks: VerifyReport['checks'];
  changed: boolean;
  revision: string;
  /** Set when this change paused the deployment's AutoDeploy. */
  autoDeployPaused?: AutoDeployPause;
  /** True when this change lifted a pause of the deployment's AutoDeploy. */
  autoDeployResumed?: boolean;
}

/** The manifest holding the deployment (a copy): the cluster, the manifest and the deployment must all exist. */
function locate(state: State, id: ManifestID, cluster: string): Manifest {
  checkCluster(state, cluster);
  const m = findManifest(state, id);
  specFor(m, id, cluster);
  return m;
}

/** Runs every verifyArtifact tap and throws the first refusal, with every check in details. */
export async function verifyForCluster(sous: Sous, state: State, id: ManifestID, cluster: string, artifact: ArtifactRecord): Promise<VerifyReport> {
  const req: VerifyRequest = {
    manifestID: id,
    cluster,
    clusterDef: state.defs.Clusters![cluster],
    version: artifact.Version,
    digest: artifact.Digest,
    image: artifact.Image,
    advisories: artifact.Advisories ?? [],
  };
  const report: VerifyReport = { checks: [], digest: artifact.Digest, image: artifact.Image };
  await sous.hooks.verifyArtifact.promise(req, report);
  const refused = report.checks.find((c) => !c.ok);
  if (refused) {
    throw failure(refused.code ?? 'VERIFY_FAILED', `${artifact.Source} ${artifact.Version} cannot deploy to ${cluster}: ${refused.message}`, {
      hints: ['Nothing was written to the GDM.'],
      details: { checks: report.checks },
    });
  }
  return report;
}

/**
 * `sous update`: finds the artifact built for the version, verifies it for
 * the cluster (exists by digest, signed when the cluster requires it, no
 * advisory the cluster does not allow), then writes the digest-pinned
 * version into the GDM. A refusal changes nothing.
 */
export async function updateDeployment(sous: Sous, backend: StateBackend, opts: UpdateOptions): Promise<UpdateResult> {
  const v = parseVersion(opts.version);
  const source = opts.id.source;
  const artifact = (await backend.artifact(source, v.raw)) ?? (v.meta ? undefined : await findByTag(backend, opts.id, v.tag));
  if (!artifact) {
    throw usageError('ARTIFACT_NOT_FOUND', `${formatManifestID({ source, flavor: '' })} ${v.raw} has not been built`, {
      hints: [`Build it first: sous build --tag ${v.raw}`, 'See what was built: sous query artifacts'],
    });
  }
  if (opts.expectDigest && artifact.Digest !== opts.expectDigest) {
    throw failure('ARTIFACT_CHANGED', `${formatManifestID({ source, flavor: '' })} ${artifact.Version} is now ${artifact.Digest.slice(0, 19)}…, not the ${opts.expectDigest.slice(0, 19)}… that ran: it was rebuilt since`, {
      hints: ['Nothing was written to the GDM.', 'Deploy the artifact as it is now with --force'],
      details: { expected: opts.expectDigest, recorded: artifact.Digest },
    });
  }
  const first = await backend.read();
  locate(first, opts.id, opts.cluster);
  const report = await verifyForCluster(sous, first, opts.id, opts.cluster, artifact);
  let previousVersion = '';
  let paused: AutoDeployPause | undefined;
  let resumed = false;
  const r = await backend.update(async (state) => {
    opts.expect?.(state);
    let m = locate(state, opts.id, opts.cluster);
    const spec = m.Deployments![opts.cluster];
    previousVersion = spec.Version ?? '';
    spec.Version = artifact.Version;
    spec.Digest = artifact.Digest;
    spec.Image = artifact.Image;
    if (artifact.Stack) spec.Stack = artifact.Stack;
    else delete spec.Stack;
    paused = undefined;
    resumed = Boolean(spec.AutoDeployPaused);
    delete spec.AutoDeployPaused;
    if (opts.pauseAutoDeploy && spec.AutoDeploy) {
      spec.AutoDeployPaused = opts.pauseAutoDeploy;
      paused = opts.pauseAutoDeploy;
      resumed = false;
    }
    m = await sous.hooks.updateManifest.promise(m, { manifestID: opts.id, cluster: opts.cluster, version: artifact.Version, digest: artifact.Digest, user: opts.user });
    return { change: { message: opts.message ?? `Deploy ${manifestKey(opts.id)} ${artifact.Version} to ${opts.cluster}`, setManifests: [m] }, result: m };
  }, opts.user);
  const deploymentID = `${opts.cluster}:${manifestKey(opts.id)}`;
  await emitEvent(sous, {
    type: 'deploy.requested',
    deploymentID,
    manifestID: manifestKey(opts.id),
    cluster: opts.cluster,
    version: artifact.Version,
    digest: artifact.Digest,
    ...(previousVersion ? { previousVersion } : {}),
    owners: r.result.Owners ?? [],
    user: opts.user,
  });
  return {
    deploymentID,
    manifestID: manifestKey(opts.id),
    cluster: opts.cluster,
    version: artifact.Version,
    previousVersion,
    digest: artifact.Digest,
    image: artifact.Image,
    checks: report.checks,
    changed: r.changed,
    revision: r.revision,
    ...(paused ? { autoDeployPaused: paused } : {}),
    ...(resumed ? { autoDeployResumed: true } : {}),
  };
}

/** A version given without build metadata matches a record that has some. */
async function findByTag(backend: StateBackend, id: ManifestID, tag: string): Promise<ArtifactRecord | undefined> {
  const all = await backend.artifacts(id.source);
  return all.filter((a) => parseVersion(a.Version).tag === tag).sort((a, b) => (b.BuiltAt ?? '').localeCompare(a.BuiltAt ?? ''))[0];
}

