import type { DeployState } from '@sous/core';
import type { Instance } from './containers';
import { stateFromLabels } from './labels';

const LIVE = new Set(['running', 'restarting', 'created', 'paused']);

/** Groups containers by deployment, each group in the order of `instances`. */
export function byDeployment(instances: Instance[]): Map<string, Instance[]> {
  const out = new Map<string, Instance[]>();
  for (const c of instances) {
    if (!c.deployment) continue;
    const group = out.get(c.deployment);
    if (group) group.push(c);
    else out.set(c.deployment, [c]);
  }
  return out;
}

/**
 * One deployment as its containers show it. The newest configuration's label
 * gives the spec; its live containers give the instance count. Anything else
 * left over (instances of another configuration, stopped or crashing ones)
 * means a rollout did not finish: Pending, so the rectifier finishes it.
 */
export function deploymentState(cluster: string, id: string, containers: Instance[], schedulerURL: string, where?: { host: string; containerPort: number }): DeployState | undefined {
  const newest = [...containers].sort((a, b) => b.created - a.created)[0];
  const labelled = stateFromLabels(newest.labels);
  if (!labelled) return undefined;
  const current = containers.filter((c) => c.config === newest.config);
  const live = current.filter((c) => LIVE.has(c.state));
  const running = current.filter((c) => c.state === 'running');
  const others = containers.filter((c) => c.config !== newest.config);
  let status: DeployState['status'] = 'Active';
  let message: string | undefined;
  if (live.length === 0) {
    status = 'Failed';
    message = `no instance runs (${newest.status})`;
  } else if (running.length === 0 && live.some((c) => c.state === 'restarting')) {
    status = 'Failed';
    message = `every instance is restarting (${live[0].status})`;
  } else if (others.length || running.length !== current.length) {
    status = 'Pending';
    const parts: string[] = [];
    if (others.length) parts.push(`${others.length} container(s) of an earlier configuration remain`);
    if (running.length !== current.length) parts.push(`${running.length} of ${current.length} container(s) running`);
    message = parts.join('; ');
  }
  return {
    id,
    manifestID: labelled.manifestID,
    cluster,
    kind: labelled.kind,
    owners: labelled.owners,
    spec: { ...labelled.spec, NumInstances: live.length },
    ...(labelled.secrets ? { secrets: labelled.secrets } : {}),
    status,
    ...(message ? { message } : {}),
    schedulerURL,
    ref: { containers: containers.map((c) => c.id.slice(0, 12)) },
    ...(where ? { endpoints: endpoints(running, where) } : {}),
  };
}

/** Where the running instances answer: PORT0 of each, as published on the host. */
function endpoints(running: Instance[], where: { host: string; containerPort: number }): string[] {
  return running.flatMap((c) => {
    const port = c.published.get(where.containerPort);
    return port ? [`http://${where.host.includes(':') ? `[${where.host}]` : where.host}:${port}/`] : [];
  });
}
