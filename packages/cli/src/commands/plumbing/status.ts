import { Flags } from '@oclif/core';
import { SousCommand, clusterFlag, filterFlags } from '../../base';
import { durationFlag } from '../../flags';
import { localRectifier } from '../../rectify-flags';

export default class PlumbingStatus extends SousCommand {
  static summary = 'Show whether one deployment runs what the GDM asks for; with --wait, wait until it does.';
  static description = 'Reads the GDM and the cluster, and reports the intended version, what runs and its status. Exit 0 when the running deployment is Active at the intended version, 1 when it failed, 3 when it has not settled (or still has not at the end of --wait).';
  static examples = ['<%= config.bin %> plumbing status --cluster prod --repo github.com/acme/shop', '<%= config.bin %> plumbing status -cluster prod -repo github.com/acme/shop --wait 5m'];
  static flags = { cluster: { ...clusterFlag, required: true } as typeof clusterFlag, ...filterFlags, wait: durationFlag({ description: 'wait this long for the deployment to settle' }), interval: durationFlag({ description: 'how often to look while waiting (default 2s)' }) };

  async run() {
    const { flags } = await this.parseFlags(PlumbingStatus);
    const core = await import('@sous/core');
    const id = await this.manifestID(flags);
    const deploymentID = `${flags.cluster}:${core.manifestKey(id)}`;
    const server = await this.serverClient();
    const local = server ? undefined : localRectifier(await this.config_(), this.logger(), await this.backend());
    const filters = core.resolveFilters({ ...flags, repo: id.source.repo, offset: id.source.dir, flavor: id.flavor });
    const end = Date.now() + (flags.wait ?? 0);
    for (;;) {
      const { plan, actual } = local ? await local.plan({ filters }) : await core.remotePlan(server!, filters);
      const running = actual.find((d) => d.id === deploymentID);
      const pending = plan.actions.find((a) => a.deploymentID === deploymentID);
      const intended = pending?.post?.spec.Version ?? running?.spec.Version;
      const settled = Boolean(running && !pending && running.status === 'Active');
      const failed = running?.status === 'Failed';
      if (settled || failed || Date.now() >= end) {
        const status = settled ? 'settled' : failed ? 'failed' : 'not settled';
        this.log(`${deploymentID}: ${status}; intended ${intended ?? '-'}, running ${running?.spec.Version ?? 'nothing'} (${running?.status ?? 'absent'})${pending ? `; to do: ${pending.kind} (${pending.reason})` : ''}${running?.message ? `: ${running.message}` : ''}`);
        if (!settled) process.exitCode = failed ? 1 : 3;
        return { deploymentID, status, intended: intended ?? null, running: running ? { version: running.spec.Version, status: running.status, message: running.message } : null, pending: pending ? { kind: pending.kind, reason: pending.reason } : null };
      }
      await new Promise((r) => setTimeout(r, flags.interval ?? 2000));
    }
  }
}
