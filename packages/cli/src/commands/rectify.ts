import { Flags } from '@oclif/core';
import { SousCommand } from '../base';
import { dryRunFlag, durationFlag, schedulerDryRun } from '../flags';
import { checkScope, describePlan, localRectifier, scopeFlags } from '../rectify-flags';

export default class Rectify extends SousCommand {
  static summary = 'Make what runs on the clusters match the GDM.';
  static description = `Reads the intended state (the GDM expanded with cluster defaults) and what really runs on every cluster's scheduler, diffs them, and calls the schedulers until they match: new deployments are created, changed ones redeployed or scaled, one action per deployment at a time. Deployments no longer intended are reported and left running unless --prune (or the cluster allows pruning). What a pass cannot see (a cluster that does not answer, a manifest file that does not read) is left alone, and the pass exits 1 with RECTIFY_INCOMPLETE. A change that failed repeatedly is held back until the GDM changes or --force. With --watch it runs on every GDM change and on a resync interval, until stopped.`;
  static examples = [
    '<%= config.bin %> rectify --repo github.com/acme/shop',
    '<%= config.bin %> rectify -repo github.com/acme/shop -cluster prod',
    '<%= config.bin %> rectify --all --watch --resync 60s',
    '<%= config.bin %> rectify --all --dry-run',
    '<%= config.bin %> rectify -all -dry-run=scheduler',
  ];
  static flags = {
    ...scopeFlags,
    force: Flags.boolean({ description: 'redeploy everything in scope, and release held changes' }),
    watch: Flags.boolean({ description: 'keep rectifying on every GDM change and on the resync interval' }),
    resync: durationFlag({ description: 'with --watch: a full pass at least this often (default 60s)' }),
    'dry-run': dryRunFlag,
  };

  async run() {
    const { flags } = await this.parseFlags(Rectify);
    checkScope(flags);
    const core = await import('@sous/core');
    const config = await this.config_();
    const server = await this.serverClient();
    const filters = core.resolveFilters(flags);
    if (flags.watch && server) {
      throw core.usageError('WATCH_WITH_SERVER', 'with a Sous server configured, the server rectifies continuously (sous server --autoresolver)', { hints: ['Run sous rectify without --watch to ask the servers for a pass now'] });
    }
    const local = server ? undefined : localRectifier(config, this.logger(), await this.backend());
    if (schedulerDryRun(flags['dry-run'])) {
      const { plan } = local ? await local.plan({ filters, prune: flags.prune, force: flags.force }) : await core.remotePlan(server!, filters, { prune: flags.prune });
      this.log(describePlan(plan));
      return this.incomplete({ plan }, 'PLAN_INCOMPLETE', 'the plan', plan.errors);
    }
    if (flags.watch) return this.watch(local!, filters, flags, config);
    const r = local
      ? await local.run({ filters, prune: flags.prune, force: flags.force, observer: { progress: (a, p) => this.logger().debug(`${a.deploymentID}: ${p.message}`) } })
      : await core.remoteRectify(server!, filters, { prune: flags.prune, force: flags.force });
    this.print(r);
    const failed = r.outcomes.filter((o) => o.status === 'Failed');
    if (failed.length) {
      throw core.failure('RECTIFY_FAILED', `${failed.length} action(s) failed: ${failed.map((o) => o.action.deploymentID).join(', ')}`, {
        hints: ["Each failure's cause is in its line above (details.result with --json); where a scheduler allows it, the version that ran before keeps serving", 'After fixing the cause, run the rectify again; sous status shows the last outcome of each deployment'],
        details: { result: r },
      });
    }
    return this.incomplete(r, 'RECTIFY_INCOMPLETE', 'the rectify pass', r.plan.errors);
  }

  private print(r: import('@sous/core').RectifyResult): void {
    for (const e of r.plan.errors) this.logToStderr(`Warning: ${e.message} [${e.code}]`);
    for (const h of r.plan.held) this.log(`held     ${h.action.deploymentID}: failed ${h.failures} times (${h.lastError}); --force to retry`);
    for (const o of r.outcomes) this.log(`${o.status.padEnd(8)} ${o.action.deploymentID}: ${o.resolution} (${o.action.reason})${o.message && o.status !== 'Active' ? `: ${o.message}` : ''}`);
    if (!r.outcomes.length && !r.plan.held.length) this.log(`Nothing to do: ${r.plan.unchanged.length} deployment(s) match.`);
  }

  /** Rectifies on every GDM change and on the resync interval, until SIGINT or SIGTERM. */
  private async watch(rectifier: import('@sous/core').Rectifier, filters: import('@sous/core').ResolvedFilters, flags: { prune?: boolean; resync?: number }, config: import('@sous/core').ResolvedConfig) {
    const core = await import('@sous/core');
    const loop = core.RectifyLoop.of(rectifier, {
      filters,
      prune: flags.prune,
      resyncMs: flags.resync ?? config.rectify.resyncSeconds * 1000,
      onResult: (r, reason) => {
        if (this.jsonEnabled()) process.stdout.write(JSON.stringify({ reason, ...r }) + '\n');
        else if (r.outcomes.length || r.plan.errors.length || r.plan.held.length) {
          this.log(`-- pass (${reason}) ${new Date().toISOString()}`);
          this.print(r);
        }
      },
      onError: (e, reason) => this.logToStderr(`rectify pass (${reason}) failed: ${(e as Error).message}`),
    });
    const watcher = await core.watchStateRefs(config.stateLocation, () => loop.trigger('gdm change'));
    loop.start();
    this.logToStderr(`Watching ${config.stateLocation}; Ctrl-C to stop.`);
    await new Promise<void>((resolve) => {
      const stop = () => resolve();
      // Kept installed (not once): signal-exit, loaded by the lock library, re-raises a signal when it sees no other listener.
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    });
    await watcher.close();
    await loop.stop();
    return { passes: loop.passes };
  }
}
