import { comparableJSON, parseManifestID, type DeploySpec, type DeployState, type Manifest, type Startup, type Volume } from '@sous/core';
import type { V1Container, V1CronJob, V1Deployment, V1ObjectMeta, V1PodSpec, V1Probe } from '@kubernetes/client-node';
import type { Kind } from './apply';
import { ANNOTATIONS, FIELD_MANAGER, RESTARTED_AT } from './names';
import { generatedEnv, NEVER, probesFor, progressDeadlineFor, resourcesFor, type Workload } from './objects';

/** What a read saw of a deployment's objects, kept in DeployState.ref for the next action. */
export interface LiveRef {
  name?: string;
  workload?: Workload;
  /** The Service's name, when it has one. */
  service?: string;
  route?: { kind: Kind; name: string };
  /** The pod template's restart stamp (kept, or dropping it would roll the pods). */
  restartedAt?: string;
  /** The live replica count, and whether Sous's apply owns it (for the hand-over to an autoscaler). */
  replicas?: number;
  replicasBySous?: boolean;
  /** The workload's uid: the Secret's ownerReference. */
  uid?: string;
  /** The Secret the pod template's secret variables come from, when it names one. */
  secret?: string;
}

/** Every item of a list, page by page (limit and continue), as kubectl and client-go's pager read them. */
export async function listAll<T>(page: (cont: string | undefined) => Promise<{ items: T[]; metadata?: { _continue?: string } }>): Promise<T[]> {
  const out: T[] = [];
  let cont: string | undefined;
  do {
    const r = await page(cont);
    out.push(...r.items);
    cont = r.metadata?._continue || undefined;
  } while (cont);
  return out;
}

const SUFFIX: Record<string, number> = { m: 1e-3, k: 1e3, M: 1e6, G: 1e9, T: 1e12, Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3, Ti: 1024 ** 4 };

/** A Kubernetes quantity ("500m", "256Mi", "1", "1.5Gi") as a number. */
export function quantity(q: string | number | undefined): number {
  if (q === undefined) return 0;
  if (typeof q === 'number') return q;
  const m = /^([0-9.]+)([a-zA-Z]*)$/.exec(q.trim());
  if (!m) return NaN;
  return Number(m[1]) * (m[2] ? (SUFFIX[m[2]] ?? NaN) : 1);
}

function fmt(n: number): string {
  return String(Math.round(n * 1000) / 1000);
}

/** A probe with Kubernetes' defaults filled in, so a probe read back compares equal to the one sent. */
function normalProbe(p: V1Probe | undefined): unknown {
  if (!p) return null;
  return {
    path: p.httpGet?.path ?? '',
    port: p.httpGet?.port,
    scheme: p.httpGet?.scheme ?? 'HTTP',
    initialDelaySeconds: p.initialDelaySeconds ?? 0,
    periodSeconds: p.periodSeconds ?? 10,
    timeoutSeconds: p.timeoutSeconds ?? 1,
    failureThreshold: p.failureThreshold ?? 3,
  };
}

function normalProbes(c: Pick<V1Container, 'startupProbe' | 'readinessProbe' | 'livenessProbe'> | undefined): unknown {
  return [normalProbe(c?.startupProbe), normalProbe(c?.readinessProbe), normalProbe(c?.livenessProbe)];
}

/** Startup settings as the live probes say them (what probesFor made, read backwards), for a spec changed by hand. */
function startupFromProbes(c: V1Container | undefined, deadline: number | undefined): Startup {
  const ready = c?.readinessProbe;
  const start = c?.startupProbe;
  if (!ready) return { SkipCheck: true };
  const port = /^port(\d+)$/.exec(String(ready.httpGet?.port ?? ''));
  const delay = start?.initialDelaySeconds || undefined;
  const st: Startup = {
    ConnectDelay: delay,
    Timeout: deadline && deadline !== 600 ? deadline - (delay ?? 0) : undefined,
    ConnectInterval: start?.periodSeconds && start.periodSeconds !== ready.periodSeconds ? start.periodSeconds : undefined,
    CheckReadyProtocol: (ready.httpGet?.scheme ?? 'HTTP') as Startup['CheckReadyProtocol'],
    CheckReadyURIPath: ready.httpGet?.path ?? '/health',
    CheckReadyPortIndex: port && port[1] !== '0' ? Number(port[1]) : undefined,
    CheckReadyURITimeout: ready.timeoutSeconds || undefined,
    CheckReadyInterval: ready.periodSeconds || undefined,
    CheckReadyRetries: ready.failureThreshold || undefined,
  };
  return JSON.parse(JSON.stringify(st)) as Startup;
}

function volumesOf(pod: V1PodSpec | undefined, c: V1Container | undefined): Volume[] {
  const byName = new Map((pod?.volumes ?? []).map((v) => [v.name, v.hostPath?.path ?? '']));
  // Only the spec's own volumes (vol0..n); the scratch /tmp of a read-only root is Sous's.
  return (c?.volumeMounts ?? []).filter((m) => /^vol\d+$/.test(m.name)).map((m) => ({ Host: byName.get(m.name) ?? '', Container: m.mountPath, Mode: m.readOnly ? 'RO' : 'RW' }));
}

function normalVolumes(vols: Volume[] | undefined): unknown {
  return (vols ?? []).map((v) => ({ h: v.Host, c: v.Container, ro: v.Mode === 'RO' }));
}

interface LiveFacts {
  meta: V1ObjectMeta;
  pod: V1PodSpec | undefined;
  replicas: number;
  schedule?: string;
  deadline?: number;
  workload: Workload;
}

/**
 * The spec Sous keeps in the annotations, with whatever the cluster
 * really runs differently (a hand-made scale, another image, changed env)
 * put in its place, so drift shows in the next plan. Without a kept
 * spec, everything comes from the object itself.
 */
function specOf(live: LiveFacts, basePort: number): DeploySpec {
  const ann = live.meta.annotations ?? {};
  const c = live.pod?.containers?.find((x) => x.name === 'app') ?? live.pod?.containers?.[0];
  let stored: (DeploySpec & { EnvNames?: string[] }) | undefined;
  try {
    stored = ann[ANNOTATIONS.spec] ? (JSON.parse(ann[ANNOTATIONS.spec]) as DeploySpec) : undefined;
  } catch {
    stored = undefined;
  }
  const req = c?.resources?.requests ?? {};
  const lim = c?.resources?.limits ?? {};
  const ports = c?.ports?.length ?? 0;
  const gen = generatedEnv({ Resources: { ports: String(ports) } }, basePort);
  // The annotation keeps the Env's names (with keyed hashes, or alone), never values: those are the pod template's. A generated PORTn is the spec's own only when it names it.
  const named = new Set(stored?.EnvNames ?? Object.keys(stored?.Env ?? {}));
  const env: Record<string, string> = {};
  for (const e of c?.env ?? []) if (e.value !== undefined && (gen[e.name] !== e.value || named.has(e.name))) env[e.name] = e.value;
  const digest = /@(sha256:[a-f0-9]{64})$/.exec(c?.image ?? '')?.[1];
  const liveRes: Record<string, string> = { cpus: fmt(quantity(req.cpu)), memory: fmt(quantity(req.memory) / 1024 ** 2), ports: String(ports) };
  if (lim.cpu === undefined || quantity(lim.cpu) !== quantity(req.cpu)) liveRes.cpusLimit = lim.cpu === undefined ? '0' : fmt(quantity(lim.cpu));
  if (lim.memory === undefined || quantity(lim.memory) !== quantity(req.memory)) liveRes.memoryLimit = lim.memory === undefined ? '0' : fmt(quantity(lim.memory) / 1024 ** 2);
  const liveSpec: DeploySpec = {
    Resources: liveRes,
    Env: env,
    NumInstances: live.replicas,
    Volumes: volumesOf(live.pod, c),
    Startup: live.workload === 'CronJob' ? (stored?.Startup ?? { SkipCheck: true }) : startupFromProbes(c, live.deadline),
    Schedule: live.schedule ?? '',
    Version: ann[ANNOTATIONS.version] ?? '',
  };
  if (c?.args?.length) liveSpec.Args = [...c.args];
  if (digest) liveSpec.Digest = digest;
  if (!stored) return liveSpec;

  const { EnvNames, ...spec } = stored;
  void EnvNames;
  let want: ReturnType<typeof resourcesFor> | undefined;
  try {
    want = resourcesFor(stored);
  } catch {
    want = undefined;
  }
  const sameQ = (a: string | undefined, b: string | undefined) => (a === undefined) === (b === undefined) && quantity(a) === quantity(b);
  const sameRes = want && sameQ(want.requests?.cpu, req.cpu) && sameQ(want.requests?.memory, req.memory) && sameQ(want.limits?.cpu, lim.cpu) && sameQ(want.limits?.memory, lim.memory);
  if (!sameRes || Number(stored.Resources?.ports ?? 1) !== ports) spec.Resources = liveSpec.Resources;
  if (Object.keys(env).length || Object.keys(stored.Env ?? {}).length || named.size) spec.Env = env;
  if (comparableJSON(normalVolumes(stored.Volumes)) !== comparableJSON(normalVolumes(liveSpec.Volumes))) spec.Volumes = liveSpec.Volumes;
  if (live.workload === 'Deployment') {
    const sameProbe = comparableJSON(normalProbes(probesFor(stored.Startup, ports))) === comparableJSON(normalProbes(c));
    const sameDeadline = (progressDeadlineFor(stored.Startup) ?? 600) === (live.deadline ?? 600);
    if (!sameProbe || !sameDeadline) spec.Startup = liveSpec.Startup;
  }
  if (comparableJSON(stored.Args ?? []) !== comparableJSON(liveSpec.Args ?? [])) spec.Args = liveSpec.Args;
  // An autoscaler's count is not drift: the spec's NumInstances is only what to plan with.
  if ((stored.NumInstances ?? 0) !== live.replicas && !stored.Autoscaled) spec.NumInstances = live.replicas;
  if (live.workload === 'CronJob' && (stored.Schedule ?? '') !== (live.schedule ?? '') && !(live.schedule === NEVER && !stored.Schedule)) spec.Schedule = live.schedule;
  // An image changed by hand shows as drift even when it is not pinned by digest.
  if (c?.image && digest !== stored.Digest) spec.Digest = digest ?? c.image;
  return spec;
}

/** The Secret a pod template's env takes secret variables from, and those variables. */
function secretRefs(pod: V1PodSpec | undefined): { secret?: string; names: Set<string> } {
  const c = pod?.containers?.find((x) => x.name === 'app') ?? pod?.containers?.[0];
  const names = new Set<string>();
  let secret: string | undefined;
  for (const e of c?.env ?? []) {
    const ref = e.valueFrom?.secretKeyRef;
    if (!ref?.name || ref.key !== e.name) continue;
    secret ??= ref.name;
    if (ref.name === secret) names.add(e.name);
  }
  return { secret, names };
}

/**
 * The secrets' keyed hashes the workload was deployed with, as its annotation
 * keeps them, for the variables its pod template still takes from its Secret:
 * one whose reference was removed by hand reads as changed, so it is redeployed.
 */
function secretsOf(meta: V1ObjectMeta, pod: V1PodSpec | undefined): Record<string, string> | undefined {
  const raw = meta.annotations?.[ANNOTATIONS.secrets];
  if (!raw) return undefined;
  let kept: Record<string, string>;
  try {
    kept = JSON.parse(raw) as Record<string, string>;
  } catch {
    return {};
  }
  const { names } = secretRefs(pod);
  return Object.fromEntries(Object.entries(kept ?? {}).filter(([k, v]) => typeof v === 'string' && names.has(k)));
}

function base(meta: V1ObjectMeta, cluster: string): Pick<DeployState, 'id' | 'manifestID' | 'cluster' | 'kind' | 'owners'> | undefined {
  const ann = meta.annotations ?? {};
  const id = ann[ANNOTATIONS.deploymentID];
  if (!id || ann[ANNOTATIONS.cluster] !== cluster || !ann[ANNOTATIONS.manifestID]) return undefined;
  let owners: string[] = [];
  try {
    owners = JSON.parse(ann[ANNOTATIONS.owners] ?? '[]') as string[];
  } catch {
    owners = [];
  }
  return { id, manifestID: parseManifestID(ann[ANNOTATIONS.manifestID]), cluster, kind: (ann[ANNOTATIONS.kind] || 'http-service') as Manifest['Kind'], owners: [...owners].sort() };
}

export interface Rollout {
  state: 'done' | 'progressing' | 'failed';
  /** Where a progressing rollout waits: the new spec observed, replicas updated, old ones gone, updated ones available. */
  waiting?: 'observed' | 'updated' | 'old' | 'available';
  message: string;
}

/** Where a Deployment's rollout stands, as `kubectl rollout status` judges it. */
export function rolloutOf(d: V1Deployment, generation = d.metadata?.generation ?? 0): Rollout {
  const st = d.status ?? {};
  const want = d.spec?.replicas ?? 1;
  if ((st.observedGeneration ?? 0) < generation) return { state: 'progressing', waiting: 'observed', message: 'waiting for the new spec to be observed' };
  const progressing = st.conditions?.find((c) => c.type === 'Progressing');
  if (progressing?.status === 'False' && progressing.reason === 'ProgressDeadlineExceeded') return { state: 'failed', message: progressing.message || 'the rollout exceeded its progress deadline' };
  const updated = st.updatedReplicas ?? 0;
  const total = st.replicas ?? 0;
  const available = st.availableReplicas ?? 0;
  if (updated < want) return { state: 'progressing', waiting: 'updated', message: `${updated} of ${want} replicas updated` };
  if (total > updated) return { state: 'progressing', waiting: 'old', message: `${total - updated} old replica(s) pending termination` };
  if (available < updated) return { state: 'progressing', waiting: 'available', message: `${available} of ${updated} updated replicas available` };
  return { state: 'done', message: `${available} of ${want} replicas available` };
}

/** A Deployment Sous made, as a DeployState; undefined when it is not Sous's or is another cluster's. */
export function stateFromDeployment(d: V1Deployment, cluster: string, server: string, basePort: number): DeployState | undefined {
  const meta = d.metadata ?? {};
  const b = base(meta, cluster);
  if (!b) return undefined;
  const spec = specOf({ meta, pod: d.spec?.template?.spec, replicas: d.spec?.replicas ?? 1, deadline: d.spec?.progressDeadlineSeconds, workload: 'Deployment' }, basePort);
  const rollout = rolloutOf(d);
  const available = d.status?.conditions?.find((c) => c.type === 'Available')?.status === 'True' || (d.spec?.replicas ?? 1) === 0;
  // An autoscaler adding pods to a finished rollout is a scale, not an unfinished deploy.
  const scaling = spec.Autoscaled === true && rollout.waiting === 'available' && available;
  const status: DeployState['status'] = rollout.state === 'failed' ? 'Failed' : (rollout.state === 'done' || scaling) && available ? 'Active' : 'Pending';
  const ann = meta.annotations ?? {};
  const ref: LiveRef = { name: meta.name, workload: 'Deployment', replicas: d.spec?.replicas, replicasBySous: ownsReplicas(meta), uid: meta.uid };
  const pod = d.spec?.template?.spec;
  const secret = secretRefs(pod).secret;
  if (secret) ref.secret = secret;
  if (ann[ANNOTATIONS.service]) ref.service = ann[ANNOTATIONS.service];
  const route = ann[ANNOTATIONS.route];
  if ((route === 'Ingress' || route === 'HTTPRoute') && ref.service) ref.route = { kind: route, name: ref.service };
  const restarted = d.spec?.template?.metadata?.annotations?.[RESTARTED_AT];
  if (restarted) ref.restartedAt = restarted;
  const state: DeployState = { ...b, spec, status, schedulerURL: `${server}/apis/apps/v1/namespaces/${meta.namespace}/deployments/${meta.name}`, ref: { ...ref } };
  const secrets = secretsOf(meta, pod);
  if (secrets) state.secrets = secrets;
  if (status !== 'Active') state.message = rollout.message;
  return state;
}

/** A CronJob Sous made, as a DeployState (Active once it exists: its runs are not deploys). */
export function stateFromCronJob(j: V1CronJob, cluster: string, server: string, basePort: number): DeployState | undefined {
  const meta = j.metadata ?? {};
  const b = base(meta, cluster);
  if (!b) return undefined;
  const jt = j.spec?.jobTemplate?.spec;
  const replicas = j.spec?.suspend && b.kind !== 'on-demand' ? 0 : (jt?.parallelism ?? 1);
  const spec = specOf({ meta, pod: jt?.template?.spec, replicas, schedule: j.spec?.schedule, workload: 'CronJob' }, basePort);
  const ref: LiveRef = { name: meta.name, workload: 'CronJob', uid: meta.uid };
  const restarted = jt?.template?.metadata?.annotations?.[RESTARTED_AT];
  if (restarted) ref.restartedAt = restarted;
  const secret = secretRefs(jt?.template?.spec).secret;
  if (secret) ref.secret = secret;
  const state: DeployState = { ...b, spec, status: 'Active', schedulerURL: `${server}/apis/batch/v1/namespaces/${meta.namespace}/cronjobs/${meta.name}`, ref: { ...ref } };
  const secrets = secretsOf(meta, jt?.template?.spec);
  if (secrets) state.secrets = secrets;
  return state;
}

/** Whether Sous's own apply holds `spec.replicas` (managedFields of manager sous, operation Apply). */
export function ownsReplicas(meta: V1ObjectMeta): boolean {
  return (meta.managedFields ?? []).some((f) => {
    const spec = (f.fieldsV1 as Record<string, Record<string, unknown>> | undefined)?.['f:spec'];
    return f.manager === FIELD_MANAGER && f.operation === 'Apply' && spec !== undefined && 'f:replicas' in spec;
  });
}
