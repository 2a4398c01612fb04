import { pickInstances, type Action, type ActionOutcome, type ApplyOptions, type DeployState, type Lease, type LogLine, type LogRequest, type Scheduler } from '@sous/core';
import { readEngineLogs } from './logs';
import { byDeployment, deploymentState } from './actual';
import { containerLogs, deploymentInstances, listInstances } from './containers';
import { Engine } from './engine';
import { checkKind } from './instance';
import { LABELS, ownedBy } from './labels';
import { ContainerLease } from './lease';
import type { ClusterSettings } from './options';
import { outcomeTimer, rolloutOutcome } from './outcome';
import { removeDeployment, Rollout } from './rollout';

/**
 * A cluster of kind docker: one Docker Engine. A deployment is
 * NumInstances containers labelled with its DeploymentID, configuration and
 * intended spec; actual state is read back from those labels alone.
 */
export class DockerScheduler implements Scheduler {
  readonly kind = 'docker';
  readonly engine: Engine;

  constructor(readonly settings: ClusterSettings) {
    this.engine = new Engine(settings.engine);
  }

  async actual(): Promise<DeployState[]> {
    const all = (await listInstances(this.engine, [`${LABELS.cluster}=${this.settings.cluster}`, LABELS.deployment])).filter((c) => ownedBy(c.labels, this.settings.gdm));
    const out: DeployState[] = [];
    for (const [id, containers] of byDeployment(all)) {
      const d = deploymentState(this.settings.cluster, id, containers, this.engine.address, { host: this.settings.probeHost, containerPort: this.settings.containerPort });
      if (d) out.push(d);
    }
    return out.sort((a, b) => a.id.localeCompare(b.id));
  }

  async apply(action: Action, opts: ApplyOptions): Promise<ActionOutcome> {
    const done = outcomeTimer(action);
    if (action.kind === 'report-removed') return done('Active', 'not deleted', action.reason);
    if (action.kind === 'delete') {
      const n = await removeDeployment(this.engine, this.settings, action.deploymentID);
      return done('Active', 'deleted', `${n} container(s) stopped and removed`);
    }
    const post = action.post!;
    checkKind(post, 'docker');
    const r = await new Rollout(this.engine, this.settings, post, opts, action.force === true).run();
    return rolloutOutcome(action, r, done);
  }

  lease(holder: string, ttlMs: number): Promise<Lease | undefined> {
    return ContainerLease.take(this.engine, this.settings.cluster, holder, ttlMs);
  }

  async *streamLogs(deploymentID: string, req: LogRequest): AsyncIterable<LogLine> {
    const all = await deploymentInstances(this.engine, this.settings.cluster, deploymentID);
    const chosen = pickInstances(all, deploymentID, req.instance);
    yield* readEngineLogs(this.engine, chosen.map((c) => ({ instance: c.name, path: `/containers/${c.id}/logs` })), req);
  }

  async logs(deploymentID: string, lines: number): Promise<string[]> {
    const all = await deploymentInstances(this.engine, this.settings.cluster, deploymentID, this.settings.gdm);
    const out: string[] = [];
    for (const c of all) for (const l of await containerLogs(this.engine, c.id, lines)) out.push(`${c.name}: ${l}`);
    return out;
  }
}
