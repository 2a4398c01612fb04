import type { FastifyInstance } from 'fastify';
import { deploymentLogs, parseSince, toSousError, usageError, type LogLine } from '@sous/core';
import type { ServerContext } from '../context';
import { authorize, clusterFrom, manifestIDFrom } from '../http';

/** How long the first line may take before the answer starts anyway (a follower of a quiet app waits for lines). */
const FIRST_LINE_MS = 250;

/** The log options a query names: ?follow=true&since=10m&tail=100&instance=NAME. */
export function logQueryFrom(q: Record<string, unknown>): { follow: boolean; since?: number; tail?: number; instance?: string } {
  const follow = q.follow === 'true' || q.follow === '1';
  if (q.follow !== undefined && !['true', 'false', '1', '0'].includes(String(q.follow))) throw usageError('INVALID_QUERY', 'follow is true or false', { field: 'follow', hints: ['?follow=true'] });
  const tail = q.tail === undefined ? undefined : Number(q.tail);
  if (tail !== undefined && (!Number.isInteger(tail) || tail < 0)) throw usageError('INVALID_TAIL', `tail ${JSON.stringify(q.tail)} is not a number of lines`, { field: 'tail', hints: ['?tail=100'] });
  const since = q.since === undefined ? undefined : parseSince(String(q.since));
  const instance = q.instance === undefined ? undefined : String(q.instance);
  return { follow, ...(since !== undefined ? { since } : {}), ...(tail !== undefined ? { tail } : {}), ...(instance ? { instance } : {}) };
}

/** One line as text: `instance | text`. */
export function lineText(l: LogLine): string {
  return `${l.instance} | ${l.text}\n`;
}

/**
 * Starts reading a deployment's logs, waiting (briefly) for the first line
 * so that a refusal (no instances, an unknown instance, a cluster that cannot
 * be read) is an error answer, not a broken stream.
 */
export async function openLogs(ctx: ServerContext, q: Record<string, unknown>, signal: AbortSignal): Promise<{ deploymentID: string; first?: IteratorResult<LogLine>; rest: AsyncIterator<LogLine> }> {
  const id = manifestIDFrom(q);
  const cluster = clusterFrom(q)!;
  const opts = logQueryFrom(q);
  const { deploymentID, lines } = deploymentLogs(ctx.sous, await ctx.cache.get(), { id, cluster, ...opts, signal });
  const it = lines[Symbol.asyncIterator]();
  const next = it.next();
  // Awaited below either way; marked handled so a refusal that comes after the race is not reported as unhandled.
  next.catch(() => undefined);
  const first = await Promise.race([next, new Promise<undefined>((r) => setTimeout(() => r(undefined), FIRST_LINE_MS).unref())]);
  if (first) return { deploymentID, first, rest: it };
  // Still waiting: hand on the pending read, so no line is lost.
  let pending: Promise<IteratorResult<LogLine>> | undefined = next;
  const rest: AsyncIterator<LogLine> = {
    next: () => {
      const p = pending ?? it.next();
      pending = undefined;
      return p;
    },
    return: (v?: unknown) => it.return?.(v) ?? Promise.resolve({ done: true, value: undefined }),
  };
  return { deploymentID, rest };
}

/**
 * GET /logs?repo&offset&flavor&cluster[&follow&since&tail&instance] (read
 * scope): the application's output through its cluster's scheduler, streamed
 * as it is read. Plain text (`instance | line`), or one JSON object per line
 * (application/x-ndjson) to a client that accepts JSON. With follow=true the
 * answer goes on until the client leaves. A failure after the first line ends
 * the stream with an `{"error": ...}` line.
 */
export function logRoutes(app: FastifyInstance, ctx: ServerContext): void {
  app.get('/logs', async (req, reply) => {
    await authorize(ctx, req, 'read');
    const abort = new AbortController();
    // The response's close: the client left (or the answer ended).
    reply.raw.on('close', () => abort.abort());
    const stop = () => abort.abort();
    ctx.streamsEnd?.addEventListener('abort', stop, { once: true });
    const { deploymentID, first, rest } = await openLogs(ctx, req.query as Record<string, unknown>, abort.signal);
    const json = /json/.test(String(req.headers.accept ?? ''));
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, { 'content-type': json ? 'application/x-ndjson' : 'text/plain; charset=utf-8', 'cache-control': 'no-store', 'x-deployment-id': deploymentID, 'x-content-type-options': 'nosniff', connection: 'close' });
    const write = (l: LogLine) => res.write(json ? JSON.stringify(l) + '\n' : lineText(l));
    try {
      if (first && !first.done) write(first.value);
      if (!first?.done) {
        for (let r = await rest.next(); !r.done && !abort.signal.aborted; r = await rest.next()) write(r.value);
      }
    } catch (e) {
      if (!abort.signal.aborted) {
        const se = toSousError(e, 'LOGS_FAILED');
        res.write(json ? JSON.stringify({ error: { code: se.code, message: se.message } }) + '\n' : `error: ${se.message} [${se.code}]\n`);
      }
    } finally {
      ctx.streamsEnd?.removeEventListener('abort', stop);
      await rest.return?.().catch(() => undefined);
      res.end();
    }
  });
}
