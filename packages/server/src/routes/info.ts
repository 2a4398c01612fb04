import type { FastifyInstance } from 'fastify';
import { formatManifestID, intendedDeployments } from '@sous/core';
import type { ServerContext } from '../context';
import { authorize } from '../http';
import { renderStatusPage, type PageRow } from '../status-page';

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

  app.get('/', async (req, reply) => {
    await authorize(ctx, req, 'read');
    const { plan, state, actual } = await ctx.rectifier.plan({ clusters: ctx.clusters, filters: {} });
    const outcomes = new Map((await ctx.rectifier.status.all()).map((o) => [o.id, o]));
    const rows = new Map<string, PageRow>();
    for (const d of intendedDeployments(state)) {
      if (ctx.clusters && !ctx.clusters.includes(d.cluster)) continue;
      rows.set(d.id, { deploymentID: d.id, cluster: d.cluster, manifestID: formatManifestID(d.manifestID), intended: { version: d.spec.Version ?? '', instances: d.spec.NumInstances ?? 0 }, last: outcomes.get(d.id) });
    }
    for (const a of actual) {
      const row = rows.get(a.id) ?? { deploymentID: a.id, cluster: a.cluster, manifestID: formatManifestID(a.manifestID), last: outcomes.get(a.id) };
      row.actual = { version: a.spec.Version ?? '', instances: a.spec.NumInstances ?? 0, status: a.status, message: a.message };
      rows.set(a.id, row);
    }
    const clusters = (ctx.clusters ?? Object.keys(state.defs.Clusters ?? {})).slice().sort();
    reply.type('text/html; charset=utf-8');
    return renderStatusPage({ state, rows: [...rows.values()], clusters, errors: plan.errors, version: ctx.version, generatedAt: new Date().toISOString() });
  });
}
