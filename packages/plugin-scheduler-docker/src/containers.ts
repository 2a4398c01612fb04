import { engineAuthFor, engineRegistryError, failure, isSousError, SousError, parseImageReference, registryOfReference, resolveRegistryAuth, type RegistryConfig } from '@sous/core';
import { demuxLogs, engineMessage, type Engine } from './engine';
import { LABELS, ownedBy } from './labels';

/** A container as a listing shows it. */
export interface Instance {
  id: string;
  name: string;
  /** Creation time, ms since the epoch. */
  created: number;
  /** created | running | restarting | paused | exited | dead | removing */
  state: string;
  status: string;
  labels: Record<string, string>;
  deployment: string;
  config: string;
  /** Published tcp ports from the listing: container port → host port. */
  published: Map<number, number>;
}

/** A container as inspection shows it: what readiness and failure reports need. */
export interface InstanceDetail extends Instance {
  exitCode: number;
  error: string;
  restartCount: number;
  oomKilled: boolean;
  /** Published host ports by container port (tcp). */
  ports: Map<number, { hostIp: string; hostPort: number }>;
}

interface ListedContainer {
  Id: string;
  Names?: string[];
  Created: number;
  State: string;
  Status: string;
  Labels?: Record<string, string>;
  Ports?: { IP?: string; PrivatePort: number; PublicPort?: number; Type: string }[];
}

interface InspectedContainer {
  Id: string;
  Name: string;
  Created: string;
  State: { Status: string; ExitCode: number; Error: string; OOMKilled: boolean };
  RestartCount: number;
  Config: { Labels?: Record<string, string> };
  NetworkSettings: { Ports?: Record<string, { HostIp: string; HostPort: string }[] | null> };
}

function fromListing(c: ListedContainer): Instance {
  const labels = c.Labels ?? {};
  const published = new Map<number, number>();
  for (const p of c.Ports ?? []) if (p.Type === 'tcp' && p.PublicPort && !(p.IP ?? '').includes(':')) published.set(p.PrivatePort, p.PublicPort);
  return {
    id: c.Id,
    name: (c.Names?.[0] ?? c.Id).replace(/^\//, ''),
    created: c.Created * 1000,
    state: c.State,
    status: c.Status,
    labels,
    deployment: labels[LABELS.deployment] ?? '',
    config: labels[LABELS.config] ?? '',
    published,
  };
}

/** Every container carrying all the given labels (`key` or `key=value`), stopped ones too. */
export async function listInstances(engine: Engine, labels: string[]): Promise<Instance[]> {
  const list = await engine.call<ListedContainer[]>('GET', '/containers/json', { query: { all: true, filters: { label: labels } }, doing: 'listing containers' });
  return list.map(fromListing).sort((a, b) => a.created - b.created || a.id.localeCompare(b.id));
}

/** Every container of one deployment on one cluster, stopped ones too; with `gdm`, only those that GDM may act on. */
export async function deploymentInstances(engine: Engine, cluster: string, deploymentID: string, gdm?: string): Promise<Instance[]> {
  return (await listInstances(engine, [`${LABELS.cluster}=${cluster}`, `${LABELS.deployment}=${deploymentID}`])).filter((c) => ownedBy(c.labels, gdm));
}

/** Inspects a container; undefined when it no longer exists. */
export async function inspectInstance(engine: Engine, id: string): Promise<InstanceDetail | undefined> {
  const c = await engine.find<InspectedContainer>(`/containers/${encodeURIComponent(id)}/json`, `inspecting container ${id.slice(0, 12)}`);
  if (!c) return undefined;
  const labels = c.Config.Labels ?? {};
  const ports = new Map<number, { hostIp: string; hostPort: number }>();
  for (const [key, bindings] of Object.entries(c.NetworkSettings.Ports ?? {})) {
    const [port, proto] = key.split('/');
    const b = (bindings ?? []).find((x) => !x.HostIp.includes(':')) ?? bindings?.[0];
    if (proto === 'tcp' && b && b.HostPort) ports.set(Number(port), { hostIp: b.HostIp, hostPort: Number(b.HostPort) });
  }
  return {
    id: c.Id,
    name: c.Name.replace(/^\//, ''),
    created: Date.parse(c.Created),
    state: c.State.Status,
    status: c.State.Status,
    labels,
    deployment: labels[LABELS.deployment] ?? '',
    config: labels[LABELS.config] ?? '',
    published: new Map([...ports].map(([k, v]) => [k, v.hostPort])),
    exitCode: c.State.ExitCode,
    error: c.State.Error,
    restartCount: c.RestartCount,
    oomKilled: c.State.OOMKilled,
    ports,
  };
}

export async function createContainer(engine: Engine, name: string, body: Record<string, unknown>): Promise<string> {
  const r = await engine.call<{ Id: string }>('POST', '/containers/create', { query: { name }, body, doing: `creating container ${name}` });
  return r.Id;
}

export async function startContainer(engine: Engine, id: string): Promise<void> {
  await engine.call('POST', `/containers/${id}/start`, { doing: `starting container ${id.slice(0, 12)}` });
}

/** SIGTERM (the container's stop signal), then SIGKILL after `graceSeconds`. A container already gone is fine. */
export async function stopContainer(engine: Engine, id: string, graceSeconds: number): Promise<void> {
  try {
    await engine.call('POST', `/containers/${id}/stop`, { query: { t: graceSeconds }, doing: `stopping container ${id.slice(0, 12)}` });
  } catch (e) {
    if (isSousError(e) && e.details?.status === 404) return;
    throw e;
  }
}

export async function removeContainer(engine: Engine, id: string): Promise<void> {
  try {
    await engine.call('DELETE', `/containers/${id}`, { query: { force: true, v: true }, doing: `removing container ${id.slice(0, 12)}` });
  } catch (e) {
    // Gone already, or being removed by someone else: either way it is going.
    if (isSousError(e) && (e.details?.status === 404 || (e.details?.status === 409 && /already in progress/i.test(e.message)))) return;
    throw e;
  }
}

/** The last `lines` log lines of a container (stdout and stderr), or none when it is gone. */
export async function containerLogs(engine: Engine, id: string, lines: number): Promise<string[]> {
  try {
    const body = await engine.call<unknown>('GET', `/containers/${id}/logs`, { query: { stdout: true, stderr: true, tail: lines }, doing: `reading the logs of ${id.slice(0, 12)}` });
    return demuxLogs(body).slice(-lines);
  } catch {
    return [];
  }
}

/**
 * Makes sure the engine has an image, pulling it when it does not. A
 * reference by digest is only pulled once. A registry that does not know the
 * image is not retryable; a registry that cannot be reached is.
 */
export async function ensureImage(engine: Engine, ref: string, onProgress?: (m: string) => void, registries?: RegistryConfig): Promise<void> {
  const have = await engine.find(`/images/${encodeURIComponent(ref)}/json`, `inspecting image ${ref}`);
  if (have) return;
  onProgress?.(`pulling ${ref}`);
  const at = ref.lastIndexOf('@');
  const query = at > 0 ? { fromImage: ref } : { fromImage: ref.slice(0, ref.lastIndexOf(':')), tag: ref.slice(ref.lastIndexOf(':') + 1) };
  // The engine pulls with the credentials Sous resolves for the image's registry, as `docker pull` after `docker login` would.
  const authconfig = await engineAuthFor(registryOfReference(ref), registries);
  let stream: NodeJS.ReadableStream;
  try {
    stream = await engine.call<NodeJS.ReadableStream>('POST', '/images/create', { query, stream: true, authconfig, doing: `pulling ${ref}` });
  } catch (e) {
    const named = await registryRefusal(ref, engineMessage(isSousError(e) ? (e.cause ?? e) : e), registries);
    if (named) throw named;
    if (!isSousError(e) || e.details?.retryable === true) throw e;
    throw pullFailed(engine, ref, engineMessage(e.cause ?? e), false);
  }
  const error = await new Promise<string | undefined>((resolve) => {
    let err: string | undefined;
    engine.docker.modem.followProgress(
      stream,
      (e: unknown) => resolve(e ? engineMessage(e) : err),
      (ev: { error?: string; errorDetail?: { message?: string } }) => {
        if (ev.error) err = ev.errorDetail?.message ?? ev.error;
      },
    );
  });
  if (error) {
    const named = await registryRefusal(ref, error, registries);
    if (named) throw named;
    throw pullFailed(engine, ref, error, /connection refused|timeout|503|502|500|EOF|reset by peer/i.test(error));
  }
}

/** A pull the registry refused (credentials, access, TLS): not retryable, and named for what it is. */
async function registryRefusal(ref: string, message: string, registries?: RegistryConfig): Promise<SousError | undefined> {
  const registry = registryOfReference(ref);
  const named = engineRegistryError(registry, repositoryOf(ref), 'pull from', await resolveRegistryAuth(registry, registries), message);
  return named ? new SousError(named.code, named.message, { hints: named.hints, details: { ...named.details, retryable: false, image: ref } }) : undefined;
}

function repositoryOf(ref: string): string {
  try {
    return parseImageReference(ref).repository;
  } catch {
    return ref;
  }
}

function pullFailed(engine: Engine, ref: string, why: string, retryable: boolean) {
  return failure('IMAGE_PULL_FAILED', `the engine at ${engine.address} could not pull ${ref}: ${why}`, {
    hints: ["Check that the image was pushed (and pre-cached into the cluster's registry): sous query artifacts"],
    details: { retryable, image: ref },
  });
}
