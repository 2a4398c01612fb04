import { Args } from '@oclif/core';
import { SousCommand, clusterFlag, filterFlags, table } from '../../base';

export default class MetadataGet extends SousCommand {
  static summary = 'Print deployment metadata.';
  static examples = ['<%= config.bin %> metadata get', '<%= config.bin %> metadata get --cluster prod team', '<%= config.bin %> metadata get -cluster prod --json'];
  static args = { key: Args.string({ description: 'only this key' }) };
  static flags = { cluster: clusterFlag, ...filterFlags };

  async run() {
    const { flags, args } = await this.parseFlags(MetadataGet);
    const { getMetadata, usageError } = await import('@sous/core');
    const md = await getMetadata(await this.backend(), await this.manifestID(flags), flags.cluster);
    if (args.key) {
      const values = Object.fromEntries(Object.entries(md).filter(([, m]) => args.key! in m).map(([c, m]) => [c, m[args.key!]]));
      if (Object.keys(values).length === 0) throw usageError('METADATA_NOT_FOUND', `no metadata ${JSON.stringify(args.key)}${flags.cluster ? ` in ${flags.cluster}` : ''}`, { hints: ['List the keys with: sous metadata get'] });
      if (flags.cluster) this.log(values[flags.cluster]);
      else this.log(table(['CLUSTER', 'VALUE'], Object.entries(values)).trimEnd());
      return { key: args.key, values };
    }
    const rows = Object.entries(md).flatMap(([c, m]) => Object.entries(m).map(([k, v]) => [c, k, v]));
    this.log(rows.length ? table(['CLUSTER', 'KEY', 'VALUE'], rows).trimEnd() : 'No metadata.');
    return { metadata: md };
  }
}
