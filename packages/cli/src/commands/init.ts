import * as fs from 'node:fs';
import * as path from 'node:path';
import { Flags } from '@oclif/core';
import { SousCommand, clusterFlag, filterFlags } from '../base';

export default class Init extends SousCommand {
  static summary = 'Register an application: a manifest with Sous defaults for every cluster.';
  static description = `Run inside the application's git repository: the repo comes from its origin remote and the offset from the current directory. The manifest gets Sous's default deployment settings for every known cluster (or only --cluster), and a sous.config.ts stub is written next to the sources unless one exists. Refuses when the manifest already exists.`;
  static examples = [
    '<%= config.bin %> init --kind http-service',
    '<%= config.bin %> init --kind worker --cluster staging --owner alice@example.com',
    '<%= config.bin %> init -kind http-service -flavor canary',
  ];
  static flags = {
    kind: Flags.string({ char: 'k', description: 'the kind of application', options: ['http-service', 'worker', 'on-demand', 'scheduled', 'once', 'scheduled-job'], default: 'http-service' }),
    cluster: clusterFlag,
    owner: Flags.string({ description: 'an owner (repeatable)', multiple: true }),
    'no-config-file': Flags.boolean({ description: 'do not write a sous.config.ts stub' }),
    ...filterFlags,
  };

  async run() {
    const { flags } = await this.parseFlags(Init);
    const { initManifest, formatManifestID, renderTemplate } = await import('@sous/core');
    const id = await this.manifestID(flags);
    const r = await initManifest(await this.backend(), { id, kind: flags.kind, cluster: flags.cluster, owners: flags.owner, user: await this.user() });
    let configFile: string | undefined;
    const ctx = await this.sourceContext();
    if (ctx && !flags['no-config-file'] && !flags.repo && !flags.source) {
      const target = path.join(process.cwd(), 'sous.config.ts');
      const existing = ['sous.config.ts', 'sous.config.js', 'sous.config.json', 'sous.config.yaml', 'sous.config.yml'].some((f) => fs.existsSync(path.join(process.cwd(), f)));
      if (!existing) {
        fs.writeFileSync(target, renderTemplate('sous.config.ts.tmpl', { source: formatManifestID(id) }), { flag: 'wx' });
        configFile = target;
      }
    }
    const clusters = Object.keys(r.manifest.Deployments ?? {});
    this.log(`Registered ${formatManifestID(id)} (${flags.kind}) in ${clusters.join(', ')}.`);
    if (configFile) this.log(`Wrote ${path.relative(process.cwd(), configFile)}: how Sous builds it.`);
    this.log('Change deployment settings with: sous manifest edit');
    return { manifestID: formatManifestID(id), manifest: r.manifest, revision: r.revision, configFile };
  }
}
