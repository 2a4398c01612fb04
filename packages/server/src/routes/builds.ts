import type { FastifyInstance } from 'fastify';
import { usageError } from '@sous/core';
import type { BuildJob, JobState } from '../builds';
import type { ServerContext } from '../context';
import { authorize, manifestIDFrom } from '../http';

const STATES: readonly JobState[] = ['queued', 'running', 'built', 'skipped', 'failed', 'cancelled'];
const ID = /^[0-9a-z]{9}-[0-9a-f]{6}$/;

function jobOf(ctx: ServerContext, id: unknown): BuildJob {
  const job = typeof id === 'string' && ID.test(id) ? ctx.builds?.store.jobs.get(id) : undefined;
  if (!job) throw usageError('BUILD_NOT_FOUND', `no build ${JSON.stringify(id)}`, { hints: ['GET /builds lists them (finished ones are kept for a while)'] });
  return job;
}

export function jobDoc(job: BuildJob) {
  return { ...job, links: { self: `/builds/${job.id}`, log: `/builds/${job.id}/log` } };
}

/**
 * The build jobs of pushed tags: GET /builds, /builds/:id and /builds/:id/log
 * (read scope). The log is plain text, or { state, size, text } to a client
 * that accepts JSON; ?offset= skips what a follower already has.
 */
export function buildRoutes(app: FastifyInstance, ctx: ServerContext): void {
  app.get('/builds', async (req) => {
    await authorize(ctx, req, 'read');
    const q = req.query as Record<string, unknown>;
    let jobs = ctx.builds?.store.list() ?? [];
    if (q.repo !== undefined) {
      const id = manifestIDFrom(q);
      jobs = jobs.filter((j) => j.repo === id.source.repo && (q.offset === undefined || j.offset === id.source.dir));
    }
    if (q.state !== undefined) {
      const states = String(q.state).split(',');
      const bad = states.find((s) => !STATES.includes(s as JobState));
      if (bad) throw usageError('INVALID_QUERY', `state ${JSON.stringify(bad)} is not one of ${STATES.join(', ')}`, { field: 'state', hints: ['?state=queued,running'] });
      jobs = jobs.filter((j) => states.includes(j.state));
    }
    if (q.version !== undefined) jobs = jobs.filter((j) => j.version === String(q.version).replace(/^v/i, ''));
    const limit = q.limit === undefined ? 100 : Number(q.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw usageError('INVALID_QUERY', 'limit must be a whole number from 1 to 1000', { field: 'limit', hints: ['?limit=20'] });
    return { builds: jobs.slice(0, limit).map(jobDoc), total: jobs.length };
  });

  app.get('/builds/:id', async (req) => {
    await authorize(ctx, req, 'read');
    return jobDoc(jobOf(ctx, (req.params as Record<string, unknown>).id));
  });

  app.get('/builds/:id/log', async (req, reply) => {
    await authorize(ctx, req, 'read');
    const job = jobOf(ctx, (req.params as Record<string, unknown>).id);
    const from = Number((req.query as Record<string, unknown>).offset ?? 0);
    if (!Number.isInteger(from) || from < 0) throw usageError('INVALID_QUERY', 'offset must be a byte offset (a whole number)', { field: 'offset', hints: ['?offset=0'] });
    const { text, size } = ctx.builds!.store.readLog(job.id, from);
    // The size lets a follower ask for only what came after; the state says when to stop.
    if (/application\/json/.test(String(req.headers.accept ?? ''))) return { id: job.id, state: job.state, offset: Math.min(from, size), size, text };
    reply.header('X-Log-Size', String(size)).header('X-Build-State', job.state).type('text/plain; charset=utf-8');
    return text;
  });
}
