import type { FastifyInstance } from 'fastify';
import { manifestKey, planRollback, SousError, statusDirFor, updateDeployment, usageError, type Api } from '@sous/core';
import type { ServerContext } from '../context';
import { authorize, body, checkPrecondition, clusterFrom, manifestIDFrom } from '../http';
import { deploymentEtag, ownCluster, queueItemDoc } from './deploy';

/**
 * POST /rollback?repo&offset&flavor&cluster (deploy scope), body { to?, force? }:
 * `sous rollback` through a server. The version is chosen from the GDM's
 * history and this server's outcomes, verified exactly as a deploy is, and
 * written as one commit that says it is a rollback (pausing AutoDeploy when
 * the deployment has it), then queued like PUT /single-deployment: 201 with
 * the queue item's Location. If-Match (the deployment's ETag) is checked
 * when given.
 */
export function rollbackRoutes(app: FastifyInstance, ctx: ServerContext): void {
  app.post('/rollback', async (req, reply) => {
    const who = await authorize(ctx, req, 'deploy');
    const q = req.query as Record<string, unknown>;
    const id = manifestIDFrom(q);
    const cluster = clusterFrom(q)!;
    const want = (req.body && typeof req.body === 'object' ? body<Api.RollbackRequest>(req, '/definitions/RollbackRequest') : {}) as Api.RollbackRequest;
    const state = await ctx.cache.get();
    if (!state.defs.Clusters?.[cluster]) throw usageError('UNKNOWN_CLUSTER', `cluster ${JSON.stringify(cluster)} is not defined`, { hints: ['GET /defs lists the clusters'] });
    ownCluster(ctx, state, cluster);
    if (ctx.closing) throw new SousError('SHUTTING_DOWN', 'the server is shutting down', { hints: ['Retry against another server, or in a moment'] });
    const user = { name: who.name, email: who.email };
    const plan = await planRollback(ctx.gdm, statusDirFor(ctx.config.stateLocation), { id, cluster, to: want.to, force: want.force, user });
    const r = await updateDeployment(ctx.sous, ctx.gdm, {
      id,
      cluster,
      version: plan.version,
      user,
      message: plan.message,
      pauseAutoDeploy: plan.pause,
      expectDigest: want.force ? undefined : plan.digest,
      expect: (s) => {
        if (req.headers['if-match'] !== undefined) checkPrecondition(req, deploymentEtag(s, manifestKey(id), cluster));
      },
    });
    ctx.cache.invalidate();
    const item = ctx.autoresolver ? ctx.autoresolver.enqueue(r.deploymentID, { version: r.version, force: want.force, requestedBy: who.name }) : undefined;
    await ctx.audit({ who, method: 'POST', path: `/rollback ${r.deploymentID}`, status: 201, revision: r.revision, detail: `${plan.from || '-'} → ${r.version}${want.force ? ' (force)' : ''}` });
    if (item) reply.header('Location', `/deploy-queue-item?id=${item.id}`);
    return reply.code(201).send({ ...r, rollback: { from: plan.from, to: r.version }, queueItem: item ? queueItemDoc(ctx, item) : null });
  });
}
