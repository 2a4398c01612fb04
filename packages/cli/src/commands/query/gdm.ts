import { Flags } from '@oclif/core';
import { SousCommand, clusterFlag, filterFlags, table } from '../../base';

const tri = (description: string) => Flags.string({ description, options: ['true', 'false'], helpGroup: 'ATTRIBUTE FILTER' });

export default class QueryGdm extends SousCommand {
  static summary = 'List the intended deployments in the Global Deploy Manifest.';
  static description = "Each deployment is shown expanded with its cluster's defaults. Filters narrow the list; none lists everything. The original's attribute filters take true or false: --hasimage (a built image of its version is in the artifact index), --hasowners, --zeroinstances. --format table (default) or json (the rows, as --json prints them).";
  static examples = [
    '<%= config.bin %> query gdm',
    '<%= config.bin %> query gdm --cluster prod',
    '<%= config.bin %> query gdm -repo github.com/acme/shop --json',
    '<%= config.bin %> query gdm -zeroinstances=false -hasowners=false',
    '<%= config.bin %> query gdm --hasimage false --format json',
  ];
  static flags = {
    cluster: clusterFlag,
    ...filterFlags,
    hasimage: tri('only deployments whose version has (true) or lacks (false) a built image in the artifact index'),
    hasowners: tri('only deployments with (true) or without (false) owners'),
    zeroinstances: tri('only deployments with (true) or without (false) zero instances'),
    format: Flags.string({ description: 'output format', options: ['table', 'json'], default: 'table' }),
  };

  async run() {
    const { flags } = await this.parseFlags(QueryGdm);
    const { queryGdm } = await import('@sous/core');
    const backend = await this.backend();
    const r = await queryGdm(backend, flags);
    const want = (v: string | undefined, got: boolean) => v === undefined || (v === 'true') === got;
    const images = new Map<string, boolean>();
    if (flags.hasimage !== undefined) {
      const { parseSourceLocation } = await import('@sous/core');
      await Promise.all(
        r.rows.map(async (d) => {
          const key = `${d.repo},${d.offset},${d.version}`;
          if (!images.has(key)) images.set(key, Boolean(d.version && (await backend.artifact(parseSourceLocation(d.offset ? `${d.repo},${d.offset}` : d.repo), d.version))));
        }),
      );
    }
    r.rows = r.rows.filter((d) => want(flags.zeroinstances, d.instances === 0) && want(flags.hasowners, d.owners.length > 0) && want(flags.hasimage, images.get(`${d.repo},${d.offset},${d.version}`) ?? false));
    for (const f of r.flaws) this.logToStderr(`Warning: ${f.message} [${f.code}]`);
    if (flags.format === 'json' && !this.jsonEnabled()) this.log(JSON.stringify(r.rows, null, 2));
    else if (r.rows.length === 0) this.log('No deployments match.');
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
