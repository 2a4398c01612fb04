import { failure, isSousError, SousError } from '../errors';
import { CONFLICT_RETRIES, conflictDelay, sleep } from '../util/async';
import type { ManifestID } from '../model/ids';
import { EXIT_DEPLOY_TIMEOUT, type DeployResult } from '../deploy/deploy';
import type { UpdateResult } from '../deploy/update';
import type { ResolvedFilters } from '../ops/filters';
import type { DeployState, LogLine, RectifyPlan, RectifyResult } from '../pipeline/types';
import type { HistoryEntry } from '../history/history';
import type { QueueItem } from '../generated/api';
import { ServerClient } from './client';

/** The server that rectifies `cluster` (from its servers map), else the configured one. */
export async function serverFor(client: ServerClient, cluster: string): Promise<ServerClient> {
  const r = await client.request<{ servers: Record<string, string> }>('GET', '/servers');
  const url = r.body.servers?.[cluster];
  return url && url.replace(/\/+$/, '') !== client.base ? client.at(url) : client;
}

function query(id: ManifestID, cluster?: string): Record<string, string | undefined> {
  return { repo: id.source.repo, offset: id.source.dir, flavor: id.flavor, cluster };
}

/** `sous update` through a server: it verifies and writes exactly as the CLI does locally, then queues a rectification. */
export async function remoteUpdate(client: ServerClient, opts: { id: ManifestID; cluster: string; version: string; force?: boolean }): Promise<UpdateResult & { queueItem?: QueueItem; server: string }> {
  const server = await serverFor(client, opts.cluster);
  for (let attempt = 0; ; attempt++) {
    const cur = await server.request<{ etag: string }>('GET', '/single-deployment', { query: query(opts.id, opts.cluster) });
    try {
      const r = await server.request<UpdateResult & { queueItem: QueueItem | null }>('PUT', '/single-deployment', {
        query: query(opts.id, opts.cluster),
        headers: { 'if-match': cur.etag ?? '*' },
        body: { version: opts.version, ...(opts.force ? { force: true } : {}) },
      });
      return { ...r.body, queueItem: r.body.queueItem ?? undefined, server: server.base };
    } catch (e) {
      // The deployment changed between the read and the write (its metadata or scale, say): the version
      // asked for is still what is wanted, so it is written again over what changed, as a local deploy does.
      if (isSousError(e) && e.code === 'PRECONDITION_FAILED' && attempt < CONFLICT_RETRIES) {
        await sleep(conflictDelay(attempt, 500));
        continue;
      }
      throw e;
    }
  }
}

/** `sous deploy` through a server: update, then poll the queue item until it resolves or time runs out. */
export async function remoteDeploy(client: ServerClient, opts: { id: ManifestID; cluster: string; version: string; force?: boolean; noWait?: boolean; timeoutMs?: number; pollMs?: number }): Promise<DeployResult> {
  const u = await remoteUpdate(client, opts);
  const { queueItem, server, ...updated } = u;
  return waitForQueueItem(client.at(server), updated, queueItem, opts);
}

/** Waits for the deploy queue item a server answered a write with, and turns its resolution into deploy's outcome (and exit codes). */
export async function waitForQueueItem(server: ServerClient, updated: UpdateResult, queueItem: QueueItem | undefined, opts: { noWait?: boolean; timeoutMs?: number; pollMs?: number }): Promise<DeployResult> {
  if (opts.noWait) return { ...updated, status: 'requested' };
  if (!queueItem) {
    throw failure('NO_AUTORESOLVER', `the server ${server.base} wrote ${updated.deploymentID} ${updated.version} but does not rectify (no --autoresolver)`, {
      hints: ['Start the server with --autoresolver, or rectify it: sous rectify'],
    });
  }
  const deadline = Date.now() + (opts.timeoutMs ?? 20 * 60_000);
  let item = queueItem;
  while (item.state !== 'done' && Date.now() < deadline) {
    await sleep(opts.pollMs ?? 200);
    item = (await server.request<QueueItem>('GET', '/deploy-queue-item', { query: { id: queueItem.id } })).body;
  }
  const res = item.resolution;
  const outcome = res ? { resolution: res.resolution as 'created', status: res.status as 'Active', message: res.message, attempts: 1, durationMs: 0 } : undefined;
  if (item.state !== 'done' || !res || res.status === 'Pending') {
    throw new SousError('DEPLOY_TIMEOUT', `${updated.deploymentID} ${updated.version} was not ready in time${res?.message ? `: ${res.message}` : ''}`, {
      exit: EXIT_DEPLOY_TIMEOUT,
      hints: ['Check it later with: sous status', 'Wait longer with --timeout'],
      details: { queueItem: item },
    });
  }
  if (res.status === 'Failed') {
    throw failure(res.code === 'DEPLOY_HELD' ? 'DEPLOY_HELD' : 'DEPLOY_FAILED', `${updated.deploymentID} ${updated.version} failed: ${res.message ?? 'the scheduler gave no reason'}`, {
      hints: updated.previousVersion ? [`The previous version (${updated.previousVersion}) keeps serving where the scheduler allows.`] : [],
      details: { queueItem: item },
    });
  }
  return { ...updated, status: 'live', outcome };
}

/** `sous rollback` through the server of the cluster: it chooses, verifies and writes the rollback; this waits as a deploy does. */
export async function remoteRollback(client: ServerClient, opts: { id: ManifestID; cluster: string; to?: string; force?: boolean; noWait?: boolean; timeoutMs?: number; pollMs?: number }): Promise<DeployResult & { rollback: { from: string; to: string } }> {
  const server = await serverFor(client, opts.cluster);
  const r = await server.request<UpdateResult & { rollback: { from: string; to: string }; queueItem: QueueItem | null }>('POST', '/rollback', {
    query: query(opts.id, opts.cluster),
    body: { ...(opts.to ? { to: opts.to } : {}), ...(opts.force ? { force: true } : {}) },
  });
  const { queueItem, rollback, ...updated } = r.body;
  return { ...(await waitForQueueItem(server, updated, queueItem ?? undefined, opts)), rollback };
}

/** `sous history` through a server (the server of the cluster when one is given: it has that cluster's outcomes). */
export async function remoteHistory(client: ServerClient, opts: { id?: ManifestID; cluster?: string; limit?: number }): Promise<HistoryEntry[]> {
  const server = opts.cluster ? await serverFor(client, opts.cluster) : client;
  const q = opts.id ? query(opts.id, opts.cluster) : { cluster: opts.cluster };
  return (await server.request<{ entries: HistoryEntry[] }>('GET', '/history', { query: { ...q, ...(opts.limit ? { limit: String(opts.limit) } : {}) } })).body.entries;
}

/** `sous logs` through the server of the cluster: its streamed /logs route, line by line. */
export async function* remoteLogs(client: ServerClient, opts: { id: ManifestID; cluster: string; follow?: boolean; since?: string; tail?: number; instance?: string; signal?: AbortSignal }): AsyncIterable<LogLine> {
  const server = await serverFor(client, opts.cluster);
  const res = await server.stream('/logs', {
    query: { ...query(opts.id, opts.cluster), ...(opts.follow ? { follow: 'true' } : {}), since: opts.since, tail: opts.tail === undefined ? undefined : String(opts.tail), instance: opts.instance },
    signal: opts.signal,
  });
  if (!res.body) return;
  const decoder = new TextDecoder();
  let rest = '';
  try {
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      rest += decoder.decode(chunk, { stream: true });
      let nl: number;
      while ((nl = rest.indexOf('\n')) >= 0) {
        const text = rest.slice(0, nl);
        rest = rest.slice(nl + 1);
        if (!text.trim()) continue;
        const v = JSON.parse(text) as LogLine | { error: { code: string; message: string } };
        if ('error' in v) throw failure(v.error.code, v.error.message, { hints: ['The server stopped reading the logs; try again'] });
        yield v;
      }
    }
  } catch (e) {
    if (opts.signal?.aborted) return;
    throw e;
  }
}

/** The servers that rectify the clusters in scope (every known server for all clusters). */
async function serversInScope(client: ServerClient, cluster?: string): Promise<ServerClient[]> {
  if (cluster) return [await serverFor(client, cluster)];
  const r = await client.request<{ servers: Record<string, string> }>('GET', '/servers');
  const urls = new Set([client.base, ...Object.values(r.body.servers ?? {}).map((u) => u.replace(/\/+$/, ''))]);
  return [...urls].map((u) => (u === client.base ? client : client.at(u)));
}

function filterQuery(f: ResolvedFilters): Record<string, string | undefined> {
  return { repo: f.repo, offset: f.repo ? (f.offset ?? '') : undefined, flavor: f.flavor, cluster: f.cluster };
}

/** `sous rectify` through servers: each rectifies its own clusters, now. */
export async function remoteRectify(client: ServerClient, filters: ResolvedFilters, opts: { prune?: boolean; force?: boolean }): Promise<RectifyResult> {
  const results = await Promise.all(
    (await serversInScope(client, filters.cluster)).map(async (s) => (await s.request<RectifyResult>('POST', '/rectify', { query: filterQuery(filters), body: { prune: opts.prune, force: opts.force } })).body),
  );
  return merge(results);
}

export async function remotePlan(client: ServerClient, filters: ResolvedFilters, opts: { prune?: boolean } = {}): Promise<{ plan: RectifyPlan; actual: DeployState[] }> {
  const parts = await Promise.all(
    (await serversInScope(client, filters.cluster)).map(async (s) => (await s.request<{ plan: RectifyPlan; actual: DeployState[] }>('GET', '/plan', { query: { ...filterQuery(filters), prune: opts.prune ? 'true' : undefined } })).body),
  );
  const plan = merge(parts.map((p) => ({ plan: p.plan, outcomes: [], startedAt: '', durationMs: 0 }))).plan;
  const seen = new Set<string>();
  const actual = parts.flatMap((p) => p.actual).filter((a) => !seen.has(a.id) && (seen.add(a.id), true));
  return { plan, actual };
}

function merge(results: RectifyResult[]): RectifyResult {
  const uniq = <T>(xs: T[], key: (x: T) => string) => {
    const m = new Map<string, T>();
    for (const x of xs) m.set(key(x), x);
    return [...m.values()];
  };
  return {
    plan: {
      actions: uniq(results.flatMap((r) => r.plan.actions), (a) => `${a.kind}|${a.deploymentID}`),
      unchanged: [...new Set(results.flatMap((r) => r.plan.unchanged))].sort(),
      held: uniq(results.flatMap((r) => r.plan.held), (h) => h.action.deploymentID),
      errors: uniq(results.flatMap((r) => r.plan.errors), (e) => `${e.cluster ?? ''}|${e.manifest ?? ''}|${e.code}`),
      revision: results[0]?.plan.revision ?? '',
    },
    outcomes: results.flatMap((r) => r.outcomes).sort((a, b) => a.action.deploymentID.localeCompare(b.action.deploymentID)),
    startedAt: results.map((r) => r.startedAt).sort()[0] ?? new Date().toISOString(),
    durationMs: Math.max(0, ...results.map((r) => r.durationMs)),
  };
}


