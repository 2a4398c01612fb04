import { comparableJSON, formatManifestID, type DeploySpec, type DeployState, type ManifestID } from '@sous/core';
import type { DeployHistory, DeployResult, RequestParent, SingularityVolume } from './dto';
import { healthcheckFor, kindOf, META, resourcesWire, sortedEnv, startupFrom, userMetadata, volumesWire } from './wire';

/** The image label the original Sous copied into every deploy's metadata. */
const LEGACY_REVISION = 'com.opentable.sous.revision';

function fmt(n: number | undefined): string {
  return String(n ?? 0);
}

function digestOf(image: string | undefined): string | undefined {
  const m = /@(sha256:[a-f0-9]{64})$/.exec(image ?? '');
  return m?.[1];
}

function liveVolumes(vols: SingularityVolume[] | undefined): SingularityVolume[] {
  return (vols ?? []).map((v) => ({ containerPath: v.containerPath, hostPath: v.hostPath, ...(v.mode ? { mode: v.mode } : {}) }));
}

/** Whether a deploy result counts as Active, Pending or Failed (the original's reading), and why it failed. */
export function statusOf(result: DeployResult | undefined): { status: DeployState['status']; message?: string } {
  if (!result || result.deployState === 'WAITING') return { status: 'Pending' };
  if (result.deployState === 'SUCCEEDED') return { status: 'Active' };
  const failures = (result.deployFailures ?? []).map((f) => f.message || f.reason || '').filter(Boolean);
  const why = failures.length ? failures.join(', ') : result.message || result.deployState;
  return { status: 'Failed', message: `${result.deployState}: ${why}` };
}

export interface ReadInput {
  cluster: string;
  /** The Singularity root, for links to the request. */
  baseURL: string;
  parent: RequestParent;
  history: DeployHistory;
  /** The deploy is the request's pending one. */
  pending: boolean;
}

/**
 * Rebuilds a DeployState from a request and its latest deploy, or undefined
 * when the deploy is not Sous's or belongs to another cluster. The spec Sous
 * recorded in the deploy's metadata is the base; whatever Singularity really
 * runs differently (someone scaled or redeployed by hand) replaces it, so
 * drift shows in the next plan.
 */
export function stateFromSingularity(input: ReadInput): DeployState | undefined {
  const { parent, history } = input;
  const deploy = history.deploy;
  const md = deploy?.metadata ?? {};
  if (!deploy || md[META.cluster] !== input.cluster || !md[META.repo]) return undefined;
  const request = parent.request;
  const manifestID: ManifestID = { source: { repo: md[META.repo], dir: md[META.offset] ?? '' }, flavor: md[META.flavor] ?? '' };
  let stored: DeploySpec | undefined;
  try {
    stored = md[META.spec] ? (JSON.parse(md[META.spec]) as DeploySpec) : undefined;
  } catch {
    stored = undefined;
  }
  // The deploy's env holds the secrets' values too (Singularity keeps them there): they are no Env of the spec, and never read back.
  const kept = secretsOf(md);
  const secretNames = new Set([...Object.keys(stored?.Secrets ?? {}), ...Object.keys(kept ?? {})]);
  const liveEnv = Object.fromEntries(Object.entries(deploy.env ?? {}).filter(([k]) => !secretNames.has(k)));
  const res = deploy.resources ?? {};
  const live: DeploySpec = {
    Resources: { cpus: fmt(res.cpus), memory: fmt(res.memoryMb), ports: fmt(res.numPorts) },
    Env: sortedEnv(liveEnv),
    // Scheduled and one-off requests have no instance count in Singularity: the recorded one stands.
    NumInstances: request.instances ?? stored?.NumInstances ?? 1,
    Volumes: liveVolumes(deploy.containerInfo?.volumes).map((v) => ({ Host: v.hostPath, Container: v.containerPath, ...(v.mode ? { Mode: v.mode } : {}) })),
    Startup: startupFrom(deploy.healthcheck),
    Schedule: request.schedule ?? '',
    Version: md[META.version] ?? '',
  };
  const user = userMetadata(md);
  if (Object.keys(user).length) live.Metadata = user;
  if (deploy.arguments?.length) live.Args = [...deploy.arguments];
  const digest = digestOf(deploy.containerInfo?.docker?.image);
  if (digest) live.Digest = digest;
  // A deploy the original Sous made: its metadata are the image's labels, so
  // the revision it ran is there; it sent no GDM Metadata, and its images
  // were named its own way, so the repository is kept as it runs.
  const original = !md[META.intent] && !stored;
  const revision = md[LEGACY_REVISION];
  if (original && revision && live.Version && !live.Version.includes('+')) live.Version = `${live.Version}+${revision}`;
  if (original && digest) live.Image = deploy.containerInfo!.docker!.image!.slice(0, -digest.length - 1);

  let spec = live;
  if (stored) {
    spec = stored;
    const r = resourcesWire(stored);
    if (Math.abs(r.cpus - (res.cpus ?? 0)) > 1e-9 || r.memoryMb !== (res.memoryMb ?? 0) || r.numPorts !== (res.numPorts ?? 0)) spec.Resources = live.Resources;
    // The metadata keeps Env as keyed hashes (or names): what runs is the deploy's env.
    if (comparableJSON(sortedEnv(stored.Env)) !== comparableJSON(live.Env)) spec.Env = live.Env;
    if (comparableJSON(volumesWire(stored.Volumes)) !== comparableJSON(liveVolumes(deploy.containerInfo?.volumes))) spec.Volumes = live.Volumes;
    if (comparableJSON(startupFrom(healthcheckFor(stored.Startup))) !== comparableJSON(live.Startup)) spec.Startup = live.Startup;
    if (comparableJSON(stored.Args ?? []) !== comparableJSON(live.Args ?? [])) spec.Args = live.Args;
    if ((stored.NumInstances ?? 0) !== live.NumInstances) spec.NumInstances = live.NumInstances;
    if (request.requestType === 'SCHEDULED' && (stored.Schedule ?? '') !== live.Schedule) spec.Schedule = live.Schedule;
    if (digest && digest !== stored.Digest) spec.Digest = digest;
    if ((stored.Version ?? '') !== live.Version) spec.Version = live.Version;
  }
  const { status, message } = input.pending ? { status: 'Pending' as const, message: undefined } : statusOf(history.deployResult);
  const state: DeployState = {
    id: md[META.deploymentID] || `${input.cluster}:${formatManifestID(manifestID)}`,
    manifestID,
    cluster: input.cluster,
    kind: kindOf(request.requestType, md[META.kind]),
    owners: [...(request.owners ?? [])].sort(),
    spec,
    status,
    schedulerURL: `${input.baseURL.replace(/\/+$/, '')}/request/${encodeURIComponent(request.id)}/deploy/${encodeURIComponent(deploy.id)}`,
    ref: { requestId: request.id, deployId: deploy.id },
  };
  if (message) state.message = message;
  if (original) state.unobserved = ['Metadata'];
  // The hashes the deploy was made with, for the variables its env still has: one taken out by hand reads as changed.
  if (kept) state.secrets = Object.fromEntries(Object.entries(kept).filter(([k]) => deploy.env?.[k] !== undefined));
  return state;
}

/** The secrets' keyed hashes a deploy's metadata keeps, by variable. */
function secretsOf(md: Record<string, string>): Record<string, string> | undefined {
  const raw = md[META.secrets];
  if (!raw) return undefined;
  try {
    const v = JSON.parse(raw) as Record<string, unknown>;
    return Object.fromEntries(Object.entries(v ?? {}).filter((e): e is [string, string] => typeof e[1] === 'string'));
  } catch {
    return {};
  }
}
