import { Flags } from '@oclif/core';
import { SousCommand, clusterFlag, filterFlags } from '../base';
import { durationFlag } from '../flags';
import { createSous } from '../sous';
import { taskList } from '../ui/tasks';

export default class Rollback extends SousCommand {
  static summary = 'Go back to the version that last ran successfully before the current one, and wait until it is live.';
  static description = `The version comes from the GDM's history and the rectifier's recorded outcomes (sous history); --to picks another one, which must have run successfully in the cluster unless --force. It is a deploy: the artifact is verified again for the cluster (it must still be the image that ran), written as one GDM commit that says it is a rollback and of what, rectified, and waited for, with deploy's exit codes (0 live, 1 failed, 3 timeout). A deployment with AutoDeploy is paused by the rollback (AutoDeployPaused in its manifest), so new builds do not roll it forward again, until the next explicit sous deploy or sous autodeploy resume.`;
  static examples = [
    '<%= config.bin %> rollback --cluster prod',
    '<%= config.bin %> rollback -cluster prod -repo github.com/acme/shop',
    '<%= config.bin %> rollback --cluster prod --to 1.4.2',
    '<%= config.bin %> rollback --cluster staging --to 1.5.0-rc.1 --force   # a version that never ran there',
  ];
  static flags = {
    cluster: { ...clusterFlag, required: true } as typeof clusterFlag,
    to: Flags.string({ char: 't', description: 'the version to go back to (default: the last one that ran successfully before the current one)' }),
    force: Flags.boolean({ description: 'allow a version that never ran successfully in the cluster, or an artifact rebuilt since it ran' }),
    wait: Flags.boolean({ description: 'wait for the outcome (--no-wait only writes the GDM)', default: true, allowNo: true }),
    timeout: durationFlag({ description: 'how long to wait for the deployment to become ready (e.g. 90s, 5m)' }),
    ...filterFlags,
  };

  async run() {
    const { flags } = await this.parseFlags(Rollback);
    const { rollback, remoteRollback, statusDirFor, Gdm } = await import('@sous/core');
    const config = await this.config_();
    const server = await this.serverClient();
    const ui = taskList(process.stderr, this.jsonEnabled());
    try {
      const id = await this.manifestID(flags);
      if (server) ui.phase('rollback', 'start', `via ${server.base}`);
      const r = server
        ? await remoteRollback(server, { id, cluster: flags.cluster!, to: flags.to, force: flags.force, noWait: !flags.wait, timeoutMs: flags.timeout }).finally(() => ui.close())
        : await rollback(createSous(config, this.logger()), (await this.backend()) as InstanceType<typeof Gdm>, {
            id,
            cluster: flags.cluster!,
            to: flags.to,
            force: flags.force,
            user: await this.user(),
            noWait: !flags.wait,
            timeoutMs: flags.timeout,
            statusDir: statusDirFor(config.stateLocation),
            observer: {
              actionStart: (a) => ui.phase(a.kind, 'start', `${a.deploymentID}: ${a.reason}`),
              progress: (_a, p) => ui.progress(p.message),
              actionDone: (o) => ui.phase(o.action.kind, o.status === 'Active' ? 'done' : 'fail', `${o.resolution}${o.message ? `: ${o.message}` : ''}`),
            },
          });
      ui.close();
      const what = `${r.deploymentID} ${r.status === 'requested' ? 'asks for' : 'is back on'} ${r.version} (from ${r.rollback.from || 'none'})`;
      this.log(`${what}${r.status === 'requested' ? '; the rectifier will deploy it' : ''}.`);
      if (r.autoDeployPaused) this.log(`AutoDeploy is paused until the next sous deploy or: sous autodeploy resume --cluster ${r.cluster}`);
      return r;
    } finally {
      ui.close();
    }
  }
}
