import { Args, Flags } from '@oclif/core';
import { SousCommand, clusterFlag, filterFlags } from '../../base';

export default class MetadataSet extends SousCommand {
  static summary = 'Set (or with --unset, remove) a metadata value on deployments.';
  static description = 'Without --cluster, the value is set on the application\'s deployments in every cluster.';
  static examples = ['<%= config.bin %> metadata set --cluster prod team payments', '<%= config.bin %> metadata set team payments', '<%= config.bin %> metadata set --unset team'];
  static args = { key: Args.string({ required: true, description: 'the metadata key' }), value: Args.string({ description: 'the value' }) };
  static flags = { cluster: clusterFlag, unset: Flags.boolean({ description: 'remove the key' }), ...filterFlags };

  async run() {
    const { flags, args } = await this.parseFlags(MetadataSet);
    const { setMetadata, usageError, formatManifestID } = await import('@sous/core');
    if (!flags.unset && args.value === undefined) throw usageError('MISSING_ARGUMENT', 'give a value, or --unset to remove the key', { hints: ['sous metadata set team payments'] });
    if (flags.unset && args.value !== undefined) throw usageError('FLAG_CONFLICT', '--unset takes no value', { hints: ['sous metadata set --unset KEY'] });
    const id = await this.manifestID(flags);
    const r = await setMetadata(await this.backend(), id, flags.cluster ? [flags.cluster] : undefined, args.key, flags.unset ? undefined : args.value, await this.user());
    this.log(r.changed ? `${flags.unset ? 'Removed' : 'Set'} ${args.key} on ${formatManifestID(id)} in ${r.clusters.join(', ')}.` : 'No change.');
    return { manifestID: formatManifestID(id), key: args.key, value: flags.unset ? null : args.value, clusters: r.clusters, changed: r.changed, revision: r.revision };
  }
}
