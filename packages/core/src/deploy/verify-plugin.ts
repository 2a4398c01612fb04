import type { Sous } from '../hooks/sous';
import { STAGE, type SousPlugin } from '../hooks/plugin';
import { isSousError } from '../errors';
import { parseImageReference } from '../registry/reference';
import { RegistryClient } from '../registry/client';
import type { VerifyCheck } from '../pipeline/types';

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
      if (req.image && req.digest) report.checks.push(await imageExists(req.image, req.digest, req.clusterDef.Registry));
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

/** Looks for the manifest by digest: first in the cluster's registry (its pre-cached copy), then where it was pushed. */
async function imageExists(image: string, digest: string, clusterRegistry: string | undefined): Promise<VerifyCheck> {
  const ref = parseImageReference(image);
  const places = [...(clusterRegistry && clusterRegistry !== ref.registry ? [clusterRegistry] : []), ref.registry];
  const problems: string[] = [];
  for (const registry of places) {
    try {
      const head = await new RegistryClient(registry).headManifest(ref.repository, digest);
      if (head) return { name: 'image exists', ok: true, message: `${registry}/${ref.repository}@${digest}` };
      problems.push(`${registry} does not have it`);
    } catch (e) {
      problems.push(isSousError(e) ? `${registry}: ${e.message}` : `${registry}: ${String(e)}`);
    }
  }
  return { name: 'image exists', ok: false, code: 'IMAGE_MISSING', message: `no ${ref.repository}@${digest.slice(0, 19)}…: ${problems.join('; ')}` };
}
