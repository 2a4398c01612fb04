import { comparableJSON, parseManifestID, type DeploySpec, type DeployState, type Manifest, type Startup, type Volume } from '@sous/core';
import type { V1Container, V1CronJob, V1Deployment, V1ObjectMeta, V1PodSpec, V1Probe } from '@kubernetes/client-node';
import { ANNOTATIONS } from './names';
import { generatedEnv, NEVER, probeFor, progressDeadlineFor, resourcesFor, type Workload } from './objects';

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

function startupFromProbe(p: V1Probe | undefined, deadline: number | undefined): Startup {
  if (!p) return { SkipCheck: true };
  const port = /^port(\d+)$/.exec(String(p.httpGet?.port ?? ''));
  const st: Startup = {
    ConnectDelay: p.initialDelaySeconds || undefined,
    Timeout: deadline && deadline !== 600 ? deadline - (p.initialDelaySeconds ?? 0) : undefined,
    CheckReadyProtocol: (p.httpGet?.scheme ?? 'HTTP') as Startup['CheckReadyProtocol'],
    CheckReadyURIPath: p.httpGet?.path ?? '/health',
    CheckReadyPortIndex: port && port[1] !== '0' ? Number(port[1]) : undefined,
    CheckReadyURITimeout: p.timeoutSeconds || undefined,
    CheckReadyInterval: p.periodSeconds || undefined,
    CheckReadyRetries: p.failureThreshold || undefined,
  };
  return JSON.parse(JSON.stringify(st)) as Startup;
}

function volumesOf(pod: V1PodSpec | undefined, c: V1Container | undefined): Volume[] {
  const byName = new Map((pod?.volumes ?? []).map((v) => [v.name, v.hostPath?.path ?? '']));
  return (c?.volumeMounts ?? []).map((m) => ({ Host: byName.get(m.name) ?? '', Container: m.mountPath, Mode: m.readOnly ? 'RO' : 'RW' }));
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
 * The spec Sous recorded in the annotations, with whatever the cluster
 * really runs differently (a hand-made scale, another image, changed env)
 * put in its place, so drift shows in the next plan. Without a recorded
 * spec, everything comes from the object itself.
 */
function specOf(live: LiveFacts, basePort: number): DeploySpec {
  const ann = live.meta.annotations ?? {};
  const c = live.pod?.containers?.find((x) => x.name === 'app') ?? live.pod?.containers?.[0];
  let stored: DeploySpec | undefined;
  try {
    stored = ann[ANNOTATIONS.spec] ? (JSON.parse(ann[ANNOTATIONS.spec]) as DeploySpec) : undefined;
  } catch {
    stored = undefined;
  }
  const req = c?.resources?.requests ?? {};
  const ports = c?.ports?.length ?? 0;
  const gen = generatedEnv({ Resources: { ports: String(ports) } }, basePort);
  const env: Record<string, string> = {};
  for (const e of c?.env ?? []) if (e.value !== undefined && gen[e.name] !== e.value) env[e.name] = e.value;
  const digest = /@(sha256:[a-f0-9]{64})$/.exec(c?.image ?? '')?.[1];
  const liveSpec: DeploySpec = {
    Resources: { cpus: fmt(quantity(req.cpu)), memory: fmt(quantity(req.memory) / 1024 ** 2), ports: String(ports) },
    Env: env,
    NumInstances: live.replicas,
    Volumes: volumesOf(live.pod, c),
    Startup: live.workload === 'CronJob' ? (stored?.Startup ?? { SkipCheck: true }) : startupFromProbe(c?.readinessProbe, live.deadline),
    Schedule: live.schedule ?? '',
    Version: ann[ANNOTATIONS.version] ?? '',
  };
  if (c?.args?.length) liveSpec.Args = [...c.args];
  if (digest) liveSpec.Digest = digest;
  if (!stored) return liveSpec;

  const spec = stored;
  const want = resourcesFor(stored);
  const sameRes = quantity(want.requests!.cpu) === quantity(req.cpu) && quantity(want.requests!.memory) === quantity(req.memory);
  if (!sameRes || Number(stored.Resources?.ports ?? 1) !== ports) spec.Resources = liveSpec.Resources;
  if (comparableJSON(stored.Env ?? {}) !== comparableJSON(env)) spec.Env = env;
  if (comparableJSON(normalVolumes(stored.Volumes)) !== comparableJSON(normalVolumes(liveSpec.Volumes))) spec.Volumes = liveSpec.Volumes;
  if (live.workload === 'Deployment') {
    const sameProbe = comparableJSON(normalProbe(probeFor(stored.Startup, ports))) === comparableJSON(normalProbe(c?.readinessProbe));
    const sameDeadline = (progressDeadlineFor(stored.Startup) ?? 600) === (live.deadline ?? 600);
    if (!sameProbe || !sameDeadline) spec.Startup = liveSpec.Startup;
  }
  if (comparableJSON(stored.Args ?? []) !== comparableJSON(liveSpec.Args ?? [])) spec.Args = liveSpec.Args;
  if ((stored.NumInstances ?? 0) !== live.replicas) spec.NumInstances = live.replicas;
  if (live.workload === 'CronJob' && (stored.Schedule ?? '') !== (live.schedule ?? '') && !(live.schedule === NEVER && !stored.Schedule)) spec.Schedule = live.schedule;
  if (digest && digest !== stored.Digest) spec.Digest = digest;
  return spec;
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
  message: string;
}

/** Where a Deployment's rollout stands, as `kubectl rollout status` judges it. */
export function rolloutOf(d: V1Deployment, generation = d.metadata?.generation ?? 0): Rollout {
  const st = d.status ?? {};
  const want = d.spec?.replicas ?? 1;
  if ((st.observedGeneration ?? 0) < generation) return { state: 'progressing', message: 'waiting for the new spec to be observed' };
  const progressing = st.conditions?.find((c) => c.type === 'Progressing');
  if (progressing?.status === 'False' && progressing.reason === 'ProgressDeadlineExceeded') return { state: 'failed', message: progressing.message || 'the rollout exceeded its progress deadline' };
  const updated = st.updatedReplicas ?? 0;
  const total = st.replicas ?? 0;
  const available = st.availableReplicas ?? 0;
  if (updated < want) return { state: 'progressing', message: `${updated} of ${want} replicas updated` };
  if (total > updated) return { state: 'progressing', message: `${total - updated} old replica(s) pending termination` };
  if (available < updated) return { state: 'progressing', message: `${available} of ${updated} updated replicas available` };
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
  const status: DeployState['status'] = rollout.state === 'failed' ? 'Failed' : rollout.state === 'done' && available ? 'Active' : 'Pending';
  const state: DeployState = { ...b, spec, status, schedulerURL: `${server}/apis/apps/v1/namespaces/${meta.namespace}/deployments/${meta.name}`, ref: { name: meta.name, workload: 'Deployment' } };
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
  return { ...b, spec, status: 'Active', schedulerURL: `${server}/apis/batch/v1/namespaces/${meta.namespace}/cronjobs/${meta.name}`, ref: { name: meta.name, workload: 'CronJob' } };
}
