import { Flags } from '@oclif/core';
import { SousCommand } from '../base';
import { checkScope, describePlan, localRectifier, scopeFlags } from '../rectify-flags';

export default class Plan extends SousCommand {
  static summary = 'Show what a rectify would do, changing nothing.';
  static description = 'The same plan `sous rectify` would carry out: each action with its reason, held changes, and clusters that could not be read. With --exit-code, exits 2 when changes are pending (for CI and monitoring). A plan that could not see everything (a cluster that did not answer, a manifest file that does not read) exits 1 with PLAN_INCOMPLETE after the plan: what it could not see is left alone, never planned for deletion.';
  static examples = ['<%= config.bin %> plan --all', '<%= config.bin %> plan --repo github.com/acme/shop --exit-code', '<%= config.bin %> plan --cluster prod --json'];
  static flags = { ...scopeFlags, 'exit-code': Flags.boolean({ description: 'exit 2 when changes are pending' }) };

  async run() {
    const { flags } = await this.parseFlags(Plan);
    checkScope(flags);
    const core = await import('@sous/core');
    const config = await this.config_();
    const server = await this.serverClient();
    const { plan } = server
      ? await core.remotePlan(server, core.resolveFilters(flags), { prune: flags.prune })
      : await localRectifier(config, this.logger(), await this.backend()).plan({ filters: core.resolveFilters(flags), prune: flags.prune });
    this.log(describePlan(plan));
    const pending = plan.actions.some((a) => a.kind !== 'report-removed');
    if (flags['exit-code'] && pending) process.exitCode = 2;
    return this.incomplete({ plan, pending }, 'PLAN_INCOMPLETE', 'the plan', plan.errors);
  }
}
