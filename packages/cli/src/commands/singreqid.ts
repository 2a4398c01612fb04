import { SousCommand, clusterFlag, filterFlags } from '../base';

export default class Singreqid extends SousCommand {
  static summary = 'Print the Singularity request ID of a deployment.';
  static description = "The manifest's SingularityRequestID when it names one, else the ID Sous derives (as the original did) from the repository, offset, flavor and cluster.";
  static examples = ['<%= config.bin %> singreqid --repo github.com/acme/shop --cluster prod', '<%= config.bin %> singreqid -repo github.com/acme/shop -offset api -cluster prod'];
  static flags = { cluster: { ...clusterFlag, required: true } as typeof clusterFlag, ...filterFlags };

  async run() {
    const { flags } = await this.parseFlags(Singreqid);
    const { manifestKey, usageError } = await import('@sous/core');
    const { requestIDFor } = await import('@sous/plugin-scheduler-singularity');
    const id = await this.manifestID(flags);
    const state = await (await this.backend()).read();
    const m = state.manifests.get(manifestKey(id))?.manifest;
    if (!m) throw usageError('MANIFEST_NOT_FOUND', `no manifest ${manifestKey(id)} in the GDM`, { hints: ['sous query gdm lists them'] });
    const spec = m.Deployments?.[flags.cluster!];
    if (!spec) throw usageError('DEPLOYMENT_NOT_FOUND', `${manifestKey(id)} has no deployment in cluster ${flags.cluster}`, { hints: [`clusters: ${Object.keys(m.Deployments ?? {}).join(', ') || '(none)'}`] });
    const requestID = spec.SingularityRequestID || requestIDFor(id, flags.cluster!);
    this.log(requestID);
    return { deploymentID: `${flags.cluster}:${manifestKey(id)}`, requestID, named: Boolean(spec.SingularityRequestID) };
  }
}
