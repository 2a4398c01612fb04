import type { FastifyInstance } from 'fastify';
import type { ServerContext } from '../context';
import { authorize } from '../http';

export function infoRoutes(app: FastifyInstance, ctx: ServerContext): void {
  app.get('/health', async () => {
    const s = await ctx.cache.get();
    return { status: ctx.closing ? 'closing' : 'ok', version: ctx.version, revision: s.revision, clusters: ctx.clusters ?? Object.keys(s.defs.Clusters ?? {}) };
  });

  app.get('/metrics', async (req, reply) => {
    await authorize(ctx, req, 'read');
    reply.type(ctx.metrics.registry.contentType);
    return ctx.metrics.registry.metrics();
  });
}
