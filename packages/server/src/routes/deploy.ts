import type { FastifyInstance } from 'fastify';
import { checkReadable, expandDeploySpec, intendedDeployments, type ResolvedFilters, manifestKey, SousError, updateDeployment, usageError, type Api, type State } from '@sous/core';
import type { QueueItem } from '../autoresolver';
import type { ServerContext } from '../context';
import { authorize, body, checkPrecondition, clusterFrom, etagOfJSON, manifestIDFrom, quoteEtag } from '../http';

export function deploymentEtag(state: State, key: string, cluster: string): string | undefined {
  const spec = state.manifests.get(key)?.manifest.Deployments?.[cluster];
  return spec ? etagOfJSON(spec) : undefined;
}

export function queueItemDoc(ctx: ServerContext, i: QueueItem) {
  return { ...i, position: ctx.autoresolver?.position(i) ?? 0 };
}

/** Refuses work for a cluster another server rectifies, naming that server. */
export function ownCluster(ctx: ServerContext, state: State, cluster: string): void {
  if (ctx.clusters && !ctx.clusters.includes(cluster)) {
    const other = state.servers[cluster];
    throw new SousError('MISDIRECTED', `this server does not rectify cluster ${cluster}${other ? `; ${other} does` : ''}`, {
      exit: 2,
      hints: [other ? `Send the request to ${other}` : 'See GET /servers for the server of each cluster'],
      details: { server: other ?? null },
    });
  }
}

/** The rectify filters a query names: ?repo&offset[&flavor] and ?cluster, each optional. */
function filtersFrom(q: Record<string, unknown>): ResolvedFilters {
  const cluster = clusterFrom(q, false);
  if (!q.repo) return { cluster };
  const id = manifestIDFrom(q);
  return { repo: id.source.repo, offset: id.source.dir, ...(q.flavor !== undefined ? { flavor: id.flavor } : {}), cluster };
}

export function deployRoutes(app: FastifyInstance, ctx: ServerContext): void {
  app.get('/single-deployment', async (req, reply) => {
    await authorize(ctx, req, 'read');
    const q = req.query as Record<string, unknown>;
    const id = manifestIDFrom(q);
    const cluster = clusterFrom(q)!;
    const s = await ctx.cache.get();
    const m = s.manifests.get(manifestKey(id));
    const spec = m?.manifest.Deployments?.[cluster];
    if (!s.defs.Clusters?.[cluster]) throw usageError('UNKNOWN_CLUSTER', `cluster ${JSON.stringify(cluster)} is not defined`, { hints: ['GET /defs lists the clusters'] });
    if (!m) checkReadable(s, id);
    if (!m || !spec) throw usageError('DEPLOYMENT_NOT_FOUND', `no deployment ${cluster}:${manifestKey(id)}`, { hints: ['GET /gdm lists the deployments'] });
    const etag = etagOfJSON(spec);
    reply.header('ETag', quoteEtag(etag));
    return { deploymentID: `${cluster}:${manifestKey(id)}`, manifestID: manifestKey(id), cluster, etag, spec, expanded: expandDeploySpec(spec, s.defs.Clusters[cluster]) };
  });

  app.put('/single-deployment', async (req, reply) => {
    const who = await authorize(ctx, req, 'deploy');
    const q = req.query as Record<string, unknown>;
    const id = manifestIDFrom(q);
    const cluster = clusterFrom(q)!;
    const put = body<Api.SingleDeploymentPut>(req, '/definitions/SingleDeploymentPut');
    const first = await ctx.cache.get();
    if (!first.defs.Clusters?.[cluster]) throw usageError('UNKNOWN_CLUSTER', `cluster ${JSON.stringify(cluster)} is not defined`, { hints: ['GET /defs lists the clusters'] });
    ownCluster(ctx, first, cluster);
    if (ctx.closing) throw new SousError('SHUTTING_DOWN', 'the server is shutting down', { hints: ['Retry against another server, or in a moment'] });
    const r = await updateDeployment(ctx.sous, ctx.gdm, {
      id,
      cluster,
      version: put.version,
      user: { name: who.name, email: who.email },
      expect: (s) => checkPrecondition(req, deploymentEtag(s, manifestKey(id), cluster)),
    });
    ctx.cache.invalidate();
    const item = ctx.autoresolver
      ? ctx.autoresolver.enqueue(r.deploymentID, { version: r.version, force: put.force, requestedBy: who.name })
      : undefined;
    await ctx.audit({ who, method: 'PUT', path: `/single-deployment ${r.deploymentID}`, status: 201, revision: r.revision, detail: `${r.previousVersion || '-'} → ${r.version}${put.force ? ' (force)' : ''}` });
    const s = await ctx.cache.get();
    const etag = deploymentEtag(s, manifestKey(id), cluster);
    if (etag) reply.header('ETag', quoteEtag(etag));
    if (item) reply.header('Location', `/deploy-queue-item?id=${item.id}`);
    return reply.code(201).send({ ...r, queueItem: item ? queueItemDoc(ctx, item) : null });
  });

  app.get('/deploy-queue-item', async (req) => {
    await authorize(ctx, req, 'read');
    const idParam = (req.query as Record<string, unknown>).id ?? (req.query as Record<string, unknown>).action;
    const item = typeof idParam === 'string' ? ctx.autoresolver?.items.get(idParam) : undefined;
    if (!item) throw usageError('QUEUE_ITEM_NOT_FOUND', `no queued rectification ${JSON.stringify(idParam ?? '')}`, { hints: ['Items are kept for a while after they finish; GET /all-deploy-queues lists them'] });
    return queueItemDoc(ctx, item);
  });

  app.get('/deploy-queue', async (req) => {
    await authorize(ctx, req, 'read');
    const q = req.query as Record<string, unknown>;
    const id = manifestIDFrom(q);
    const cluster = clusterFrom(q)!;
    const did = `${cluster}:${manifestKey(id)}`;
    return { items: [...(ctx.autoresolver?.items.values() ?? [])].filter((i) => i.deploymentID === did).map((i) => queueItemDoc(ctx, i)) };
  });

  app.get('/all-deploy-queues', async (req) => {
    await authorize(ctx, req, 'read');
    return { items: [...(ctx.autoresolver?.items.values() ?? [])].map((i) => queueItemDoc(ctx, i)) };
  });

  app.post('/rectify', async (req) => {
    const who = await authorize(ctx, req, 'deploy');
    const q = req.query as Record<string, unknown>;
    const opts = (req.body && typeof req.body === 'object' ? body<Api.RectifyRequest>(req, '/definitions/RectifyRequest') : {}) as Api.RectifyRequest;
    const filters = filtersFrom(q);
    if (ctx.closing) throw new SousError('SHUTTING_DOWN', 'the server is shutting down', { hints: ['Retry in a moment'] });
    const r = await ctx.runExclusive(() => ctx.rectifier.run({ clusters: ctx.clusters, filters, prune: opts.prune, force: opts.force }));
    await ctx.audit({ who, method: 'POST', path: '/rectify', status: 200, revision: r.plan.revision, detail: `${r.outcomes.length} action(s)` });
    return r;
  });

  app.get('/plan', async (req) => {
    await authorize(ctx, req, 'read');
    const q = req.query as Record<string, unknown>;
    const filters = filtersFrom(q);
    const { plan, actual } = await ctx.rectifier.plan({ clusters: ctx.clusters, filters, prune: q.prune === 'true' });
    return { plan, actual };
  });

  app.get('/status', async (req) => {
    await authorize(ctx, req, 'read');
    const s = await ctx.cache.get();
    const outcomes = new Map((await ctx.rectifier.status.all()).map((o) => [o.id, o]));
    const last = ctx.autoresolver?.lastPass;
    const deployments = intendedDeployments(s)
      .filter((d) => !ctx.clusters || ctx.clusters.includes(d.cluster))
      .map((d) => ({ deploymentID: d.id, cluster: d.cluster, intended: { version: d.spec.Version ?? '', instances: d.spec.NumInstances ?? 0 }, last: outcomes.get(d.id) ?? null }));
    return {
      revision: s.revision,
      clusters: ctx.clusters ?? Object.keys(s.defs.Clusters ?? {}),
      current: ctx.autoresolver?.current ?? null,
      last: last
        ? { reason: last.reason, startedAt: last.startedAt, durationMs: last.durationMs, outcomes: last.outcomes.map((o) => ({ deploymentID: o.action.deploymentID, kind: o.action.kind, status: o.status, resolution: o.resolution, message: o.message })), held: last.plan.held.map((h) => h.action.deploymentID), errors: last.plan.errors }
        : null,
      deployments,
    };
  });
}
