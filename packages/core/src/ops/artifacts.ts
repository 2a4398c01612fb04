import { failure, isSousError, usageError } from '../errors';
import type { User } from '../gdm/store';
import { formatSourceLocation, type SourceLocation } from '../model/ids';
import type { ArtifactRecord } from '../model/types';
import { parseVersion } from '../model/version';
import { SOUS_LABELS } from '../pipeline/image';
import { ADVISORIES, type DeployState } from '../pipeline/types';
import { RegistryClient } from '../registry/client';
import { isImageManifestType } from '../registry/media-types';
import { parseImageReference } from '../registry/reference';
import type { StateBackend } from './backend';

/** The labels of an image's config, or {} for an index or an unreadable config. */
async function labelsOf(client: RegistryClient, repository: string, digest: string): Promise<Record<string, string>> {
  const m = await client.getManifest(repository, digest);
  if (!isImageManifestType(m.mediaType)) return {};
  const config = (m.json as { config?: { digest?: string } }).config?.digest;
  if (!config) return {};
  try {
    return (JSON.parse((await client.readBlob(repository, config)).toString('utf8')) as { config?: { Labels?: Record<string, string> } }).config?.Labels ?? {};
  } catch {
    return {};
  }
}

export interface AddArtifactOptions {
  source: SourceLocation;
  version: string;
  /** `registry/repository[:tag][@digest]`; a tag is resolved to its digest. */
  image: string;
  user: User;
}

/**
 * `sous artifact add`: registers an image another CI tool built as the
 * artifact of a version, as the original did: the image must exist (by
 * digest) in its registry, and the record carries the "added artifact"
 * advisory, so only clusters that allow it deploy it. An existing record of
 * that version is not replaced.
 */
export async function addArtifact(backend: StateBackend, opts: AddArtifactOptions): Promise<ArtifactRecord> {
  const v = parseVersion(opts.version);
  let ref;
  try {
    ref = parseImageReference(opts.image);
  } catch (e) {
    throw usageError('ARTIFACT_IMAGE_INVALID', `--docker-image: ${(e as Error).message}`, { hints: ['Name the image with its registry: registry.example.com/team/app:1.2.3 or …@sha256:<digest>'] });
  }
  const existing = await backend.artifact(opts.source, v.raw);
  if (existing) {
    throw usageError('ARTIFACT_EXISTS', `${formatSourceLocation(opts.source)} ${v.raw} already has an artifact (${existing.Image}@${existing.Digest.slice(0, 19)}…)`, { hints: ['sous artifact get shows it; a version names one image'] });
  }
  const client = new RegistryClient(ref.registry);
  const reference = ref.digest ?? ref.tag ?? 'latest';
  let head;
  try {
    head = await client.headManifest(ref.repository, reference);
  } catch (e) {
    throw failure('ARTIFACT_IMAGE_UNREACHABLE', `cannot ask ${ref.registry} for ${ref.repository}:${reference}: ${(e as Error).message}`, { hints: ['Check the registry is reachable and the credentials'], cause: e });
  }
  if (!head?.digest) {
    throw failure('ARTIFACT_IMAGE_NOT_FOUND', `${ref.registry}/${ref.repository}${ref.digest ? '@' : ':'}${reference} does not exist`, { hints: ['Push the image first, or check its name and tag'] });
  }
  const labels: Record<string, string> = await labelsOf(client, ref.repository, head.digest).catch((e: unknown) => (isSousError(e) ? {} : Promise.reject(e)));
  const advisories = [...new Set([...(labels[SOUS_LABELS.advisories] ?? '').split(',').map((a) => a.trim()).filter(Boolean), ADVISORIES.addedArtifact])];
  const record: ArtifactRecord = {
    Source: formatSourceLocation(opts.source),
    Version: v.raw,
    ...(labels[SOUS_LABELS.revision] || v.meta ? { Revision: labels[SOUS_LABELS.revision] || v.meta } : {}),
    Image: `${ref.registry}/${ref.repository}`,
    Digest: head.digest,
    Advisories: advisories,
    BuiltAt: new Date().toISOString(),
  };
  await backend.update(() => ({ change: { message: `Add artifact ${record.Source} ${record.Version} (${record.Digest.slice(0, 19)}, added artifact)`, artifacts: [record] }, result: undefined }), opts.user);
  return record;
}

/**
 * `sous harvest`: records an artifact for every version a cluster runs that
 * the artifact index lacks (what the original Sous deployed, say), from the
 * running image's digest and the registry's labels; `repos` limits it to
 * those repositories. Returns what was recorded and what was already known.
 */
export async function harvest(backend: StateBackend, running: DeployState[], opts: { repos?: string[]; registry?: string; user: User }): Promise<{ recorded: ArtifactRecord[]; known: string[]; skipped: { deploymentID: string; reason: string }[] }> {
  const recorded: ArtifactRecord[] = [];
  const known: string[] = [];
  const skipped: { deploymentID: string; reason: string }[] = [];
  const seen = new Set<string>();
  for (const d of running) {
    const source = d.manifestID.source;
    if (opts.repos?.length && !opts.repos.includes(source.repo)) continue;
    const version = d.spec.Version;
    if (!version || !d.spec.Digest) {
      skipped.push({ deploymentID: d.id, reason: !version ? 'the scheduler reports no version' : 'the scheduler reports no image digest' });
      continue;
    }
    const key = `${formatSourceLocation(source)}@${version}`;
    if (seen.has(key)) continue;
    seen.add(key);
    if (await backend.artifact(source, version)) {
      known.push(key);
      continue;
    }
    const image = d.spec.Image ?? (opts.registry ? `${opts.registry}/${source.repo.toLowerCase()}${source.dir ? `/${source.dir}` : ''}` : undefined);
    if (!image) {
      skipped.push({ deploymentID: d.id, reason: 'no image repository is known for it' });
      continue;
    }
    const ref = parseImageReference(image);
    let labels: Record<string, string> = {};
    try {
      labels = await labelsOf(new RegistryClient(ref.registry), ref.repository, d.spec.Digest);
    } catch (e) {
      skipped.push({ deploymentID: d.id, reason: `${image}@${d.spec.Digest.slice(0, 19)}…: ${(e as Error).message}` });
      continue;
    }
    const advisories = (labels[SOUS_LABELS.advisories] ?? '').split(',').map((a) => a.trim()).filter(Boolean);
    const meta = version.includes('+') ? version.slice(version.indexOf('+') + 1) : '';
    recorded.push({ Source: formatSourceLocation(source), Version: version, ...(labels[SOUS_LABELS.revision] || meta ? { Revision: labels[SOUS_LABELS.revision] || meta } : {}), Image: `${ref.registry}/${ref.repository}`, Digest: d.spec.Digest, Advisories: advisories, BuiltAt: new Date().toISOString() });
  }
  if (recorded.length) {
    await backend.update(() => ({ change: { message: `Harvest ${recorded.length} artifact(s) from what runs`, artifacts: recorded }, result: undefined }), opts.user);
  }
  return { recorded, known, skipped };
}
