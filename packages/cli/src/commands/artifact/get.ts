import { Flags } from '@oclif/core';
import { SousCommand, filterFlags } from '../../base';

export default class ArtifactGet extends SousCommand {
  static summary = 'Print the artifact recorded for a version (exit 1 when there is none).';
  static examples = ['<%= config.bin %> artifact get --repo github.com/acme/shop --tag 1.2.0', '<%= config.bin %> artifact get -repo github.com/acme/shop -tag 1.2.0 --json'];
  static flags = { repo: filterFlags.repo, offset: filterFlags.offset, source: filterFlags.source, tag: Flags.string({ char: 't', description: 'the version', required: true }) };

  async run() {
    const { flags } = await this.parseFlags(ArtifactGet);
    const { failure, formatSourceLocation, parseVersion } = await import('@sous/core');
    const id = await this.manifestID(flags);
    const v = parseVersion(flags.tag);
    const record = await (await this.backend()).artifact(id.source, v.raw);
    if (!record) {
      throw failure('ARTIFACT_NOT_FOUND', `no artifact of ${formatSourceLocation(id.source)} ${v.raw}`, { hints: ['sous query artifacts lists what was built', 'sous artifact add registers an image built elsewhere'] });
    }
    this.log(`${record.Source} ${record.Version}\n  image    ${record.Image}@${record.Digest}\n  revision ${record.Revision ?? '-'}\n  advisories ${(record.Advisories ?? []).join(', ') || '-'}`);
    return { artifact: record };
  }
}
