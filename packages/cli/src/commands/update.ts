import { Flags } from '@oclif/core';
import { SousCommand, clusterFlag, filterFlags } from '../base';
import { tagFlag } from '../flags';
import { createSous } from '../sous';

export default class Update extends SousCommand {
  static summary = 'Ask for a built version to run in a cluster: verify it, then write it into the GDM.';
  static description = `Finds the artifact built for the version and verifies it for the cluster: the image exists by digest, it is signed by a key the cluster trusts when the cluster requires signatures, and it carries no advisory the cluster does not allow. Only then is the digest-pinned version written into the Global Deploy Manifest (one commit). A refusal names the reason and changes nothing. The rectifier deploys it; \`sous deploy\` does both and waits. With --all, every cluster the manifest has a deployment in is updated, one after another; the first refusal stops the rest (those already updated stay).`;
  static examples = [
    '<%= config.bin %> update --cluster prod --tag 1.2.0',
    '<%= config.bin %> update -cluster prod -tag 1.2.0',
    '<%= config.bin %> update -all -tag 1.2.0',
    '<%= config.bin %> update --cluster staging --tag 1.3.0-rc.1 --repo github.com/acme/shop --json',
  ];
  static flags = { cluster: clusterFlag, all: Flags.boolean({ description: 'every cluster the manifest deploys to', exclusive: ['cluster'] }), tag: tagFlag, ...filterFlags };

  async run() {
    const { flags } = await this.parseFlags(Update);
    const { updateDeployment, remoteUpdate, usageError, manifestKey } = await import('@sous/core');
    if (!flags.cluster && !flags.all) throw usageError('NO_CLUSTER', 'say which cluster: --cluster NAME, or --all for every cluster the manifest deploys to', { hints: ['sous update --cluster prod --tag 1.2.0', 'sous update --all --tag 1.2.0'] });
    const server = await this.serverClient();
    const id = await this.manifestID(flags);
    const backend = server ? undefined : await this.backend();
    let clusters = flags.cluster ? [flags.cluster] : [];
    if (flags.all) {
      const state = backend ? await backend.read() : undefined;
      const m = state ? state.manifests.get(manifestKey(id))?.manifest : (await server!.request<{ manifest: import('@sous/core').Manifest }>('GET', '/manifest', { query: { repo: id.source.repo, offset: id.source.dir, flavor: id.flavor } })).body.manifest;
      clusters = Object.keys(m?.Deployments ?? {}).sort();
      if (!clusters.length) throw usageError('NO_DEPLOYMENTS', `${manifestKey(id)} deploys to no cluster`, { hints: ['sous manifest edit adds deployments'] });
    }
    const results = [];
    for (const cluster of clusters) {
      const r = server
        ? await remoteUpdate(server, { id, cluster, version: flags.tag })
        : await updateDeployment(createSous(await this.config_(), this.logger()), backend!, { id, cluster, version: flags.tag, user: await this.user() });
      this.log(r.changed ? `${r.deploymentID} now asks for ${r.version} (${r.digest.slice(0, 19)}); was ${r.previousVersion || 'nothing'}.` : `${r.deploymentID} already asks for ${r.version}.`);
      results.push(r);
    }
    return flags.all ? { updates: results } : results[0];
  }
}
