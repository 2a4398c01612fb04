import { SousCommand, table } from '../../base';
import { localRectifier, scopeFlags } from '../../rectify-flags';

export default class QueryAds extends SousCommand {
  static summary = 'List the deployments that actually run on the clusters (the actual deployment state).';
  static examples = ['<%= config.bin %> query ads', '<%= config.bin %> query ads --cluster prod --json'];
  static flags = { ...scopeFlags };

  async run() {
    const { flags } = await this.parseFlags(QueryAds);
    const core = await import('@sous/core');
    const config = await this.config_();
    const server = await this.serverClient();
    const { actual, plan } = server
      ? await core.remotePlan(server, core.resolveFilters(flags))
      : await localRectifier(config, this.logger(), await this.backend()).plan({ filters: core.resolveFilters(flags) });
    for (const e of plan.errors) this.logToStderr(`Warning: ${e.message} [${e.code}]`);
    const rows = actual.sort((a, b) => a.id.localeCompare(b.id));
    this.log(
      rows.length
        ? table(['DEPLOYMENT', 'VERSION', 'INSTANCES', 'STATUS', 'ENDPOINTS', 'MESSAGE'], rows.map((d) => [d.id, d.spec.Version ?? '-', d.spec.NumInstances ?? 0, d.status, (d.endpoints ?? []).join(' ') || '-', d.message ?? ''])).trimEnd()
        : 'Nothing runs.',
    );
    return this.incomplete({ deployments: rows, errors: plan.errors }, 'STATUS_INCOMPLETE', 'the list of what runs', plan.errors);
  }
}
