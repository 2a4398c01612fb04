import { Args, Flags } from '@oclif/core';
import { SousCommand } from '../base';
import { createSous } from '../sous';

export default class Harvest extends SousCommand {
  static summary = 'Record artifacts for the versions a cluster already runs.';
  static description = "Reads what runs on the cluster (the original Sous's deployments included) and records, for every version the artifact index lacks, the running image's digest and repository with the revision and advisories from the image's labels, in one commit. Repositories given as arguments limit it to those. Deploys of those versions can then be verified like any other.";
  static examples = ['<%= config.bin %> harvest --cluster prod', '<%= config.bin %> harvest -cluster prod github.com/acme/shop github.com/acme/cart'];
  static strict = false;
  static args = { repo: Args.string({ description: 'repositories to harvest (default: every one running)' }) };
  static flags = { cluster: Flags.string({ char: 'c', description: 'the cluster to harvest from', required: true }) };

  async run() {
    const { flags, argv } = await this.parseFlags(Harvest);
    const core = await import('@sous/core');
    const config = await this.config_();
    const server = await this.serverClient();
    const backend = await this.backend();
    let running: import('@sous/core').DeployState[];
    if (server) {
      running = (await core.remotePlan(server, { cluster: flags.cluster })).actual;
    } else {
      const state = await backend.read();
      const def = state.defs.Clusters?.[flags.cluster!];
      if (!def) throw core.usageError('UNKNOWN_CLUSTER', `cluster ${JSON.stringify(flags.cluster)} is not defined`, { hints: [`known clusters: ${Object.keys(state.defs.Clusters ?? {}).join(', ') || '(none)'}`] });
      const scheduler = createSous(config, this.logger()).hooks.scheduler.get(def.Kind)?.call({ name: flags.cluster!, def });
      if (!scheduler) throw core.usageError('UNKNOWN_CLUSTER_KIND', `no scheduler plugin handles clusters of kind ${JSON.stringify(def.Kind)}`, { hints: ['Add the scheduler plugin to the config'] });
      running = (await scheduler.actual()).filter((d) => d.cluster === flags.cluster);
    }
    const registry = (await backend.read()).defs.DockerRepo || config.registry;
    const r = await core.harvest(backend, running, { repos: argv as string[], registry, user: await this.user() });
    for (const a of r.recorded) this.log(`recorded ${a.Source} ${a.Version} = ${a.Image}@${a.Digest.slice(0, 19)}…`);
    for (const s of r.skipped) this.logToStderr(`Warning: ${s.deploymentID} not harvested: ${s.reason}`);
    this.log(`${r.recorded.length} artifact(s) recorded, ${r.known.length} already known, ${r.skipped.length} skipped.`);
    return r;
  }
}
