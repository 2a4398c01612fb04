import { SousCommand, clusterFlag, filterFlags } from '../../base';

export default class AutodeployResume extends SousCommand {
  static summary = 'Let new builds deploy themselves again where a rollback paused AutoDeploy.';
  static description = 'A rollback pauses the AutoDeploy of the deployment (AutoDeployPaused in its manifest) so the tag builder does not roll it forward again; this lifts the pause, as the next explicit sous deploy does. One GDM commit; nothing is deployed by it.';
  static examples = ['<%= config.bin %> autodeploy resume --cluster prod', '<%= config.bin %> autodeploy resume -cluster prod -repo github.com/acme/shop --json'];
  static flags = {
    cluster: { ...clusterFlag, required: true } as typeof clusterFlag,
    ...filterFlags,
  };

  async run() {
    const { flags } = await this.parseFlags(AutodeployResume);
    const { resumeAutoDeploy, formatManifestID } = await import('@sous/core');
    const id = await this.manifestID(flags);
    const r = await resumeAutoDeploy(await this.backend(), id, flags.cluster!, await this.user());
    const did = `${flags.cluster}:${formatManifestID(id)}`;
    this.log(r.changed ? `AutoDeploy of ${did} (${r.spec.AutoDeploy}) is on again${r.wasPaused ? `; it was paused: ${r.wasPaused.Reason}` : ''}.` : `AutoDeploy of ${did} (${r.spec.AutoDeploy}) was not paused.`);
    return { deploymentID: did, autoDeploy: r.spec.AutoDeploy, resumed: r.changed, ...(r.wasPaused ? { wasPaused: r.wasPaused } : {}), revision: r.revision };
  }
}
