import type { DeployState, StoredView } from '@sous/core';
import type { SecretMount } from './secrets';
import { configHash, containerPorts, deploymentLabels, envList, imageReference, instanceEnv, LABELS, limits, readinessFor, shortHash, slug } from '@sous/plugin-scheduler-docker';
import type { SwarmSettings } from './options';

const NS = 1e9;

/** A swarm service as the Engine API describes it (the parts Sous reads). */
export interface ServiceSpec {
  Name: string;
  Labels: Record<string, string>;
  TaskTemplate: {
    ContainerSpec: {
      Image: string;
      Labels?: Record<string, string>;
      Env?: string[];
      Command?: string[];
      Args?: string[];
      Secrets?: SecretMount[];
      Healthcheck?: Record<string, unknown>;
      [k: string]: unknown;
    };
    ForceUpdate?: number;
    [k: string]: unknown;
  };
  Mode: { Replicated?: { Replicas: number } };
  UpdateConfig?: Record<string, unknown>;
  RollbackConfig?: Record<string, unknown>;
  EndpointSpec?: { Ports?: { TargetPort: number; PublishMode?: string; Protocol?: string }[] };
}

/** A DNS-label service name for a deployment, unique by a hash of its DeploymentID. */
export function serviceName(deploymentID: string): string {
  return `sous-${slug(deploymentID, 48)}-${shortHash(deploymentID, 8)}`;
}

/** Task labels: enough to tell which configuration a task was made from. */
function taskLabels(post: DeployState, config: string): Record<string, string> {
  return { [LABELS.deployment]: post.id, [LABELS.cluster]: post.cluster, [LABELS.version]: post.spec.Version ?? '', [LABELS.digest]: post.spec.Digest ?? '', [LABELS.config]: config };
}

/** The HEALTHCHECK tasks get, from the deployment's Startup settings and the cluster's healthcheck option. */
export function healthcheck(post: DeployState, s: SwarmSettings): Record<string, unknown> | undefined {
  const ports = containerPorts(post.spec, s.containerPort);
  const r = readinessFor(post.kind, post.spec.Startup, ports.length);
  if (s.healthcheck === 'image' || !r.http) return undefined;
  const url = `${r.protocol}://127.0.0.1:${ports[r.portIndex]}${r.path}`;
  const https = r.protocol === 'https';
  const test =
    s.healthcheck === 'wget'
      ? ['CMD', 'wget', '-q', '-O', '/dev/null', ...(https ? ['--no-check-certificate'] : []), url]
      : s.healthcheck === 'curl'
        ? ['CMD', 'curl', '-fsS', '-o', '/dev/null', ...(https ? ['-k'] : []), url]
        : ['CMD', ...s.healthcheck.map((a) => a.replace('{url}', url))];
  return {
    Test: test,
    Interval: Math.round(r.intervalMs * 1e6),
    Timeout: Math.round(r.uriTimeoutMs * 1e6),
    // Failures while starting do not count; the first success makes the task healthy (and running, to swarm).
    StartPeriod: Math.round((r.connectDelayMs + r.startupTimeoutMs) * 1e6),
    Retries: r.retries > 0 ? r.retries : 3,
  };
}

/**
 * The service for a deployment: replicas, env, limits, ports published in
 * host mode (ephemeral host ports, so replicas can share a node), start-first
 * rolling updates that roll back on a failed task, and Sous's labels.
 */
/** What a rollout prepares before it can write the service: the spec core lets it keep, secrets mounted, the command that exports them. */
export interface ServiceExtras {
  stored?: StoredView;
  secrets?: SecretMount[];
  command?: { Command: string[]; Args: string[] };
}

export function serviceSpec(post: DeployState, s: SwarmSettings, forceUpdate = 0, extras: ServiceExtras = {}): ServiceSpec {
  const config = configHash(post, false);
  const ports = containerPorts(post.spec, s.containerPort);
  const { nanoCpus, memoryBytes } = limits(post.spec);
  const hc = healthcheck(post, s);
  const update = { Parallelism: s.parallelism, Delay: 0, FailureAction: 'rollback', Monitor: Math.round(s.monitorSeconds * NS), MaxFailureRatio: 0, Order: 'start-first' };
  return {
    Name: serviceName(post.id),
    Labels: deploymentLabels(post, config, s.gdm, extras.stored),
    TaskTemplate: {
      ContainerSpec: {
        Image: imageReference(post, s.def, s.registries),
        Labels: taskLabels(post, config),
        Env: envList(instanceEnv(post.spec, ports, s.taskHost)),
        ...(extras.command ? extras.command : post.spec.Args?.length ? { Args: post.spec.Args } : {}),
        ...(extras.secrets?.length ? { Secrets: extras.secrets } : {}),
        Mounts: (post.spec.Volumes ?? []).map((v) => ({ Type: 'bind', Source: v.Host, Target: v.Container, ReadOnly: v.Mode === 'RO' })),
        StopSignal: 'SIGTERM',
        StopGracePeriod: Math.round(s.stopGraceSeconds * NS),
        Init: true,
        ...(hc ? { Healthcheck: hc } : {}),
      },
      Resources: { Limits: { ...(nanoCpus ? { NanoCPUs: nanoCpus } : {}), ...(memoryBytes ? { MemoryBytes: memoryBytes } : {}) } },
      RestartPolicy: { Condition: 'any', Delay: 1 * NS, MaxAttempts: 0 },
      ForceUpdate: forceUpdate,
    },
    Mode: { Replicated: { Replicas: post.spec.NumInstances ?? 0 } },
    UpdateConfig: update,
    RollbackConfig: { ...update, FailureAction: 'pause' },
    EndpointSpec: { Ports: ports.map((p) => ({ Protocol: 'tcp', TargetPort: p, PublishMode: 'host' })) },
  };
}

/** The configuration hash a service's tasks are made from. */
export function specConfig(spec: ServiceSpec): string {
  return spec.Labels[LABELS.config] ?? '';
}
