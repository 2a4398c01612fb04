import { formatManifestID, intentHash, pinnedImage, type ApplyOptions, type DeployState, type DeploySpec, type Manifest, type RegistryConfig, type Startup, type Volume } from '@sous/core';
import type { Healthcheck, RequestType, SingularityDeploy, SingularityRequest, SingularityVolume } from './dto';

/**
 * Keys of the deploy metadata Sous writes. The first five are the original
 * Sous's (so requests it made are recognised); the `dev.sous.*` ones carry
 * what the rest of Sous needs to rebuild the DeployState from Singularity alone.
 */
export const META = {
  cluster: 'com.opentable.sous.clustername',
  flavor: 'com.opentable.sous.flavor',
  repo: 'com.opentable.sous.repo_url',
  offset: 'com.opentable.sous.repo_offset',
  version: 'com.opentable.sous.version',
  deploymentID: 'dev.sous.deployment-id',
  kind: 'dev.sous.kind',
  intent: 'dev.sous.intent',
  /** The intended deploy spec, as JSON: what was asked for, beyond what Singularity keeps (Env values as keyed hashes, Secrets as references). */
  spec: 'dev.sous.spec',
  /** The secrets' keyed hashes by variable, as JSON: never values. */
  secrets: 'dev.sous.secrets',
} as const;

const SOUS_META = new Set<string>(Object.values(META));

export const REQUEST_TYPES: Record<Manifest['Kind'], RequestType> = {
  'http-service': 'SERVICE',
  worker: 'WORKER',
  'on-demand': 'ON_DEMAND',
  scheduled: 'SCHEDULED',
  'scheduled-job': 'SCHEDULED',
  once: 'RUN_ONCE',
};

const KINDS: Record<RequestType, Manifest['Kind']> = { SERVICE: 'http-service', WORKER: 'worker', ON_DEMAND: 'on-demand', SCHEDULED: 'scheduled', RUN_ONCE: 'once' };

/** The manifest kind of a request: the one Sous recorded when it still fits the request type. */
export function kindOf(type: RequestType, recorded: string | undefined): Manifest['Kind'] {
  if (recorded && REQUEST_TYPES[recorded as Manifest['Kind']] === type) return recorded as Manifest['Kind'];
  return KINDS[type] ?? 'http-service';
}

/** Services and workers run continuously and have an instance count; the other request types run tasks when told. */
export function isLongRunning(type: RequestType): boolean {
  return type === 'SERVICE' || type === 'WORKER';
}

/** The request body for a deployment (POST /api/requests creates or updates it). */
export function requestBody(s: DeployState, id: string): SingularityRequest {
  const requestType = REQUEST_TYPES[s.kind];
  const body: SingularityRequest = { id, requestType, owners: [...s.owners].sort() };
  // Singularity refuses an instance count on scheduled and one-off requests.
  if (isLongRunning(requestType)) body.instances = s.spec.NumInstances ?? 0;
  if (requestType === 'SCHEDULED') {
    body.schedule = s.spec.Schedule ?? '';
    body.scheduleType = 'CRON';
  }
  return body;
}

function positive(n: number | undefined): number | undefined {
  return n === undefined || n === null || n === 0 ? undefined : n;
}

/** Startup → HealthcheckOptions; none when the check is skipped. Zero fields are left for Singularity's defaults. */
export function healthcheckFor(st: Startup | undefined): Healthcheck | undefined {
  if (!st || st.SkipCheck) return undefined;
  const hc: Healthcheck = {
    uri: st.CheckReadyURIPath || '/health',
    protocol: ((st.CheckReadyProtocol || 'HTTP').toUpperCase() as Healthcheck['protocol']),
    portIndex: st.CheckReadyPortIndex ?? 0,
    startupDelaySeconds: positive(st.ConnectDelay),
    startupTimeoutSeconds: positive(st.Timeout),
    startupIntervalSeconds: positive(st.ConnectInterval),
    intervalSeconds: positive(st.CheckReadyInterval),
    responseTimeoutSeconds: positive(st.CheckReadyURITimeout),
    maxRetries: positive(st.CheckReadyRetries),
    failureStatusCodes: st.CheckReadyFailureStatuses?.length ? [...st.CheckReadyFailureStatuses] : undefined,
  };
  return JSON.parse(JSON.stringify(hc)) as Healthcheck;
}

/** HealthcheckOptions → Startup, zero fields left out (as the GDM writes them). */
export function startupFrom(hc: Healthcheck | undefined): Startup {
  if (!hc) return { SkipCheck: true };
  const st: Startup = {
    ConnectDelay: positive(hc.startupDelaySeconds),
    Timeout: positive(hc.startupTimeoutSeconds),
    ConnectInterval: positive(hc.startupIntervalSeconds),
    CheckReadyProtocol: hc.protocol ?? 'HTTP',
    CheckReadyURIPath: hc.uri,
    CheckReadyPortIndex: positive(hc.portIndex),
    CheckReadyFailureStatuses: hc.failureStatusCodes?.length ? [...hc.failureStatusCodes] : undefined,
    CheckReadyURITimeout: positive(hc.responseTimeoutSeconds),
    CheckReadyInterval: positive(hc.intervalSeconds),
    CheckReadyRetries: positive(hc.maxRetries),
  };
  return JSON.parse(JSON.stringify(st)) as Startup;
}

export function resourcesWire(spec: DeploySpec): { cpus: number; memoryMb: number; numPorts: number } {
  const r = spec.Resources ?? {};
  return { cpus: Number(r.cpus ?? 0.1), memoryMb: Number(r.memory ?? 100), numPorts: Math.trunc(Number(r.ports ?? 1)) };
}

export function volumesWire(vols: Volume[] | undefined): SingularityVolume[] {
  return (vols ?? []).map((v) => ({ containerPath: v.Container, hostPath: v.Host, ...(v.Mode ? { mode: v.Mode } : {}) }));
}

export function sortedEnv(env: Record<string, string> | undefined): Record<string, string> {
  return Object.fromEntries(Object.keys(env ?? {}).sort().map((k) => [k, String(env![k])]));
}

/** The image a deployment runs: the application's image in the cluster's registry, pinned by digest. */
export const imageFor = (s: DeployState, registry: string | undefined, config?: RegistryConfig): string => pinnedImage(s, registry, { code: 'SINGULARITY', factory: 'singularityScheduler' }, config);

/**
 * The spec as the deploy's metadata keeps it: core's stored view (Env values
 * as keyed hashes, Secrets as references) when the rectifier gave one, else
 * the spec with its Env names only. Never a value: the deploy's own `env`
 * holds those.
 */
export function keptSpec(s: DeployState, stored: ApplyOptions['stored']): DeploySpec {
  if (stored) return stored.spec;
  const { Env, ...rest } = s.spec;
  return { ...rest, ...(Env ? { Env: Object.fromEntries(Object.keys(Env).map((k) => [k, ''])) } : {}) };
}

/**
 * The deploy for a deployment: everything Singularity runs, plus the metadata
 * to read it back. The secrets' values go into the deploy's `env` with the
 * spec's own (Singularity keeps the env of every deploy); the metadata keeps
 * keyed hashes only.
 */
export function deployBody(s: DeployState, ids: { requestId: string; deployId: string }, image: string, opts: Pick<ApplyOptions, 'secrets' | 'stored'> = {}): SingularityDeploy {
  const spec = s.spec;
  const hashes = opts.stored?.secrets ?? s.secrets;
  const metadata: Record<string, string> = {
    ...Object.fromEntries(Object.entries(spec.Metadata ?? {}).filter(([k]) => !SOUS_META.has(k))),
    [META.cluster]: s.cluster,
    [META.flavor]: s.manifestID.flavor,
    [META.repo]: s.manifestID.source.repo,
    [META.offset]: s.manifestID.source.dir,
    [META.version]: spec.Version ?? '',
    [META.deploymentID]: s.id,
    [META.kind]: s.kind,
    [META.intent]: opts.stored?.intent ?? intentHash(s),
    [META.spec]: JSON.stringify(keptSpec(s, opts.stored)),
  };
  if (hashes && Object.keys(hashes).length) metadata[META.secrets] = JSON.stringify(hashes);
  const deploy: SingularityDeploy = {
    id: ids.deployId,
    requestId: ids.requestId,
    resources: resourcesWire(spec),
    env: sortedEnv({ ...(spec.Env ?? {}), ...(opts.secrets ?? {}) }),
    metadata,
    containerInfo: { type: 'DOCKER', docker: { image, network: 'BRIDGE' }, volumes: volumesWire(spec.Volumes) },
  };
  if (spec.Args?.length) deploy.arguments = [...spec.Args];
  const hc = healthcheckFor(spec.Startup);
  if (hc) deploy.healthcheck = hc;
  return deploy;
}

/** The user metadata of a deploy: what the spec's Metadata held (Sous's own keys removed). */
export function userMetadata(md: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(md).filter(([k]) => !SOUS_META.has(k) && !k.startsWith('com.opentable.sous.')));
}

/** A message for Singularity's history: who asked for what. */
export function deployMessage(s: DeployState, why: string): string {
  return `Sous: ${formatManifestID(s.manifestID)} ${s.spec.Version ?? ''} on ${s.cluster} (${why})`;
}
