import { failure, usageError } from '../errors';
import type { Sous } from '../hooks/sous';
import { manifestKey, type State } from '../gdm/state';
import type { ManifestID } from '../model/ids';
import { checkCluster, findManifest, specFor } from '../ops/manifests';
import type { LogLine, LogRequest, Scheduler } from '../pipeline/types';

export interface LogsOptions extends LogRequest {
  id: ManifestID;
  cluster: string;
}

/**
 * The application's output through its cluster's scheduler (`sous logs`):
 * the deployment must be in the GDM, and the scheduler must serve logs.
 * Refusals (DEPLOYMENT_NOT_FOUND, UNKNOWN_CLUSTER, LOGS_NOT_SUPPORTED) come
 * before any line.
 */
export function deploymentLogs(sous: Sous, state: State, opts: LogsOptions): { deploymentID: string; lines: AsyncIterable<LogLine> } {
  checkCluster(state, opts.cluster);
  specFor(findManifest(state, opts.id), opts.id, opts.cluster);
  if (opts.tail !== undefined && (!Number.isInteger(opts.tail) || opts.tail < 0)) {
    throw usageError('INVALID_TAIL', `--tail ${opts.tail} is not a number of lines`, { hints: ['--tail 100'] });
  }
  const def = state.defs.Clusters![opts.cluster];
  const scheduler: Scheduler | undefined = sous.hooks.scheduler.get(def.Kind)?.call({ name: opts.cluster, def });
  if (!scheduler) {
    throw usageError('UNKNOWN_CLUSTER_KIND', `no scheduler plugin handles clusters of kind ${JSON.stringify(def.Kind)} (cluster ${opts.cluster})`, { hints: ['Add the scheduler plugin for it to the config'] });
  }
  if (!scheduler.streamLogs) {
    throw usageError('LOGS_NOT_SUPPORTED', `the ${def.Kind} scheduler of cluster ${opts.cluster} cannot serve the application's logs`, {
      hints: ['Logs come from docker, swarm, kubernetes and singularity clusters', 'Look where the cluster keeps its output'],
    });
  }
  const deploymentID = `${opts.cluster}:${manifestKey(opts.id)}`;
  const { id: _id, cluster: _cluster, ...req } = opts;
  return { deploymentID, lines: scheduler.streamLogs(deploymentID, req) };
}

/** An instance as a scheduler names it for logs. */
export interface LogInstance {
  name: string;
  id: string;
}

/**
 * The instances a log request is for: all of them, or the one `instance`
 * names (by name, or the start of its id). Throws NO_INSTANCES or
 * INSTANCE_NOT_FOUND listing the ones there are.
 */
export function pickInstances<T extends LogInstance>(all: T[], deploymentID: string, instance?: string): T[] {
  if (!all.length) {
    throw failure('NO_INSTANCES', `${deploymentID} has no instances to read logs from`, { hints: ['See what runs: sous status', 'Deploy it: sous deploy --tag VERSION'] });
  }
  if (!instance) return all;
  const hit = all.filter((i) => i.name === instance || i.id === instance || (instance.length >= 4 && i.id.startsWith(instance)));
  if (!hit.length) {
    throw usageError('INSTANCE_NOT_FOUND', `${deploymentID} has no instance ${JSON.stringify(instance)}`, { hints: [`Its instances: ${all.map((i) => i.name).join(', ')}`] });
  }
  return hit;
}

/** Lines from several instances in the order they were written (lines without a time keep their place after the ones before them). */
export function byTime(lines: LogLine[]): LogLine[] {
  return lines
    .map((l, i) => ({ l, i, t: l.time ? Date.parse(l.time) : NaN }))
    .sort((a, b) => (Number.isNaN(a.t) || Number.isNaN(b.t) ? a.i - b.i : a.t - b.t || a.i - b.i))
    .map((x) => x.l);
}

/** Yields from every source as lines arrive, until all of them end. */
export async function* mergeLines(sources: AsyncIterable<LogLine>[]): AsyncIterable<LogLine> {
  const its = sources.map((s) => s[Symbol.asyncIterator]());
  const pending = new Map<number, Promise<{ i: number; r: IteratorResult<LogLine> }>>();
  const next = (i: number) => pending.set(i, its[i].next().then((r) => ({ i, r })));
  its.forEach((_, i) => next(i));
  try {
    while (pending.size) {
      const { i, r } = await Promise.race(pending.values());
      if (r.done) pending.delete(i);
      else {
        next(i);
        yield r.value;
      }
    }
  } finally {
    // Reads still in flight may fail once their streams are cut (an abort): nobody waits for them any more.
    for (const p of pending.values()) p.catch(() => undefined);
    await Promise.all(its.map((it, i) => (pending.has(i) ? it.return?.()?.catch(() => undefined) : undefined)));
  }
}

/** Splits a stream of text chunks into lines (the last one only once it is complete, or at the end). */
export async function* splitLines(chunks: AsyncIterable<string | Buffer>): AsyncIterable<string> {
  let rest = '';
  for await (const c of chunks) {
    rest += typeof c === 'string' ? c : c.toString('utf8');
    let nl: number;
    while ((nl = rest.indexOf('\n')) >= 0) {
      yield rest.slice(0, nl).replace(/\r$/, '');
      rest = rest.slice(nl + 1);
    }
  }
  if (rest) yield rest;
}

/** Splits `2026-01-02T03:04:05.123456789Z text` (the time prefix docker and Kubernetes add) into its parts. */
export function timestamped(line: string): { time?: string; text: string } {
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)) ?(.*)$/s.exec(line);
  if (!m) return { text: line };
  const t = Date.parse(m[1].replace(/(\.\d{3})\d+/, '$1'));
  return { time: Number.isNaN(t) ? m[1] : new Date(t).toISOString(), text: m[2] };
}

/** `--since`: a duration back from now (90s, 10m, 2h, 1d) or a time (2026-01-02T03:04:05Z); ms since the epoch. */
export function parseSince(text: string, now = Date.now()): number {
  const t = text.trim();
  const m = /^(\d+(?:\.\d+)?)(s|m|h|d)$/.exec(t);
  if (m) return now - Number(m[1]) * { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 's' | 'm' | 'h' | 'd'];
  const at = /^\d{4}-\d\d-\d\d/.test(t) ? Date.parse(t) : NaN;
  if (Number.isNaN(at)) throw usageError('INVALID_SINCE', `--since ${JSON.stringify(text)} is neither a duration nor a time`, { hints: ['--since 10m (also 90s, 2h, 1d)', '--since 2026-01-02T03:04:05Z'] });
  return at;
}
