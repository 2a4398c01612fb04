import { isSousError, type EngineAuthConfig } from '@sous/core';
import { demuxLogs, LABELS, type Engine } from '@sous/plugin-scheduler-docker';
import type { ServiceSpec } from './spec';

/** A service as the Engine API returns it. */
export interface Service {
  ID: string;
  Version: { Index: number };
  CreatedAt: string;
  UpdatedAt: string;
  Spec: ServiceSpec;
  PreviousSpec?: ServiceSpec;
  UpdateStatus?: { State?: string; StartedAt?: string; CompletedAt?: string; Message?: string };
}

/** A task (one replica's attempt) as the Engine API returns it. */
export interface Task {
  ID: string;
  ServiceID: string;
  NodeID?: string;
  Slot?: number;
  CreatedAt: string;
  DesiredState: string;
  Spec: { ContainerSpec?: { Image?: string; Labels?: Record<string, string> } };
  Status: {
    Timestamp?: string;
    State: string;
    Message?: string;
    Err?: string;
    ContainerStatus?: { ContainerID?: string; ExitCode?: number };
    PortStatus?: { Ports?: { TargetPort: number; PublishedPort?: number; PublishMode?: string }[] };
  };
}

/** Task states past which a task never runs again. */
export const TERMINAL = new Set(['complete', 'shutdown', 'failed', 'rejected', 'remove', 'orphaned']);
export const FAILED = new Set(['failed', 'rejected']);

export function taskConfig(t: Task): string {
  return t.Spec.ContainerSpec?.Labels?.[LABELS.config] ?? '';
}

export async function findService(engine: Engine, nameOrId: string): Promise<Service | undefined> {
  return engine.find<Service>(`/services/${encodeURIComponent(nameOrId)}`, `inspecting service ${nameOrId}`);
}

export async function listServices(engine: Engine, cluster: string): Promise<Service[]> {
  return engine.call<Service[]>('GET', '/services', { query: { filters: { label: [`${LABELS.cluster}=${cluster}`] } }, doing: 'listing services' });
}

export async function listTasks(engine: Engine, filters: Record<string, string[]>): Promise<Task[]> {
  return engine.call<Task[]>('GET', '/tasks', { query: { filters }, doing: 'listing tasks' });
}

/** Creates a service; `authconfig` goes to swarm with it (X-Registry-Auth), so every node can pull the image, as `--with-registry-auth` does. */
export async function createService(engine: Engine, spec: ServiceSpec, authconfig?: EngineAuthConfig): Promise<string> {
  const r = await engine.call<{ ID: string }>('POST', '/services/create', { body: spec, authconfig, doing: `creating service ${spec.Name}` });
  return r.ID;
}

/** Updates a service at `version` (optimistic concurrency: a stale version fails); `rollback` asks swarm to go back to the previous spec. */
export async function updateService(engine: Engine, id: string, version: number, spec: ServiceSpec, rollback = false, authconfig?: EngineAuthConfig): Promise<void> {
  const auth = rollback || !authconfig ? { registryAuthFrom: rollback ? 'previous-spec' : 'spec' } : {};
  await engine.call('POST', `/services/${id}/update`, { query: { version, ...(rollback ? { rollback: 'previous' } : {}), ...auth }, body: spec, authconfig: rollback ? undefined : authconfig, doing: `${rollback ? 'rolling back' : 'updating'} service ${spec.Name}` });
}

export async function removeService(engine: Engine, id: string): Promise<void> {
  try {
    await engine.call('DELETE', `/services/${id}`, { doing: `removing service ${id}` });
  } catch (e) {
    if (isSousError(e) && e.details?.status === 404) return;
    throw e;
  }
}

/** The last log lines of one task (swarm keeps them while the task is in its history). */
export async function taskLogs(engine: Engine, taskID: string, lines: number): Promise<string[]> {
  try {
    const body = await engine.call<unknown>('GET', `/tasks/${taskID}/logs`, { query: { stdout: true, stderr: true, tail: lines }, doing: `reading the logs of task ${taskID}` });
    return demuxLogs(body).slice(-lines);
  } catch {
    return [];
  }
}

/** Node addresses by node ID, read once each. */
export class NodeAddresses {
  private readonly cache = new Map<string, string>();

  constructor(private readonly engine: Engine) {}

  async of(nodeID: string | undefined): Promise<string> {
    const fallback = this.engine.target.remoteHost ?? '127.0.0.1';
    if (!nodeID) return fallback;
    const have = this.cache.get(nodeID);
    if (have) return have;
    const n = await this.engine.find<{ Status?: { Addr?: string } }>(`/nodes/${nodeID}`, 'inspecting a node');
    const addr = n?.Status?.Addr && n.Status.Addr !== '0.0.0.0' ? n.Status.Addr : fallback;
    this.cache.set(nodeID, addr);
    return addr;
  }
}
