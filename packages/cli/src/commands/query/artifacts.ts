import { Flags } from '@oclif/core';
import { SousCommand, filterFlags, table } from '../../base';

export default class QueryArtifacts extends SousCommand {
  static summary = 'List built images in the artifact index.';
  static examples = ['<%= config.bin %> query artifacts', '<%= config.bin %> query artifacts --repo github.com/acme/shop --version 1.2.0 --json'];
  static flags = {
    repo: filterFlags.repo,
    offset: filterFlags.offset,
    source: filterFlags.source,
    version: Flags.string({ description: 'only this version' }),
  };

  async run() {
    const { flags } = await this.parseFlags(QueryArtifacts);
    const { queryArtifacts } = await import('@sous/core');
    const artifacts = await queryArtifacts(await this.backend(), flags);
    if (artifacts.length === 0) this.log('No artifacts match.');
    else
      this.log(
        table(
          ['SOURCE', 'VERSION', 'IMAGE', 'DIGEST', 'ADVISORIES'],
          artifacts.map((a) => [a.Source, a.Version, a.Image, a.Digest.slice(0, 19), (a.Advisories ?? []).join(', ') || '-']),
        ).trimEnd(),
      );
    return { artifacts };
  }
}
