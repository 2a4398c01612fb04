import type { FastifyInstance } from 'fastify';
import { deploymentHistory, usageError } from '@sous/core';
import type { ServerContext } from '../context';
import { authorize, clusterFrom, manifestIDFrom } from '../http';

/** ?limit=N: 1 to 1000, default 20. */
export function limitFrom(q: Record<string, unknown>, def = 20): number {
  const limit = q.limit === undefined ? def : Number(q.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw usageError('INVALID_QUERY', 'limit must be a whole number from 1 to 1000', { field: 'limit', hints: ['?limit=20'] });
  return limit;
}

/**
 * GET /history?repo&offset&flavor&cluster&limit (read scope): each change
 * of the deployments in scope, newest first, from the GDM's log joined with
 * this server's rectify outcomes (`sous history` through a server).
 */
export function historyRoutes(app: FastifyInstance, ctx: ServerContext): void {
  app.get('/history', async (req) => {
    await authorize(ctx, req, 'read');
    const q = req.query as Record<string, unknown>;
    const cluster = clusterFrom(q, false);
    const limit = limitFrom(q);
    const manifest = q.repo !== undefined ? manifestIDFrom(q) : undefined;
    const state = await ctx.cache.get();
    const entries = await deploymentHistory(ctx.gdm, await ctx.rectifier.outcomes.all(), { manifest, cluster, limit, state });
    return { revision: state.revision, entries };
  });
}
