import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { SousCommand, filterFlags } from '../../base';

export default class ManifestEdit extends SousCommand {
  static summary = 'Edit an application\'s manifest in $EDITOR.';
  static description = 'Opens the manifest in $VISUAL or $EDITOR and writes it back when you save. A manifest that fails checks, or that someone else changed while you edited, is not written; your edit is kept in a file you can use with `sous manifest set`.';
  static examples = ['<%= config.bin %> manifest edit', 'EDITOR=nano <%= config.bin %> manifest edit --repo github.com/acme/shop'];
  static flags = { ...filterFlags };

  async run() {
    const { flags } = await this.parseFlags(ManifestEdit);
    const { getManifest, setManifest, formatManifestID, usageError, isSousError } = await import('@sous/core');
    const id = await this.manifestID(flags);
    const backend = await this.backend();
    const current = await getManifest(backend, id);
    const editor = process.env.VISUAL || process.env.EDITOR;
    if (!editor) throw usageError('NO_EDITOR', 'neither $VISUAL nor $EDITOR is set', { hints: ['EDITOR=vi sous manifest edit', 'or: sous manifest get > m.yaml; edit it; sous manifest set < m.yaml'] });
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'sous-edit-')), 'manifest.yaml');
    fs.writeFileSync(file, current.yaml);
    const r = spawnSync(editor, [file], { stdio: 'inherit', shell: true });
    if (r.status !== 0) throw usageError('EDITOR_FAILED', `${editor} exited with ${r.status}; nothing was written`, { hints: [`Your edit is in ${file}`] });
    const edited = fs.readFileSync(file, 'utf8');
    if (edited === current.yaml) {
      this.log('No change.');
      return { manifestID: formatManifestID(id), changed: false, revision: current.revision };
    }
    try {
      const w = await setManifest(backend, id, edited, await this.user(), { expected: current.yaml, file, secretProviders: await this.secretProviders() });
      fs.rmSync(path.dirname(file), { recursive: true, force: true });
      this.log(`Updated ${formatManifestID(id)} (${w.revision.slice(0, 12)}).`);
      return { manifestID: formatManifestID(id), changed: w.changed, revision: w.revision };
    } catch (e) {
      if (isSousError(e)) e.hints.push(`Your edit is kept in ${file}: sous manifest set --file ${file}`);
      throw e;
    }
  }
}
