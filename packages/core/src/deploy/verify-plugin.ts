import type { Sous } from '../hooks/sous';
import { STAGE, type SousPlugin } from '../hooks/plugin';
import { isSousError } from '../errors';
import { parseImageReference } from '../registry/reference';
import { registryClient } from '../registry/client';
import { imageNameIn } from '../registry/naming';
import type { RegistryConfig } from '../registry/settings';
import type { VerifyCheck, VerifyRequest } from '../pipeline/types';

/**
 * Core's own deploy checks: the image exists by digest (in the cluster's
 * registry, or the main one), and it carries no advisory the target cluster
 * does not allow.
 */
export class CoreVerifyPlugin implements SousPlugin {
  static readonly PLUGIN_NAME = 'sous:core-verify';
  readonly name = CoreVerifyPlugin.PLUGIN_NAME;

  apply(sous: Sous): void {
    sous.hooks.verifyArtifact.tapPromise({ name: this.name, stage: STAGE.DEFAULTS }, async (req, report) => {
      if (req.image && req.digest) report.checks.push(await imageExists(sous.config, req, req.image, req.digest));
      const allowed = new Set(req.clusterDef.AllowedAdvisories ?? []);
      const bad = req.advisories.filter((a) => a && !allowed.has(a));
      report.checks.push(
        bad.length
          ? { name: 'advisories', ok: false, code: 'ADVISORY_NOT_ALLOWED', message: `the image carries advisories cluster ${req.cluster} does not allow: ${bad.join(', ')}` }
          : { name: 'advisories', ok: true, message: req.advisories.length ? `allowed: ${req.advisories.join(', ')}` : 'none' },
      );
    });
  }
}

/**
 * Looks for the manifest by digest: first in the cluster's registry (its
 * pre-cached copy, under the name that registry gives the application),
 * then where it was pushed. Each registry is asked with its own credentials.
 */
async function imageExists(config: RegistryConfig, req: VerifyRequest, image: string, digest: string): Promise<VerifyCheck> {
  const ref = parseImageReference(image);
  const places = [ref];
  const clusterRegistry = req.clusterDef.Registry;
  if (clusterRegistry && clusterRegistry !== ref.registry) {
    const src = req.manifestID.source;
    places.unshift(parseImageReference(imageNameIn(config, clusterRegistry, image, src.repo, src.dir)));
  }
  const problems: string[] = [];
  for (const place of places) {
    try {
      const head = await registryClient(place.registry, config).headManifest(place.repository, digest);
      if (head) return { name: 'image exists', ok: true, message: `${place.registry}/${place.repository}@${digest}` };
      problems.push(`${place.registry} does not have it`);
    } catch (e) {
      problems.push(isSousError(e) ? `${place.registry}: ${e.message} [${e.code}]` : `${place.registry}: ${String(e)}`);
    }
  }
  return { name: 'image exists', ok: false, code: 'IMAGE_MISSING', message: `no ${ref.repository}@${digest.slice(0, 19)}…: ${problems.join('; ')}` };
}
