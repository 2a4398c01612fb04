import * as fs from 'node:fs';
import { Flags } from '@oclif/core';
import { SousCommand, filterFlags } from '../../base';

export default class ManifestSet extends SousCommand {
  static summary = 'Replace an application\'s manifest with YAML from stdin or a file.';
  static description = 'The YAML is checked (schema, versions, resources, known clusters) before anything is written; a bad manifest changes nothing. The change is one commit in the GDM, authored by you.';
  static examples = ['<%= config.bin %> manifest get > m.yaml && $EDITOR m.yaml && <%= config.bin %> manifest set < m.yaml', '<%= config.bin %> manifest set --file m.yaml --repo github.com/acme/shop'];
  static flags = {
    file: Flags.string({ char: 'f', description: 'read the manifest from this file instead of stdin' }),
    ...filterFlags,
  };

  async run() {
    const { flags } = await this.parseFlags(ManifestSet);
    const { setManifest, formatManifestID, usageError } = await import('@sous/core');
    const id = await this.manifestID(flags);
    let text: string;
    if (flags.file) {
      if (!fs.existsSync(flags.file)) throw usageError('FILE_NOT_FOUND', `${flags.file} does not exist`, { file: flags.file, hints: ['Write the current manifest to a file first: sous manifest get > manifest.yaml'] });
      text = fs.readFileSync(flags.file, 'utf8');
    } else {
      if (process.stdin.isTTY) throw usageError('NO_INPUT', 'give the manifest on stdin or with --file', { hints: ['sous manifest set < manifest.yaml'] });
      // Read the stream, not fd 0: a pipe from another process may be non-blocking (EAGAIN).
      const chunks: Buffer[] = [];
      for await (const c of process.stdin) chunks.push(c as Buffer);
      text = Buffer.concat(chunks).toString('utf8');
    }
    const r = await setManifest(await this.backend(), id, text, await this.user(), { file: flags.file ?? '<stdin>', secretProviders: await this.secretProviders() });
    this.log(r.changed ? `Updated ${formatManifestID(id)} (${r.revision.slice(0, 12)}).` : `No change to ${formatManifestID(id)}.`);
    return { manifestID: formatManifestID(id), revision: r.revision, changed: r.changed, manifest: r.manifest };
  }
}
