import { Flags } from '@oclif/core';
import { SousCommand, filterFlags } from '../../base';

export default class ArtifactAdd extends SousCommand {
  static summary = 'Register an image built by another CI tool as the artifact of a version.';
  static description = 'The image must exist in its registry (a tag is resolved to its digest, and the digest is what deploys pin). The record carries the "added artifact" advisory, as the original Sous did: only clusters that allow that advisory (sous cluster add --allow-advisory "added artifact") deploy it. A version that already has an artifact is refused.';
  static examples = [
    '<%= config.bin %> artifact add --repo github.com/acme/shop --tag 1.2.0 --docker-image registry.example.com/acme/shop:1.2.0',
    '<%= config.bin %> artifact add -repo github.com/acme/shop -offset api -tag 1.2.0 -docker-image registry.example.com/acme/shop-api@sha256:…',
  ];
  static flags = {
    repo: filterFlags.repo,
    offset: filterFlags.offset,
    source: filterFlags.source,
    tag: Flags.string({ char: 't', description: 'the version the image is of', required: true }),
    'docker-image': Flags.string({ description: 'the image: registry/repository[:tag][@digest]', required: true }),
  };

  async run() {
    const { flags } = await this.parseFlags(ArtifactAdd);
    const { addArtifact } = await import('@sous/core');
    const id = await this.manifestID(flags);
    const record = await addArtifact(await this.backend(), { source: id.source, version: flags.tag, image: flags['docker-image'], user: await this.user() });
    this.log(`Artifact added: ${record.Source} ${record.Version} = ${record.Image}@${record.Digest} (advisories: ${(record.Advisories ?? []).join(', ')})`);
    return { artifact: record };
  }
}
