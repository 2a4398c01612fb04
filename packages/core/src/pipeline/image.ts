import { usageError } from '../errors';
import { parseVersion } from '../model/version';
import { imageNameFor, imageNameIn, imageNameTemplate } from '../registry/naming';
import type { RegistryConfig } from '../registry/settings';
import type { DeployState, SourceContext } from './types';

/** The labels the original Sous put on every image, read back by deploys. */
export const SOUS_LABELS = {
  repo: 'com.opentable.sous.repo_url',
  offset: 'com.opentable.sous.repo_offset',
  version: 'com.opentable.sous.version',
  revision: 'com.opentable.sous.revision',
  advisories: 'com.opentable.sous.advisories',
  contentKey: 'dev.sous.content-key',
  stack: 'dev.sous.stack',
} as const;

function pathComponent(s: string): string {
  // Docker reference grammar: lowercase alphanumerics separated by '.', '_', '__' or dashes.
  const c = s
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/^[._-]+|[._-]+$/g, '');
  return c || 'x';
}

/**
 * The image name of a source location: `<registry>/<repo path
 * lowercased>[/<dir>]` as the original named images, or the template the
 * config sets for the registry (see registry/naming.ts).
 */
export function imageName(registry: string, repo: string, offset: string, config?: RegistryConfig): string {
  if (!registry) {
    throw usageError('NO_REGISTRY', 'no registry to push images to', {
      hints: ['Set one: SOUS_DOCKER_REGISTRY_HOST=127.0.0.1:5000, `registry` in the config, or DockerRepo in defs.yaml'],
    });
  }
  if (config && imageNameTemplate(config, registry).configured) return imageNameFor(config, registry, repo, offset);
  const parts = [...repo.split('/'), ...(offset ? offset.split('/') : [])].filter(Boolean).map(pathComponent);
  return `${registry.replace(/\/+$/, '')}/${parts.join('/')}`;
}

/**
 * The image a deployment runs: the application's image name in the cluster's
 * registry, pinned by digest. A scheduler names its own error codes
 * (`<code>_NO_DIGEST`, `<code>_NO_REGISTRY`) and its plugin factory for the hint.
 */
export function pinnedImage(s: DeployState, registry: string | undefined, scheduler: { code: string; factory: string }, config?: RegistryConfig): string {
  if (!s.spec.Digest) {
    throw usageError(`${scheduler.code}_NO_DIGEST`, `${s.id} has version ${s.spec.Version} but no image digest; Sous deploys pin digests, never tags`, {
      hints: [`Record the verified digest with: sous update --cluster ${s.cluster} --tag ${s.spec.Version}`],
    });
  }
  if (!registry) {
    throw usageError(`${scheduler.code}_NO_REGISTRY`, `no registry to name the image of ${s.id} in`, {
      hints: [`Set Registry on cluster ${s.cluster} in defs.yaml, registry in the Sous config, or ${scheduler.factory}({ registry })`],
    });
  }
  // A recorded image keeps its repository path (the original Sous named images its own way), unless the
  // registry has an image name template; Sous's own artifacts have the path imageName gives.
  const src = s.manifestID.source;
  const base = s.spec.Image ? imageNameIn(config, registry, s.spec.Image, src.repo, src.dir) : imageName(registry, src.repo, src.dir, config);
  return `${base}@${s.spec.Digest}`;
}

function stamp(d: Date): string {
  return d.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, '');
}

/** The version tag `M.m.p[-pre]` and the revision tag `z<revision>-<UTC timestamp>`. */
export function imageTags(name: string, version: string, revision: string, at = new Date()): string[] {
  const v = parseVersion(version);
  return [`${name}:${v.tag.replace(/\+/g, '_')}`, `${name}:z${revision}-${stamp(at)}`];
}

/** OCI labels plus Sous's own: what any deploy can read back from the image. */
export function imageLabels(ctx: SourceContext, version: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    'org.opencontainers.image.source': `https://${ctx.repo}`,
    'org.opencontainers.image.revision': ctx.revision,
    'org.opencontainers.image.version': version,
    'org.opencontainers.image.created': new Date(ctx.commitTime || Date.now()).toISOString(),
    [SOUS_LABELS.repo]: ctx.repo,
    [SOUS_LABELS.offset]: ctx.offset,
    [SOUS_LABELS.version]: version,
    [SOUS_LABELS.revision]: ctx.revision,
    [SOUS_LABELS.advisories]: ctx.advisories.join(','),
    ...extra,
  };
}

/** Build args a Dockerfile declares (`ARG NAME`), so only those are passed. */
export function declaredArgs(dockerfile: string): Set<string> {
  const out = new Set<string>();
  for (const m of dockerfile.matchAll(/^\s*ARG\s+([A-Za-z_][A-Za-z0-9_]*)/gim)) out.add(m[1]);
  return out;
}
