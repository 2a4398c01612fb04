import { SousCommand, clusterFlag, filterFlags } from '../base';
import { tagFlag } from '../flags';
import { createSous } from '../sous';

export default class Update extends SousCommand {
  static summary = 'Ask for a built version to run in a cluster: verify it, then write it into the GDM.';
  static description = `Finds the artifact built for the version and verifies it for the cluster: the image exists by digest, it is signed by a key the cluster trusts when the cluster requires signatures, and it carries no advisory the cluster does not allow. Only then is the digest-pinned version written into the Global Deploy Manifest (one commit). A refusal names the reason and changes nothing. The rectifier deploys it; \`sous deploy\` does both and waits.`;
  static examples = ['<%= config.bin %> update --cluster prod --tag 1.2.0', '<%= config.bin %> update -cluster prod -tag 1.2.0', '<%= config.bin %> update --cluster staging --tag 1.3.0-rc.1 --repo github.com/acme/shop --json'];
  static flags = { cluster: { ...clusterFlag, required: true } as typeof clusterFlag, tag: tagFlag, ...filterFlags };

  async run() {
    const { flags } = await this.parseFlags(Update);
    const { updateDeployment, remoteUpdate } = await import('@sous/core');
    const server = await this.serverClient();
    const id = await this.manifestID(flags);
    const r = server
      ? await remoteUpdate(server, { id, cluster: flags.cluster!, version: flags.tag })
      : await updateDeployment(createSous(await this.config_(), this.logger()), await this.backend(), { id, cluster: flags.cluster!, version: flags.tag, user: await this.user() });
    this.log(r.changed ? `${r.deploymentID} now asks for ${r.version} (${r.digest.slice(0, 19)}); was ${r.previousVersion || 'nothing'}.` : `${r.deploymentID} already asks for ${r.version}.`);
    return r;
  }
}
