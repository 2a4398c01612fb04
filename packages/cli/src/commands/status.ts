import { SousCommand, table } from '../base';
import { localRectifier, scopeFlags } from '../rectify-flags';

export default class Status extends SousCommand {
  static summary = 'Show each deployment: intended version, what runs, and the last outcome.';
  static examples = ['<%= config.bin %> status', '<%= config.bin %> status --cluster prod', '<%= config.bin %> status --repo github.com/acme/shop --json'];
  static flags = { ...scopeFlags };

  async run() {
    const { flags } = await this.parseFlags(Status);
    const core = await import('@sous/core');
    const config = await this.config_();
    const filters = core.resolveFilters(flags);
    const server = await this.serverClient();
    let plan: import('@sous/core').RectifyPlan;
    let actual: import('@sous/core').DeployState[];
    let outcomeList: import('@sous/core').DeploymentStatus[];
    let state: import('@sous/core').State;
    if (server) {
      state = await (await this.backend()).read();
      ({ plan, actual } = await core.remotePlan(server, filters));
      const st = await server.request<{ deployments: { last: import('@sous/core').DeploymentStatus | null }[] }>('GET', '/status');
      outcomeList = st.body.deployments.flatMap((d) => (d.last ? [d.last] : []));
    } else {
      // The intended state the plan was made from: one read of the GDM, not two.
      const rectifier = localRectifier(config, this.logger(), await this.backend());
      ({ plan, actual, state } = await rectifier.plan({ filters }));
      outcomeList = await rectifier.status.all();
    }
    const intended = core.intendedDeployments(state).filter((d) => core.matchesDeployment(filters, d.manifestID, d.cluster));
    const outcomes = new Map(outcomeList.map((s) => [s.id, s]));
    const running = new Map(actual.map((a) => [a.id, a]));
    const pending = new Map(plan.actions.map((a) => [a.deploymentID, a]));
    const ids = [...new Set([...intended.map((d) => d.id), ...actual.map((a) => a.id)])].sort();
    const unreadable = new Set(plan.errors.flatMap((e) => (e.manifest ? [e.manifest] : [])));
    const rows = ids.map((id) => {
      const want = intended.find((d) => d.id === id);
      const have = running.get(id);
      const last = outcomes.get(id);
      const raw = want ? state.manifests.get(core.formatManifestID(want.manifestID))?.manifest.Deployments?.[want.cluster] : undefined;
      return {
        deploymentID: id,
        intended: want ? { version: want.spec.Version ?? '', instances: want.spec.NumInstances ?? 0 } : null,
        ...(!want && have && unreadable.has(core.formatManifestID(have.manifestID)) ? { unreadable: true } : {}),
        actual: have ? { version: have.spec.Version ?? '', instances: have.spec.NumInstances ?? 0, status: have.status } : null,
        pending: pending.get(id)?.reason ?? null,
        last: last ? { status: last.status, resolution: last.resolution, message: last.message, failures: last.failures, at: last.at } : null,
        ...(raw?.AutoDeploy ? { autoDeploy: { range: raw.AutoDeploy, paused: raw.AutoDeployPaused ?? null } } : {}),
      };
    });
    for (const e of plan.errors) this.logToStderr(`Warning: ${e.message} [${e.code}]`);
    this.log(
      rows.length
        ? table(
            ['DEPLOYMENT', 'INTENDED', 'RUNNING', 'STATUS', 'LAST OUTCOME'],
            rows.map((r) => [
              r.deploymentID,
              r.intended ? `${r.intended.version || '-'} x${r.intended.instances}` : 'unreadable' in r ? '(unreadable)' : '(removed)',
              r.actual ? `${r.actual.version || '-'} x${r.actual.instances}` : '-',
              r.actual?.status ?? (r.pending ? 'Pending' : '-'),
              r.last ? `${r.last.resolution} ${r.last.at}${r.last.failures ? ` (${r.last.failures} failures)` : ''}` : '-',
            ]),
          ).trimEnd()
        : 'No deployments.',
    );
    for (const r of rows) {
      if (r.autoDeploy?.paused) this.log(`AutoDeploy paused on ${r.deploymentID}: ${r.autoDeploy.paused.Reason}${r.autoDeploy.paused.By ? ` (${r.autoDeploy.paused.By})` : ''}; sous autodeploy resume --cluster ${r.deploymentID.slice(0, r.deploymentID.indexOf(':'))} lifts it`);
    }
    return this.incomplete({ revision: plan.revision, deployments: rows, errors: plan.errors }, 'STATUS_INCOMPLETE', 'the status', plan.errors);
  }
}
