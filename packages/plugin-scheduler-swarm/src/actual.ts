import type { DeployState } from '@sous/core';
import { LABELS, stateFromLabels } from '@sous/plugin-scheduler-docker';
import { specConfig } from './spec';
import { taskConfig, type Service, type Task } from './swarm';

/** Digest of an image reference pinned by digest, else undefined. */
function digestOf(image: string): string | undefined {
  const m = /@(sha256:[a-f0-9]{64})$/.exec(image);
  return m?.[1];
}

/**
 * One deployment as its service shows it: the spec from the service's
 * labels, the replicas it asks for, and its status from the update state and
 * the tasks: Pending while an update runs or fewer tasks of its current
 * configuration run than asked for; Failed when an update or rollback paused.
 * The digest is the one the service really runs (someone may have changed it
 * by hand), so such a change shows up as a difference.
 */
export function serviceState(cluster: string, svc: Service, tasks: Task[], schedulerURL: string): DeployState | undefined {
  const labelled = stateFromLabels(svc.Spec.Labels);
  const id = svc.Spec.Labels[LABELS.deployment];
  if (!labelled || !id) return undefined;
  const replicas = svc.Spec.Mode.Replicated?.Replicas ?? 0;
  const config = specConfig(svc.Spec);
  const mine = tasks.filter((t) => t.ServiceID === svc.ID && t.DesiredState === 'running');
  const running = mine.filter((t) => t.Status.State === 'running' && taskConfig(t) === config);
  const others = mine.filter((t) => taskConfig(t) !== config);
  const us = svc.UpdateStatus?.State;
  let status: DeployState['status'] = 'Active';
  let message: string | undefined;
  if (us === 'paused' || us === 'rollback_paused') {
    status = 'Failed';
    message = svc.UpdateStatus?.Message ?? us;
  } else if (us === 'updating' || us === 'rollback_started') {
    status = 'Pending';
    message = svc.UpdateStatus?.Message ?? us;
  } else if (running.length < replicas || others.length) {
    status = 'Pending';
    message = `${running.length} of ${replicas} task(s) running${others.length ? `, ${others.length} of an earlier configuration` : ''}`;
  } else if (us === 'rollback_completed') {
    message = svc.UpdateStatus?.Message;
  }
  const spec = { ...labelled.spec, NumInstances: replicas };
  const runs = digestOf(svc.Spec.TaskTemplate.ContainerSpec.Image);
  if (runs && spec.Digest && runs !== spec.Digest) spec.Digest = runs;
  return {
    id,
    manifestID: labelled.manifestID,
    cluster,
    kind: labelled.kind,
    owners: labelled.owners,
    spec,
    ...(labelled.secrets ? { secrets: labelled.secrets } : {}),
    status,
    ...(message ? { message } : {}),
    schedulerURL,
    ref: { service: svc.ID, name: svc.Spec.Name },
  };
}
