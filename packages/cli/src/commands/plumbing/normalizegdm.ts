import { SousCommand } from '../../base';

export default class PlumbingNormalizegdm extends SousCommand {
  static summary = 'Rewrite every file of the GDM in its canonical form, as one commit.';
  static description = 'defs.yaml and every manifest are read, checked and written back whole, as Sous writes them (fields in order, values quoted only where a YAML 1.1 reader would misread them). A GDM with a file that does not read is refused, and nothing is written.';
  static examples = ['<%= config.bin %> plumbing normalizegdm', '<%= config.bin %> plumbing normalizegdm --json'];

  async run() {
    await this.parseFlags(PlumbingNormalizegdm);
    const { usageError } = await import('@sous/core');
    if (await this.serverClient()) throw usageError('NORMALIZE_WITH_SERVER', 'normalizegdm rewrites the GDM where it is stored; with a Sous server configured, run it on the server\'s state', { hints: ['SOUS_SERVER= sous plumbing normalizegdm, with SOUS_STATE_LOCATION the server\'s state'] });
    const backend = await this.backend();
    const r = await backend.update((s) => {
      if (s.flaws.length) throw usageError('GDM_FLAWED', `the GDM has files that do not read: ${s.flaws.map((f) => `${f.path} (${f.code})`).join(', ')}`, { hints: ['Fix or remove them first; sous query gdm names each problem'] });
      return { change: { message: 'Normalize the GDM', defs: s.defs, setManifests: [...s.manifests.values()].map((m) => m.manifest), rewrite: true }, result: s.manifests.size };
    }, await this.user());
    this.log(r.changed ? `Normalized defs.yaml and ${r.result} manifest(s) (${r.revision.slice(0, 12)}).` : 'The GDM is already normal.');
    return { changed: r.changed, revision: r.revision, manifests: r.result };
  }
}
