import * as crypto from 'node:crypto';
import { isSousError } from '../errors';
import type { Defs } from '../model/types';
import { formatManifestID } from '../model/ids';
import { parseVersion, sameBuild } from '../model/version';
import { imageName, SOUS_LABELS } from '../pipeline/image';
import type { DeployState, DigestPin, RectifyPlan } from '../pipeline/types';
import { RegistryClient } from '../registry/client';
import { isImageManifestType } from '../registry/media-types';
import { limiter } from './util';

/**
 * The repository path the original Sous gave an application's images
 * (ext/docker/names.go): GitHub repositories without `github.com/` and
 * without `opentable/`, lowercased, the offset appended; any other
 * repository as the sha1 of `repo[/offset]`.
 */
export function originalImagePath(repo: string, offset: string): string {
  if (repo.startsWith('github.com')) {
    const name = repo.replace(/^([A-Za-z]+:\/\/)?(github\.com(\/opentable(\/)?)?)?/, '');
    return (offset ? `${name}/${offset}` : name).toLowerCase().replace(/^\/+/, '');
  }
  return crypto.createHash('sha1').update(offset ? `${repo}/${offset}` : repo).digest('hex');
}

export interface PinContext {
  defs: Defs;
  /** Sous's own registry, when neither the cluster nor defs.yaml names one. */
  registry?: string;
  concurrency?: number;
}

type PlanError = RectifyPlan['errors'][number];

/**
 * Finds the digest of every intended deployment that has a version but no
 * digest (what the original Sous wrote into the GDM). When the cluster
 * already runs that very build (same version, same revision) the digest is
 * the running one: its deploy metadata are the image's labels, the check the
 * original made. Otherwise the version tag is looked up in the registry, in
 * Sous's image naming and then the original's, and the image's
 * `com.opentable.sous.revision` label must agree with the version's build
 * metadata. Changes nothing; a deployment whose image cannot be found is
 * reported, the others resolved.
 */
export async function resolvePins(intended: DeployState[], actual: DeployState[], ctx: PinContext): Promise<{ pins: DigestPin[]; errors: PlanError[] }> {
  const priors = new Map(actual.map((d) => [d.id, d]));
  const pins: DigestPin[] = [];
  const errors: PlanError[] = [];
  const lookups: DeployState[] = [];
  for (const post of intended) {
    const v = post.spec.Version;
    if (!v || post.spec.Digest) continue;
    const prior = priors.get(post.id);
    // Nothing runs and nothing is to run: no image is needed yet.
    if (!prior && !(post.spec.NumInstances ?? 0)) continue;
    if (prior?.spec.Digest && prior.status !== 'Failed' && sameBuild(prior.spec.Version ?? '', v)) {
      pins.push(pin(post, prior.spec.Digest, prior.spec.Image, 'running'));
    } else lookups.push(post);
  }
  const limit = limiter(ctx.concurrency ?? 10);
  await Promise.all(
    lookups.map((post) =>
      limit(async () => {
        const r = await fromRegistry(post, ctx);
        if (!r) return;
        if ('error' in r) errors.push(r.error);
        else pins.push(r.pin);
      }),
    ),
  );
  pins.sort((a, b) => a.deploymentID.localeCompare(b.deploymentID));
  errors.sort((a, b) => (a.deploymentID ?? '').localeCompare(b.deploymentID ?? ''));
  return { pins, errors };
}

function pin(post: DeployState, digest: string, image: string | undefined, from: DigestPin['from']): DigestPin {
  return { deploymentID: post.id, cluster: post.cluster, manifestID: formatManifestID(post.manifestID), version: post.spec.Version!, digest, ...(image ? { image } : {}), from };
}

/** The digest from the registry; undefined when no registry is known (the scheduler then decides whether it can run a version without one). */
async function fromRegistry(post: DeployState, ctx: PinContext): Promise<{ pin: DigestPin } | { error: PlanError } | undefined> {
  const version = post.spec.Version!;
  const fail = (code: string, message: string) => ({ error: { cluster: post.cluster, deploymentID: post.id, code, message: `${post.id}: ${message}; left as it is this pass` } });
  const registry = (ctx.defs.Clusters?.[post.cluster]?.Registry || ctx.defs.DockerRepo || ctx.registry || '').replace(/\/+$/, '');
  if (!registry) return undefined;
  let v;
  try {
    v = parseVersion(version);
  } catch (e) {
    return fail('NOT_SEMVER', (e as Error).message);
  }
  const { repo, dir } = post.manifestID.source;
  const names = [...new Set([imageName(registry, repo, dir), `${registry}/${originalImagePath(repo, dir)}`])];
  const client = new RegistryClient(registry);
  const problems: string[] = [];
  for (const name of names) {
    const repository = name.slice(registry.length + 1);
    try {
      const m = await client.getManifest(repository, v.tag.replace(/\+/g, '_'));
      if (!isImageManifestType(m.mediaType)) {
        problems.push(`${name}:${v.tag} is an index, not one image`);
        continue;
      }
      const config = (m.json as { config?: { digest?: string } }).config?.digest;
      const labels = config ? ((JSON.parse((await client.readBlob(repository, config)).toString('utf8')) as { config?: { Labels?: Record<string, string> } }).config?.Labels ?? {}) : {};
      const revision = labels[SOUS_LABELS.revision] ?? '';
      if (v.meta && !(revision && sameBuild(`${v.tag}+${revision}`, version))) {
        problems.push(`${name}:${v.tag} was built from revision ${revision || '(unlabelled)'}, not ${v.meta}`);
        continue;
      }
      return { pin: pin(post, m.digest, name, 'registry') };
    } catch (e) {
      if (isSousError(e) && e.code === 'MANIFEST_UNKNOWN') problems.push(`${name}:${v.tag} does not exist`);
      else problems.push(`${name}: ${(e as Error).message}`);
    }
  }
  return fail('IMAGE_NOT_FOUND', `no image of version ${version} found (${problems.join('; ')})`);
}

/** The intended states with the digests found taken in. */
export function withPins(intended: DeployState[], pins: DigestPin[]): DeployState[] {
  if (!pins.length) return intended;
  const by = new Map(pins.map((p) => [p.deploymentID, p]));
  return intended.map((d) => {
    const p = by.get(d.id);
    return p ? { ...d, spec: { ...d.spec, Digest: p.digest, ...(p.image ? { Image: p.image } : {}) } } : d;
  });
}
