import { SousCommand, clusterFlag, filterFlags, table } from '../../base';

export default class QueryGdm extends SousCommand {
  static summary = 'List the intended deployments in the Global Deploy Manifest.';
  static description = 'Each deployment is shown expanded with its cluster\'s defaults. Filters narrow the list; none lists everything.';
  static examples = ['<%= config.bin %> query gdm', '<%= config.bin %> query gdm --cluster prod', '<%= config.bin %> query gdm -repo github.com/acme/shop --json'];
  static flags = { cluster: clusterFlag, ...filterFlags };

  async run() {
    const { flags } = await this.parseFlags(QueryGdm);
    const { queryGdm } = await import('@sous/core');
    const r = await queryGdm(await this.backend(), flags);
    for (const f of r.flaws) this.logToStderr(`Warning: ${f.message} [${f.code}]`);
    if (r.rows.length === 0) this.log('No deployments match.');
    else
      this.log(
        table(
          ['DEPLOYMENT', 'KIND', 'VERSION', 'INSTANCES', 'OWNERS'],
          r.rows.map((d) => [d.deploymentID, d.kind, d.version || '-', d.instances, d.owners.join(', ') || '-']),
        ).trimEnd(),
      );
    return { revision: r.revision, deployments: r.rows, flaws: r.flaws };
  }
}
