import { formatManifestID, intentHash, pinnedImage, usageError, type DeploySpec, type DeployState, type Manifest, type RegistryConfig, type Startup, type StoredView } from '@sous/core';
import type {
  V1Container,
  V1CronJob,
  V1Deployment,
  V1EnvVar,
  V1Ingress,
  V1ObjectMeta,
  V1PodSpec,
  V1Probe,
  V1OwnerReference,
  V1ResourceRequirements,
  V1Secret,
  V1Service,
  V1ServiceAccount,
} from '@kubernetes/client-node';
import { ANNOTATIONS, appName, deploymentHash, LABELS, labelValue, MANAGED_BY, objectName, RESTARTED_AT, SECRETS_HASH, secretsHash } from './names';

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

/** The stacks whose images run as a numeric non-root user and write only to /tmp: their pods get the restricted security context. */
export const HARDENED_STACKS: ReadonlySet<string> = new Set(['node', 'go', 'java']);

export interface BuildContext {
  namespace: string;
  /** registry/name@sha256:... */
  image: string;
  basePort: number;
  /** The Service's name (guessable, or the workload's own when that was taken). */
  serviceName: string;
  /** imagePullSecrets for the pod, when the registry needs credentials. */
  pullSecret?: string;
  /** The restart stamp to keep on the pod template (a forced redeploy sets a new one). */
  restartedAt?: string;
  /** Run every pod with the restricted security context, whatever its stack. */
  restricted?: boolean;
  /**
   * What core lets the scheduler keep of the deployment where it can be read
   * back (the spec with Env values as keyed hashes, the secrets' keyed hashes,
   * the intent): the annotations hold this, never values. Without it (the
   * scheduler driven directly), the spec annotation keeps Env names only.
   */
  stored?: StoredView;
  /** The Secret the pod's secret variables come from (secretKeyRef), when the spec has Secrets. */
  secretName?: string;
}

/** The image a deployment runs: the application's image in the cluster's registry, pinned by digest. */
export const imageFor = (s: DeployState, registry: string | undefined, config?: RegistryConfig): string => pinnedImage(s, registry, { code: 'KUBERNETES', factory: 'kubernetesScheduler' }, config);

export function portCount(spec: DeploySpec): number {
  return Math.max(0, Math.trunc(Number(spec.Resources?.ports ?? 1)) || 0);
}

function bad(what: string, value: string | undefined, why: string) {
  return usageError('KUBERNETES_BAD_RESOURCES', `Resources ${what} ${JSON.stringify(value)} ${why}`, {
    hints: ['cpus and cpusLimit are cores ("0.5"), memory and memoryLimit megabytes ("256"); a limit is at least its request, "0" for none'],
    details: { field: `Resources.${what}` },
  });
}

function number(r: Record<string, string>, key: string, def: number | undefined): number | undefined {
  const v = r[key];
  if (v === undefined || v === '') return def;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw bad(key, v, 'is not a non-negative number');
  return n;
}

const cpuQ = (n: number) => `${Math.max(1, Math.round(n * 1000))}m`;
const memQ = (n: number) => `${Math.max(1, Math.round(n))}Mi`;

/**
 * Requests from `cpus` (cores: "0.5" → 500m) and `memory` (MB → Mi);
 * limits from `cpusLimit` and `memoryLimit`, each the request when unset
 * and none at "0". A limit below its request is refused here, as the API
 * server would refuse it.
 */
export function resourcesFor(spec: DeploySpec): V1ResourceRequirements {
  const r = spec.Resources ?? {};
  const cpu = number(r, 'cpus', 0.1)!;
  const mem = number(r, 'memory', 100)!;
  const cpuLimit = number(r, 'cpusLimit', cpu)!;
  const memLimit = number(r, 'memoryLimit', mem)!;
  if (cpuLimit > 0 && cpuLimit < cpu) throw bad('cpusLimit', r.cpusLimit, `is below the cpus request (${cpu})`);
  if (memLimit > 0 && memLimit < mem) throw bad('memoryLimit', r.memoryLimit, `is below the memory request (${mem})`);
  const limits: Record<string, string> = {};
  if (cpuLimit > 0) limits.cpu = cpuQ(cpuLimit);
  if (memLimit > 0) limits.memory = memQ(memLimit);
  return { requests: { cpu: cpuQ(cpu), memory: memQ(mem) }, ...(Object.keys(limits).length ? { limits } : {}) };
}

/**
 * The spec's env (sorted), its secrets as references to the deployment's
 * Secret (`valueFrom.secretKeyRef`, never a value), then PORT0..n and PORT as
 * Singularity gave them, unless the spec sets them.
 */
export function envFor(spec: DeploySpec, basePort: number, secretName?: string): V1EnvVar[] {
  const env: Record<string, string> = { ...(spec.Env ?? {}) };
  const out: V1EnvVar[] = Object.keys(env)
    .sort()
    .map((name) => ({ name, value: String(env[name]) }));
  const secrets = Object.keys(spec.Secrets ?? {}).sort();
  if (secrets.length && secretName) for (const name of secrets) out.push({ name, valueFrom: { secretKeyRef: { name: secretName, key: name } } });
  for (const [name, value] of Object.entries(generatedEnv(spec, basePort))) if (!(name in env) && !secrets.includes(name)) out.push({ name, value });
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

const clean = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

/** The three probes a pod gets from its Startup settings. */
export interface Probes {
  startupProbe?: V1Probe;
  readinessProbe?: V1Probe;
  livenessProbe?: V1Probe;
}

/**
 * Startup → probes on the checked port's `CheckReadyURIPath`:
 * - startupProbe: waits `ConnectDelay`, then checks every `ConnectInterval`
 *   (else `CheckReadyInterval`) for up to `Timeout` seconds, so a slow
 *   start is neither killed nor sent traffic;
 * - readinessProbe and livenessProbe, once started: every
 *   `CheckReadyInterval`, `CheckReadyURITimeout` each, failing after
 *   `CheckReadyRetries` misses (out of the Service, then restarted).
 * None with `SkipCheck`, or without a port. Kubernetes counts any status
 * from 200 to 399 as healthy: `CheckReadyFailureStatuses` has no counterpart.
 */
export function probesFor(st: Startup | undefined, ports: number): Probes {
  if (!st || st.SkipCheck || ports === 0) return {};
  const index = Math.min(st.CheckReadyPortIndex ?? 0, ports - 1);
  const httpGet = { path: st.CheckReadyURIPath || '/health', port: `port${index}`, scheme: (st.CheckReadyProtocol || 'HTTP').toUpperCase() };
  const period = positive(st.CheckReadyInterval);
  const every = positive(st.ConnectInterval) ?? period ?? 10;
  const startup: V1Probe = {
    httpGet,
    initialDelaySeconds: positive(st.ConnectDelay),
    periodSeconds: every,
    timeoutSeconds: positive(st.CheckReadyURITimeout),
    failureThreshold: st.Timeout ? Math.max(1, Math.ceil(st.Timeout / every)) : positive(st.CheckReadyRetries),
  };
  const steady: V1Probe = { httpGet, periodSeconds: period, timeoutSeconds: positive(st.CheckReadyURITimeout), failureThreshold: positive(st.CheckReadyRetries) };
  return clean({ startupProbe: startup, readinessProbe: steady, livenessProbe: steady });
}

/** How long a rollout may go without progress before Kubernetes calls it failed: the startup delay plus timeout, when given. */
export function progressDeadlineFor(st: Startup | undefined): number | undefined {
  if (!st?.Timeout) return undefined;
  return (st.ConnectDelay ?? 0) + st.Timeout;
}

const COMPONENT: Record<string, string> = { 'http-service': 'server', worker: 'worker' };

/** The labels on every object of a deployment: app.kubernetes.io/* as kubectl and dashboards read them, and Sous's own. */
export function labelsFor(s: DeployState): Record<string, string> {
  const out: Record<string, string> = {
    [LABELS.name]: labelValue(appName(s.manifestID)),
    [LABELS.instance]: objectName(s.manifestID, s.id),
    [LABELS.managedBy]: MANAGED_BY,
    [LABELS.component]: COMPONENT[s.kind] ?? 'job',
    [LABELS.cluster]: labelValue(s.cluster),
    [LABELS.deployment]: deploymentHash(s.id),
  };
  if (s.spec.Version) out[LABELS.version] = labelValue(s.spec.Version);
  return out;
}

/**
 * The intended spec as the annotation keeps it: everything but the Env
 * values (the pod template carries those; an annotation is read by more
 * eyes than the pod spec), whose names are kept in `EnvNames`.
 */
export function annotatedSpec(spec: DeploySpec): string {
  const { Env, ...rest } = spec;
  return JSON.stringify({ ...rest, EnvNames: Object.keys(Env ?? {}).sort() });
}

/** The secrets' keyed hashes of a deployment, by variable: core's stored view, else what the intended state carries. */
export function secretHashes(s: DeployState, stored: StoredView | undefined): Record<string, string> | undefined {
  const h = stored?.secrets ?? s.secrets;
  return h && Object.keys(h).length ? h : undefined;
}

/**
 * The annotations that carry the deployment's identity and intended spec.
 * With core's stored view, the spec is kept as it seals it (Env values as
 * keyed hashes, Secrets as references) and the secrets as keyed hashes; no
 * annotation ever holds a value.
 */
export function annotationsFor(s: DeployState, stored?: StoredView): Record<string, string> {
  const out: Record<string, string> = {
    [ANNOTATIONS.deploymentID]: s.id,
    [ANNOTATIONS.manifestID]: formatManifestID(s.manifestID),
    [ANNOTATIONS.cluster]: s.cluster,
    [ANNOTATIONS.kind]: s.kind,
    [ANNOTATIONS.owners]: JSON.stringify([...s.owners].sort()),
    [ANNOTATIONS.version]: s.spec.Version ?? '',
    [ANNOTATIONS.digest]: s.spec.Digest ?? '',
    [ANNOTATIONS.intent]: stored?.intent ?? intentHash(s),
    [ANNOTATIONS.spec]: stored ? JSON.stringify(stored.spec) : annotatedSpec(s.spec),
  };
  const hashes = secretHashes(s, stored);
  if (hashes) out[ANNOTATIONS.secrets] = JSON.stringify(hashes);
  return out;
}

/** The metadata of a deployment's companion objects (Service, ServiceAccount, route): who they belong to, no spec. */
function ownMeta(s: DeployState, ctx: BuildContext, name: string): V1ObjectMeta {
  return { name, namespace: ctx.namespace, labels: labelsFor(s), annotations: { [ANNOTATIONS.deploymentID]: s.id, [ANNOTATIONS.cluster]: s.cluster } };
}

/** Whether the deployment's pods get the restricted security context (non-root, read-only root, no capabilities). */
export function hardened(s: DeployState, ctx: Pick<BuildContext, 'restricted'>): boolean {
  return Boolean(ctx.restricted) || HARDENED_STACKS.has(s.spec.Stack ?? '');
}

function container(s: DeployState, ctx: BuildContext, probes: boolean): V1Container {
  const spec = s.spec;
  const n = portCount(spec);
  const strict = hardened(s, ctx);
  const c: V1Container = {
    name: 'app',
    image: ctx.image,
    env: envFor(spec, ctx.basePort, ctx.secretName),
    resources: resourcesFor(spec),
    securityContext: strict
      ? { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsNonRoot: true, capabilities: { drop: ['ALL'] } }
      : { allowPrivilegeEscalation: false },
  };
  if (spec.Args?.length) c.args = [...spec.Args];
  if (n > 0) c.ports = Array.from({ length: n }, (_, i) => ({ name: `port${i}`, containerPort: ctx.basePort + i, protocol: 'TCP' }));
  if (probes) Object.assign(c, probesFor(spec.Startup, n));
  const mounts = (spec.Volumes ?? []).map((v, i) => ({ name: `vol${i}`, mountPath: v.Container, readOnly: v.Mode === 'RO' }));
  // A read-only root still needs somewhere to write temporary files.
  if (strict && !mounts.some((m) => m.mountPath === '/tmp')) mounts.push({ name: 'tmp', mountPath: '/tmp', readOnly: false });
  if (mounts.length) c.volumeMounts = mounts;
  return c;
}

function podSpec(s: DeployState, ctx: BuildContext, job: boolean): V1PodSpec {
  const name = objectName(s.manifestID, s.id);
  const pod: V1PodSpec = {
    serviceAccountName: name,
    automountServiceAccountToken: false,
    securityContext: { seccompProfile: { type: 'RuntimeDefault' } },
    containers: [container(s, ctx, !job)],
  };
  if (ctx.pullSecret) pod.imagePullSecrets = [{ name: ctx.pullSecret }];
  if (job) pod.restartPolicy = 'OnFailure';
  const volumes: NonNullable<V1PodSpec['volumes']> = (s.spec.Volumes ?? []).map((v, i) => ({ name: `vol${i}`, hostPath: { path: v.Host } }));
  if (pod.containers[0].volumeMounts?.some((m) => m.name === 'tmp')) volumes.push({ name: 'tmp', emptyDir: {} });
  if (volumes.length) pod.volumes = volumes;
  return pod;
}

function templateMeta(s: DeployState, ctx: BuildContext): V1ObjectMeta {
  const m: V1ObjectMeta = { labels: labelsFor(s) };
  const annotations: Record<string, string> = {};
  if (ctx.restartedAt) annotations[RESTARTED_AT] = ctx.restartedAt;
  // Pods read a Secret's values when they start: a rotated value must change the template, or nothing would roll.
  const hashes = ctx.secretName ? secretHashes(s, ctx.stored) : undefined;
  if (hashes) annotations[SECRETS_HASH] = secretsHash(hashes);
  if (Object.keys(annotations).length) m.annotations = annotations;
  return m;
}

/**
 * The Deployment for a service or worker: a rolling update that never
 * drops below the intended count, so the running version keeps serving
 * until the new one is ready. `replicas` is Sous's only when the spec is
 * not Autoscaled (then a HorizontalPodAutoscaler owns it).
 */
export function desiredDeployment(s: DeployState, ctx: BuildContext): V1Deployment {
  const name = objectName(s.manifestID, s.id);
  const annotations = annotationsFor(s, ctx.stored);
  if (s.kind === 'http-service' && portCount(s.spec) > 0) annotations[ANNOTATIONS.service] = ctx.serviceName;
  const route = routeKind(s);
  if (route) annotations[ANNOTATIONS.route] = route;
  const d: V1Deployment = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: ctx.namespace, labels: labelsFor(s), annotations },
    spec: {
      selector: { matchLabels: { [LABELS.deployment]: deploymentHash(s.id) } },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
      template: { metadata: templateMeta(s, ctx), spec: podSpec(s, ctx, false) },
    },
  };
  if (!s.spec.Autoscaled) d.spec!.replicas = s.spec.NumInstances ?? 0;
  const deadline = progressDeadlineFor(s.spec.Startup);
  if (deadline) d.spec!.progressDeadlineSeconds = deadline;
  return d;
}

/** The Service in front of an http-service's pods: one port per PORTn, under its guessable name. */
export function desiredService(s: DeployState, ctx: BuildContext): V1Service | undefined {
  const n = portCount(s.spec);
  if (s.kind !== 'http-service' || n === 0) return undefined;
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: ownMeta(s, ctx, ctx.serviceName),
    spec: {
      type: 'ClusterIP',
      selector: { [LABELS.deployment]: deploymentHash(s.id) },
      ports: Array.from({ length: n }, (_, i) => ({ name: `port${i}`, port: ctx.basePort + i, targetPort: `port${i}`, protocol: 'TCP' })),
    },
  };
}

/** The deployment's own ServiceAccount: pods run as it, with no API token mounted (they need none from Sous). */
export function desiredServiceAccount(s: DeployState, ctx: BuildContext): V1ServiceAccount {
  return { apiVersion: 'v1', kind: 'ServiceAccount', metadata: ownMeta(s, ctx, objectName(s.manifestID, s.id)), automountServiceAccountToken: false };
}

/** Which route object the spec asks for: an HTTPRoute when it names a Gateway, else an Ingress; none without a Route. */
export function routeKind(s: DeployState): 'Ingress' | 'HTTPRoute' | undefined {
  if (!s.spec.Route || s.kind !== 'http-service' || portCount(s.spec) === 0) return undefined;
  return s.spec.Route.Gateway ? 'HTTPRoute' : 'Ingress';
}

function routePort(s: DeployState): number {
  return Math.min(s.spec.Route?.PortIndex ?? 0, portCount(s.spec) - 1);
}

/** An Ingress (networking.k8s.io/v1) to the Service: the Route's hosts and path prefix, its class and TLS secret. */
export function desiredIngress(s: DeployState, ctx: BuildContext): V1Ingress | undefined {
  const r = s.spec.Route;
  if (!r || routeKind(s) !== 'Ingress') return undefined;
  const path = r.Path || '/';
  const ing: V1Ingress = {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: ownMeta(s, ctx, ctx.serviceName),
    spec: {
      rules: r.Hosts.map((host) => ({ host, http: { paths: [{ path, pathType: 'Prefix', backend: { service: { name: ctx.serviceName, port: { name: `port${routePort(s)}` } } } }] } })),
    },
  };
  if (r.Class) ing.spec!.ingressClassName = r.Class;
  if (r.TLSSecret) ing.spec!.tls = [{ hosts: [...r.Hosts], secretName: r.TLSSecret }];
  return ing;
}

/** A Gateway API HTTPRoute (gateway.networking.k8s.io/v1) attached to the Route's Gateway (`name` or `namespace/name`). */
export interface HTTPRoute {
  apiVersion: 'gateway.networking.k8s.io/v1';
  kind: 'HTTPRoute';
  metadata: V1ObjectMeta;
  spec: {
    parentRefs: { name: string; namespace?: string }[];
    hostnames: string[];
    rules: { matches: { path: { type: 'PathPrefix'; value: string } }[]; backendRefs: { name: string; port: number }[] }[];
  };
}

export function desiredHTTPRoute(s: DeployState, ctx: BuildContext): HTTPRoute | undefined {
  const r = s.spec.Route;
  if (!r?.Gateway || routeKind(s) !== 'HTTPRoute') return undefined;
  const [ns, gw] = r.Gateway.includes('/') ? r.Gateway.split('/', 2) : [undefined, r.Gateway];
  return {
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'HTTPRoute',
    metadata: ownMeta(s, ctx, ctx.serviceName),
    spec: {
      parentRefs: [{ name: gw, ...(ns ? { namespace: ns } : {}) }],
      hostnames: [...r.Hosts],
      rules: [{ matches: [{ path: { type: 'PathPrefix', value: r.Path || '/' } }], backendRefs: [{ name: ctx.serviceName, port: ctx.basePort + routePort(s) }] }],
    },
  };
}

/** The CronJob for a scheduled kind: NumInstances pods a run; none (suspended) at zero, and always for on-demand. */
export function desiredCronJob(s: DeployState, ctx: BuildContext): V1CronJob {
  const name = objectName(s.manifestID, s.id);
  const n = s.spec.NumInstances ?? 0;
  return {
    apiVersion: 'batch/v1',
    kind: 'CronJob',
    metadata: { name, namespace: ctx.namespace, labels: labelsFor(s), annotations: annotationsFor(s, ctx.stored) },
    spec: {
      schedule: s.kind === 'on-demand' ? s.spec.Schedule || NEVER : (s.spec.Schedule ?? ''),
      suspend: s.kind === 'on-demand' || n === 0,
      concurrencyPolicy: 'Forbid',
      jobTemplate: {
        metadata: { labels: labelsFor(s) },
        spec: { parallelism: Math.max(1, n), completions: Math.max(1, n), template: { metadata: templateMeta(s, ctx), spec: podSpec(s, ctx, true) } },
      },
    },
  };
}

/** The workload a Secret belongs to: deleting it deletes the Secret (the garbage collector follows ownerReferences). */
export interface Owner {
  kind: Workload;
  name: string;
  uid: string;
}

/**
 * The Secret holding a deployment's secret values (type Opaque, one key per
 * variable), owned by its Deployment or CronJob once that exists. Its
 * annotations carry the keyed hashes, never the values: the values live in
 * `data` alone, where Kubernetes keeps secrets.
 */
export function desiredSecret(s: DeployState, ctx: BuildContext, values: Readonly<Record<string, string>>, owner: Owner | undefined): V1Secret {
  const names = Object.keys(s.spec.Secrets ?? {}).sort();
  const hashes = secretHashes(s, ctx.stored) ?? {};
  const ownerReferences: V1OwnerReference[] | undefined = owner ? [{ apiVersion: owner.kind === 'CronJob' ? 'batch/v1' : 'apps/v1', kind: owner.kind, name: owner.name, uid: owner.uid }] : undefined;
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'Opaque',
    metadata: {
      name: ctx.secretName!,
      namespace: ctx.namespace,
      labels: labelsFor(s),
      annotations: { [ANNOTATIONS.deploymentID]: s.id, [ANNOTATIONS.cluster]: s.cluster, [ANNOTATIONS.secrets]: JSON.stringify(Object.fromEntries(names.map((n) => [n, hashes[n] ?? '']))) },
      ...(ownerReferences ? { ownerReferences } : {}),
    },
    data: Object.fromEntries(names.map((n) => [n, Buffer.from(values[n], 'utf8').toString('base64')])),
  };
}
