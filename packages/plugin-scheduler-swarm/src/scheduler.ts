import { pickInstances, type Action, type ActionOutcome, type ApplyOptions, type DeployState, type Lease, type LogLine, type LogRequest, type Scheduler } from '@sous/core';
import { checkKind, Engine, outcomeTimer, ownedBy, readEngineLogs, rolloutOutcome } from '@sous/plugin-scheduler-docker';
import { serviceState } from './actual';
import { ConfigLease } from './lease';
import type { SwarmSettings } from './options';
import { removeDeploymentService, SwarmRollout } from './rollout';
import { serviceName } from './spec';
import { removeStaleSecrets } from './secrets';
import { listServices, listTasks, NodeAddresses, taskLogs } from './swarm';

/**
 * A cluster of kind swarm: a Swarm manager. A deployment is one service;
 * actual state comes from the services Sous labelled and their tasks.
 */
export class SwarmScheduler implements Scheduler {
  readonly kind = 'swarm';
  readonly engine: Engine;
  private readonly nodes: NodeAddresses;

  constructor(readonly settings: SwarmSettings) {
    this.engine = new Engine(settings.engine);
    this.nodes = new NodeAddresses(this.engine);
  }

  async actual(): Promise<DeployState[]> {
    const services = (await listServices(this.engine, this.settings.cluster)).filter((s) => ownedBy(s.Spec.Labels, this.settings.gdm));
    if (!services.length) return [];
    const tasks = await listTasks(this.engine, { 'desired-state': ['running'] });
    const out: DeployState[] = [];
    for (const svc of services) {
      const d = serviceState(this.settings.cluster, svc, tasks, this.engine.address);
      if (d) out.push(d);
    }
    return out.sort((a, b) => a.id.localeCompare(b.id));
  }

  async apply(action: Action, opts: ApplyOptions): Promise<ActionOutcome> {
    const done = outcomeTimer(action);
    if (action.kind === 'report-removed') return done('Active', 'not deleted', action.reason);
    if (action.kind === 'delete') {
      const had = await removeDeploymentService(this.engine, serviceName(action.deploymentID), Date.now() + opts.timeoutMs, this.settings);
      await removeStaleSecrets(this.engine, action.deploymentID, this.settings.gdm, new Set());
      return done('Active', 'deleted', had ? 'service removed' : 'no service was left');
    }
    const post = action.post!;
    checkKind(post, 'swarm');
    const r = await new SwarmRollout(this.engine, this.settings, this.nodes, post, opts, action.force === true).run();
    return rolloutOutcome(action, r, done);
  }

  lease(holder: string, ttlMs: number): Promise<Lease | undefined> {
    return ConfigLease.take(this.engine, this.settings.cluster, holder, ttlMs);
  }

  async *streamLogs(deploymentID: string, req: LogRequest): AsyncIterable<LogLine> {
    const service = serviceName(deploymentID);
    const tasks = await listTasks(this.engine, { service: [service], 'desired-state': ['running'] });
    const named = tasks.map((t) => ({ name: `${service}.${t.Slot ?? 0}.${t.ID.slice(0, 12)}`, id: t.ID, slot: t.Slot ?? 0 })).sort((a, b) => a.slot - b.slot || a.id.localeCompare(b.id));
    const chosen = pickInstances(named, deploymentID, req.instance);
    yield* readEngineLogs(this.engine, chosen.map((t) => ({ instance: t.name, path: `/tasks/${t.id}/logs` })), req);
  }

  async logs(deploymentID: string, lines: number): Promise<string[]> {
    const tasks = await listTasks(this.engine, { service: [serviceName(deploymentID)], 'desired-state': ['running'] }).catch(() => []);
    const out: string[] = [];
    for (const t of tasks) for (const l of await taskLogs(this.engine, t.ID, lines)) out.push(`${t.ID.slice(0, 12)}: ${l}`);
    return out;
  }
}
