import { Flags } from '@oclif/core';
import { SousCommand, clusterFlag, filterFlags, table } from '../base';

export default class History extends SousCommand {
  static summary = 'Show each change of a deployment, newest first: when, who, from and to which version, why, and how it ended.';
  static description = `From the GDM's git log (every change is a commit by the person who made it) joined with the rectifier's recorded outcomes. Why: register, deploy, rollback, auto-deploy, scale, metadata, pause, resume, config or remove. The application comes from the filter flags or the current git repository; --all shows every deployment.`;
  static examples = [
    '<%= config.bin %> history',
    '<%= config.bin %> history --cluster prod --limit 5',
    '<%= config.bin %> history -repo github.com/acme/shop -cluster prod --json',
    '<%= config.bin %> history --all --limit 50',
  ];
  static flags = {
    cluster: clusterFlag,
    limit: Flags.integer({ char: 'n', description: 'at most this many changes', default: 20, min: 1, max: 1000 }),
    all: Flags.boolean({ description: 'every deployment, not one application', helpGroup: 'FILTER' }),
    ...filterFlags,
  };

  async run() {
    const { flags } = await this.parseFlags(History);
    const core = await import('@sous/core');
    const config = await this.config_();
    if (flags.all && (flags.repo || flags.source || flags.offset !== undefined || flags.flavor !== undefined)) {
      throw core.usageError('FLAG_CONFLICT', '--all cannot be used together with --repo, --source, --offset or --flavor', { hints: ['sous history --all --cluster prod'] });
    }
    if (flags.cluster) core.resolveFilters({ cluster: flags.cluster });
    const id = flags.all ? undefined : await this.manifestID(flags);
    const server = await this.serverClient();
    let entries: import('@sous/core').HistoryEntry[];
    if (server) {
      entries = await core.remoteHistory(server, { id, cluster: flags.cluster, limit: flags.limit });
    } else {
      const gdm = (await this.backend()) as InstanceType<typeof core.Gdm>;
      const outcomes = await new core.OutcomeLog(`${core.statusDirFor(config.stateLocation)}/outcomes`).all();
      entries = await core.deploymentHistory(gdm, outcomes, { manifest: id, cluster: flags.cluster, limit: flags.limit, state: await gdm.read() });
    }
    const side = (s?: { version: string; digest?: string; instances: number }) => (s ? `${s.version || '-'}${s.digest ? `@${s.digest.slice(7, 19)}` : ''} x${s.instances}` : '-');
    this.log(
      entries.length
        ? table(
            ['WHEN', 'DEPLOYMENT', 'CHANGE', 'FROM', 'TO', 'WHO', 'OUTCOME'],
            entries.map((e) => [e.at.replace('T', ' ').replace(/(\.\d+)?(Z|[+-]\d\d:\d\d)$/, ''), e.deploymentID, e.kind, side(e.from), side(e.to), e.who.name, e.outcome ? `${e.outcome.status} (${e.outcome.resolution})` : '-']),
          ).trimEnd()
        : 'No changes recorded.',
    );
    return { entries };
  }
}
