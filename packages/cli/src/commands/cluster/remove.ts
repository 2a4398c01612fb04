import { Args, Flags } from '@oclif/core';
import { SousCommand } from '../../base';

export default class ClusterRemove extends SousCommand {
  static summary = 'Remove a cluster from defs.yaml.';
  static description = 'Refuses while manifests still deploy to the cluster; --force removes those deployments from the GDM too (what runs is left alone: the rectifier reports it).';
  static examples = ['<%= config.bin %> cluster remove old-dc', '<%= config.bin %> cluster remove old-dc --force'];
  static args = { name: Args.string({ required: true, description: 'the cluster name' }) };
  static flags = { force: Flags.boolean({ description: 'also remove the deployments that use it' }) };

  async run() {
    const { flags, args } = await this.parseFlags(ClusterRemove);
    const { removeCluster } = await import('@sous/core');
    const r = await removeCluster(await this.backend(), args.name, await this.user(), { force: flags.force });
    this.log(`Removed cluster ${args.name}.`);
    return { name: args.name, revision: r.revision, changed: r.changed };
  }
}
