import { SousCommand, filterFlags } from '../../base';

export default class ManifestGet extends SousCommand {
  static summary = 'Print an application\'s manifest as YAML.';
  static description = 'Prints the manifest exactly as the GDM stores it. With --json, prints it as a JSON document.';
  static examples = ['<%= config.bin %> manifest get', '<%= config.bin %> manifest get --repo github.com/acme/shop --offset api', '<%= config.bin %> manifest get -source github.com/acme/shop,api > m.yaml'];
  static flags = { ...filterFlags };

  async run() {
    const { flags } = await this.parseFlags(ManifestGet);
    const { getManifest, formatManifestID } = await import('@sous/core');
    const id = await this.manifestID(flags);
    const r = await getManifest(await this.backend(), id);
    if (!this.jsonEnabled()) process.stdout.write(r.yaml);
    return { manifestID: formatManifestID(id), revision: r.revision, manifest: r.manifest };
  }
}
