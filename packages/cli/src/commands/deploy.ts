import { Flags } from '@oclif/core';
import { SousCommand, clusterFlag, filterFlags } from '../base';
import { dryRunFlag, durationFlag, schedulerDryRun, tagFlag } from '../flags';
import { createSous } from '../sous';
import { taskList } from '../ui/tasks';

export default class Deploy extends SousCommand {
  static summary = 'Deploy a built version to a cluster and wait until it is live.';
  static description = `\`sous update\`, then the rectifier deploys that one deployment and this command waits for the outcome. Exit 0 when the new version is live and ready, 1 when it failed (with the scheduler's message), 3 when it was not ready before --timeout. A refusal by verification changes nothing.`;
  static examples = [
    '<%= config.bin %> deploy --cluster prod --tag 1.2.0',
    '<%= config.bin %> deploy -cluster prod -tag 1.2.0 --timeout 5m',
    '<%= config.bin %> deploy --cluster prod --tag 1.2.0 --no-wait',
    '<%= config.bin %> deploy --cluster prod --tag 1.2.0 --force   # redeploy the same version',
    '<%= config.bin %> deploy -cluster prod -tag 1.2.0 -wait-stable=false',
    '<%= config.bin %> deploy -cluster prod -tag 1.2.0 -dry-run scheduler   # write the GDM, deploy nothing',
  ];
  static flags = {
    cluster: { ...clusterFlag, required: true } as typeof clusterFlag,
    tag: tagFlag,
    wait: Flags.boolean({ description: 'wait for the outcome (--no-wait only updates the GDM); the original\'s -wait-stable[=false]', default: true, allowNo: true, aliases: ['wait-stable'] }),
    'dry-run': dryRunFlag,
    timeout: durationFlag({ description: 'how long to wait for the deployment to become ready (e.g. 90s, 5m)' }),
    force: Flags.boolean({ description: 'redeploy even if this version already runs, and release a held change' }),
    ...filterFlags,
  };

  async run() {
    const { flags } = await this.parseFlags(Deploy);
    // Nothing asked of the scheduler: the GDM is written, the rectifier not run.
    if (schedulerDryRun(flags['dry-run'])) flags.wait = false;
    const { deploy, statusDirFor, remoteDeploy } = await import('@sous/core');
    const config = await this.config_();
    const server = await this.serverClient();
    const ui = taskList(process.stderr, this.jsonEnabled());
    try {
      const id = await this.manifestID(flags);
      if (server) ui.phase('deploy', 'start', `via ${server.base}`);
      const r = server
        ? await remoteDeploy(server, { id, cluster: flags.cluster!, version: flags.tag, force: flags.force, noWait: !flags.wait, timeoutMs: flags.timeout }).finally(() => ui.close())
        : await deploy(createSous(config, this.logger()), await this.backend(), {
        id,
        cluster: flags.cluster!,
        version: flags.tag,
        user: await this.user(),
        noWait: !flags.wait,
        force: flags.force,
        timeoutMs: flags.timeout,
        statusDir: statusDirFor(config.stateLocation),
        observer: {
          actionStart: (a) => ui.phase(a.kind, 'start', `${a.deploymentID}: ${a.reason}`),
          progress: (_a, p) => ui.progress(p.message),
          actionDone: (o) => ui.phase(o.action.kind, o.status === 'Active' ? 'done' : 'fail', `${o.resolution}${o.message ? `: ${o.message}` : ''}`),
        },
      });
      ui.close();
      this.log(r.status === 'requested' ? `${r.deploymentID} asks for ${r.version}; the rectifier will deploy it.` : `${r.deploymentID} ${r.version} is live.`);
      return r;
    } finally {
      ui.close();
    }
  }
}
