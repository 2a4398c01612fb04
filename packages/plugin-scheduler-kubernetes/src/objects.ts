import { formatManifestID, intentHash, pinnedImage, usageError, type DeploySpec, type DeployState, type Manifest, type Startup } from '@sous/core';
import type { V1Container, V1CronJob, V1Deployment, V1EnvVar, V1ObjectMeta, V1PodSpec, V1Probe, V1ResourceRequirements, V1Service } from '@kubernetes/client-node';
import { ANNOTATIONS, deploymentHash, LABELS, labelValue, MANAGED_BY, objectName } from './names';

/** What Kubernetes object runs a kind of deployment. */
export type Workload = 'Deployment' | 'CronJob';

/** Services and workers run as Deployments; scheduled kinds as CronJobs (on-demand ones suspended, run by hand). */
export function workloadOf(kind: Manifest['Kind']): Workload {
  if (kind === 'http-service' || kind === 'worker') return 'Deployment';
  if (kind === 'scheduled' || kind === 'scheduled-job' || kind === 'on-demand') return 'CronJob';
  throw usageError('KUBERNETES_UNSUPPORTED_KIND', `kind ${JSON.stringify(kind)} has no Kubernetes counterpart in Sous yet`, {
    hints: ['Run it as a scheduled-job with a schedule, or deploy it to a Singularity cluster'],
  });
}

/** A cron schedule that never fires (February 31st), for on-demand CronJobs that are only ever run by hand. */
export const NEVER = '0 0 31 2 *';

export interface BuildContext {
  namespace: string;
  /** registry/name@sha256:... */
  image: string;
  basePort: number;
}

/** The image a deployment runs: the application's image in the cluster's registry, pinned by digest. */
export const imageFor = (s: DeployState, registry: string | undefined): string => pinnedImage(s, registry, { code: 'KUBERNETES', factory: 'kubernetesScheduler' });

export function portCount(spec: DeploySpec): number {
  return Math.max(0, Math.trunc(Number(spec.Resources?.ports ?? 1)) || 0);
}

/** cpus "0.5" → "500m"; memory "256" (MB) → "256Mi"; the same for requests and limits. */
export function resourcesFor(spec: DeploySpec): V1ResourceRequirements {
  const r = spec.Resources ?? {};
  const cpu = `${Math.max(1, Math.round(Number(r.cpus ?? 0.1) * 1000))}m`;
  const memory = `${Math.max(1, Math.round(Number(r.memory ?? 100)))}Mi`;
  return { requests: { cpu, memory }, limits: { cpu, memory } };
}

/** The spec's env (sorted), then PORT0..n and PORT as Singularity gave them, unless the spec sets them. */
export function envFor(spec: DeploySpec, basePort: number): V1EnvVar[] {
  const env: Record<string, string> = { ...(spec.Env ?? {}) };
  const out: V1EnvVar[] = Object.keys(env).sort().map((name) => ({ name, value: String(env[name]) }));
  for (const [name, value] of Object.entries(generatedEnv(spec, basePort))) if (!(name in env)) out.push({ name, value });
  return out;
}

/** The generated env vars (PORT0..n, then PORT), to tell them from the spec's own when reading back. */
export function generatedEnv(spec: DeploySpec, basePort: number): Record<string, string> {
  const n = portCount(spec);
  const out: Record<string, string> = {};
  for (let i = 0; i < n; i++) out[`PORT${i}`] = String(basePort + i);
  if (n > 0) out.PORT = String(basePort);
  return out;
}

function positive(n: number | undefined): number | undefined {
  return n && n > 0 ? n : undefined;
}

/** Startup → a readiness probe (httpGet on the checked port); none when checks are skipped or there is no port. */
export function probeFor(st: Startup | undefined, ports: number): V1Probe | undefined {
  if (!st || st.SkipCheck || ports === 0) return undefined;
  const index = Math.min(st.CheckReadyPortIndex ?? 0, ports - 1);
  const probe: V1Probe = {
    httpGet: { path: st.CheckReadyURIPath || '/health', port: `port${index}`, scheme: (st.CheckReadyProtocol || 'HTTP').toUpperCase() },
    initialDelaySeconds: positive(st.ConnectDelay),
    periodSeconds: positive(st.CheckReadyInterval),
    timeoutSeconds: positive(st.CheckReadyURITimeout),
    failureThreshold: positive(st.CheckReadyRetries),
  };
  return JSON.parse(JSON.stringify(probe)) as V1Probe;
}

/** How long a rollout may go without progress before Kubernetes calls it failed: the startup delay plus timeout, when given. */
export function progressDeadlineFor(st: Startup | undefined): number | undefined {
  if (!st?.Timeout) return undefined;
  return (st.ConnectDelay ?? 0) + st.Timeout;
}

function labels(s: DeployState): Record<string, string> {
  const segments = s.manifestID.source.repo.split('/');
  return {
    [LABELS.managedBy]: MANAGED_BY,
    [LABELS.name]: labelValue(segments[segments.length - 1]),
    [LABELS.version]: labelValue(s.spec.Version ?? ''),
    [LABELS.cluster]: labelValue(s.cluster),
    [LABELS.deployment]: deploymentHash(s.id),
  };
}

/** The annotations that carry the deployment's identity and intended spec. */
export function annotationsFor(s: DeployState): Record<string, string> {
  return {
    [ANNOTATIONS.deploymentID]: s.id,
    [ANNOTATIONS.manifestID]: formatManifestID(s.manifestID),
    [ANNOTATIONS.cluster]: s.cluster,
    [ANNOTATIONS.kind]: s.kind,
    [ANNOTATIONS.owners]: JSON.stringify([...s.owners].sort()),
    [ANNOTATIONS.version]: s.spec.Version ?? '',
    [ANNOTATIONS.digest]: s.spec.Digest ?? '',
    [ANNOTATIONS.intent]: intentHash(s),
    [ANNOTATIONS.spec]: JSON.stringify(s.spec),
  };
}

function meta(s: DeployState, ctx: BuildContext): V1ObjectMeta {
  return { name: objectName(s.manifestID, s.id), namespace: ctx.namespace, labels: labels(s), annotations: annotationsFor(s) };
}

function container(s: DeployState, ctx: BuildContext, probe: boolean): V1Container {
  const spec = s.spec;
  const n = portCount(spec);
  const c: V1Container = {
    name: 'app',
    image: ctx.image,
    env: envFor(spec, ctx.basePort),
    resources: resourcesFor(spec),
  };
  if (spec.Args?.length) c.args = [...spec.Args];
  if (n > 0) c.ports = Array.from({ length: n }, (_, i) => ({ name: `port${i}`, containerPort: ctx.basePort + i, protocol: 'TCP' }));
  const p = probe ? probeFor(spec.Startup, n) : undefined;
  if (p) c.readinessProbe = p;
  if (spec.Volumes?.length) c.volumeMounts = spec.Volumes.map((v, i) => ({ name: `vol${i}`, mountPath: v.Container, readOnly: v.Mode === 'RO' }));
  return c;
}

function podSpec(s: DeployState, ctx: BuildContext, job: boolean): V1PodSpec {
  const pod: V1PodSpec = { containers: [container(s, ctx, !job)] };
  if (job) pod.restartPolicy = 'OnFailure';
  if (s.spec.Volumes?.length) pod.volumes = s.spec.Volumes.map((v, i) => ({ name: `vol${i}`, hostPath: { path: v.Host } }));
  return pod;
}

/** The Deployment for a service or worker: a rolling update that never drops below the intended count. */
export function desiredDeployment(s: DeployState, ctx: BuildContext): V1Deployment {
  const m = meta(s, ctx);
  const selector = { [LABELS.deployment]: deploymentHash(s.id) };
  const d: V1Deployment = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: m,
    spec: {
      replicas: s.spec.NumInstances ?? 0,
      selector: { matchLabels: selector },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
      template: { metadata: { labels: { ...m.labels! } }, spec: podSpec(s, ctx, false) },
    },
  };
  const deadline = progressDeadlineFor(s.spec.Startup);
  if (deadline) d.spec!.progressDeadlineSeconds = deadline;
  return d;
}

/** The Service in front of an http-service's pods: one port per PORTn. */
export function desiredService(s: DeployState, ctx: BuildContext): V1Service | undefined {
  const n = portCount(s.spec);
  if (s.kind !== 'http-service' || n === 0) return undefined;
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: meta(s, ctx),
    spec: {
      type: 'ClusterIP',
      selector: { [LABELS.deployment]: deploymentHash(s.id) },
      ports: Array.from({ length: n }, (_, i) => ({ name: `port${i}`, port: ctx.basePort + i, targetPort: `port${i}`, protocol: 'TCP' })),
    },
  };
}

/** The CronJob for a scheduled kind: NumInstances pods a run; none (suspended) at zero, and always for on-demand. */
export function desiredCronJob(s: DeployState, ctx: BuildContext): V1CronJob {
  const m = meta(s, ctx);
  const n = s.spec.NumInstances ?? 0;
  return {
    apiVersion: 'batch/v1',
    kind: 'CronJob',
    metadata: m,
    spec: {
      schedule: s.kind === 'on-demand' ? s.spec.Schedule || NEVER : s.spec.Schedule ?? '',
      suspend: s.kind === 'on-demand' || n === 0,
      concurrencyPolicy: 'Forbid',
      jobTemplate: {
        metadata: { labels: { ...m.labels! } },
        spec: { parallelism: Math.max(1, n), completions: Math.max(1, n), template: { metadata: { labels: { ...m.labels! } }, spec: podSpec(s, ctx, true) } },
      },
    },
  };
}
