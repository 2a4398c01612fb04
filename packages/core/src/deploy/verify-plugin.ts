import type { Sous } from '../hooks/sous';
import { STAGE, type SousPlugin } from '../hooks/plugin';

/**
 * Core's own deploy checks: the artifact passed its contracts, and carries no
 * advisory the target cluster does not allow.
 */
export class CoreVerifyPlugin implements SousPlugin {
  static readonly PLUGIN_NAME = 'sous:core-verify';
  readonly name = CoreVerifyPlugin.PLUGIN_NAME;

  apply(sous: Sous): void {
    sous.hooks.verifyArtifact.tapPromise({ name: this.name, stage: STAGE.DEFAULTS }, async (req, report) => {
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
