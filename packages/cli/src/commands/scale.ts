import { Args, Flags } from '@oclif/core';
import { SousCommand, clusterFlag, filterFlags } from '../base';

export default class Scale extends SousCommand {
  static summary = 'Set the number of instances of a deployment.';
  static examples = ['<%= config.bin %> scale --cluster prod --instances 3', '<%= config.bin %> scale -cluster prod 3', '<%= config.bin %> scale --cluster staging --instances 0 --repo github.com/acme/shop'];
  static args = { instances: Args.integer({ description: 'the number of instances (or use --instances)', min: 0 }) };
  static flags = {
    cluster: { ...clusterFlag, required: true } as typeof clusterFlag,
    instances: Flags.integer({ char: 'n', description: 'the number of instances', min: 0 }),
    ...filterFlags,
  };

  async run() {
    const { flags, args } = await this.parseFlags(Scale);
    const { scale, usageError, formatManifestID } = await import('@sous/core');
    const n = flags.instances ?? args.instances;
    if (n === undefined) throw usageError('MISSING_ARGUMENT', 'give the number of instances', { hints: ['sous scale --cluster prod --instances 3'] });
    if (flags.instances !== undefined && args.instances !== undefined && flags.instances !== args.instances) throw usageError('FLAG_CONFLICT', '--instances and the argument disagree', { hints: ['Give the number once: sous scale --cluster prod 3'] });
    const id = await this.manifestID(flags);
    const r = await scale(await this.backend(), id, flags.cluster!, n, await this.user());
    this.log(r.changed ? `Scaled ${formatManifestID(id)} in ${flags.cluster} to ${n}.` : `${formatManifestID(id)} in ${flags.cluster} already has ${n}.`);
    return { deploymentID: `${flags.cluster}:${formatManifestID(id)}`, instances: n, changed: r.changed, revision: r.revision };
  }
}
