/**
 * The original Sous's HTTP API, for its CLI (`sous server --legacy-api`):
 * its routes and shapes (server/*.go, util/restful/*.go), answered from the
 * same GDM and autoresolver as Sous's own API. A request without an
 * Authorization header is the original client's: it is answered here, only
 * from the networks the operator trusts (`--legacy-trust`), the user taken
 * from its `Sous-User-Name`/`Sous-User-Email` headers, and every write
 * audited as legacy.
 */
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { checkClustersKnown, formatManifestID, intendedDeployments, isSousError, manifestIDOf, manifestKey, parseManifestID, updateDeployment, validateManifest, type DeploySpec, type ManifestID, type State } from '@sous/core';
import type { Principal } from '../auth';
import type { QueueItem } from '../autoresolver';
import type { ServerContext } from '../context';
import { fromGoDeploySpec, fromGoManifest, goCluster, goDeployment, goDeploySpec, goManifest } from './shapes';
import { checkLegacyPut, header, legacyError, LegacyRefusal, sendLegacy, TrustedNetworks } from './wire';

export { TrustedNetworks } from './wire';
export * from './shapes';

export interface LegacyOptions {
  trust: TrustedNetworks;
  /** How long `?wait=true` on a queue item waits, in ms (default 10 min). */
  waitMs?: number;
}

const STATUS = { Pending: 1, Active: 2, Failed: 3 } as const;

/** DeploySpec fields Sous has and the original does not send; the pinned image only while the version stays. */
const SOUS_ONLY = ['AutoDeploy', 'Args', 'Stack', 'Autoscaled', 'Route'] as const;
function sousOnly(spec: DeploySpec, sameVersion: boolean): Partial<DeploySpec> {
  const out: Record<string, unknown> = {};
  for (const k of [...SOUS_ONLY, ...(sameVersion ? (['Digest', 'Image'] as const) : [])]) if ((spec as Record<string, unknown>)[k] !== undefined) out[k] = (spec as Record<string, unknown>)[k];
  return out as Partial<DeploySpec>;
}

function principal(req: FastifyRequest): Principal {
  const name = header(req, 'sous-user-name') || 'unknown';
  const email = header(req, 'sous-user-email') || '';
  return { id: 'legacy', name, email, scope: 'deploy' };
}

function idFrom(q: Record<string, unknown>): ManifestID {
  const repo = typeof q.repo === 'string' ? q.repo : '';
  if (!repo) throw new LegacyRefusal(404, 'No manifest ID: the query has no repo');
  return { source: { repo, dir: typeof q.offset === 'string' ? q.offset : '' }, flavor: typeof q.flavor === 'string' ? q.flavor : '' };
}

function clusterFrom(q: Record<string, unknown>): string {
  if (typeof q.cluster !== 'string' || !q.cluster) throw new LegacyRefusal(400, 'Cannot decode Deployment ID: no cluster in the query.');
  return q.cluster;
}

function singleBody(spec: DeploySpec, links: Record<string, string> | null = null) {
  return { Meta: { Links: links }, Deployment: goDeploySpec(spec) };
}

function goDeploymentID(deploymentID: string) {
  const colon = deploymentID.indexOf(':');
  const mid = parseManifestID(deploymentID.slice(colon + 1));
  return { ManifestID: { Source: { Repo: mid.source.repo, Dir: mid.source.dir }, Flavor: mid.flavor }, Cluster: deploymentID.slice(0, colon) };
}

/** dto.R11nResponse for a queue item: position while queued, -1 and the resolution once done. */
function r11nResponse(ctx: ServerContext, state: State, item: QueueItem) {
  if (item.state !== 'done') return { QueuePosition: ctx.autoresolver?.position(item) ?? 0, Resolution: null };
  const r = item.resolution;
  const d = intendedDeployments(state).find((x) => x.id === item.deploymentID);
  const failed = r?.status === 'Failed';
  return {
    QueuePosition: -1,
    Resolution: {
      ...goDeploymentID(item.deploymentID),
      Desc: r?.resolution ?? 'unchanged',
      Error: failed ? { Type: r?.code ?? 'DEPLOY_FAILED', String: r?.message ?? 'failed' } : null,
      DeployState: d ? { ...goDeployment(d), Status: STATUS[r?.status ?? 'Pending'], ExecutorMessage: r?.message ?? '', ExecutorData: null, SchedulerURL: '' } : null,
      SchedulerURL: '',
    },
  };
}

/**
 * Writes a version asked for through the legacy API: verified like `sous
 * update` when its artifact is in the index; a version the original built
 * (no record) is written without a digest, which the rectifier then finds in
 * the registry. Returns the revision written.
 */
async function setVersion(ctx: ServerContext, id: ManifestID, cluster: string, version: string, user: { name: string; email: string }): Promise<string> {
  const key = manifestKey(id);
  try {
    return (await updateDeployment(ctx.sous, ctx.gdm, { id, cluster, version, user })).revision;
  } catch (e) {
    if (!(isSousError(e) && e.code === 'ARTIFACT_NOT_FOUND')) throw e;
    const r = await ctx.gdm.update((s) => {
      const m = structuredClone(s.manifests.get(key)!.manifest);
      const spec = m.Deployments![cluster];
      spec.Version = version;
      delete spec.Digest;
      delete spec.Image;
      return { change: { message: `Deploy ${key} ${version} to ${cluster} (legacy API; the digest is found from the registry)`, setManifests: [m] }, result: undefined };
    }, user);
    return r.revision;
  }
}

/** Builds the legacy API: a fastify instance of its own, handed requests by the main one. */
export async function legacyApi(ctx: ServerContext, opts: LegacyOptions): Promise<FastifyInstance> {
  const app = Fastify({ logger: false, bodyLimit: 1024 * 1024, routerOptions: { ignoreTrailingSlash: true } });
  // Bodies are parsed by the routes: a malformed one is the original's 400, in its words.
  app.addContentTypeParser('*', { parseAs: 'string' }, (_req, b, done) => done(null, b));
  app.removeContentTypeParser(['application/json', 'text/plain']);
  app.addContentTypeParser(['application/json', 'text/plain'], { parseAs: 'string' }, (_req, b, done) => done(null, b));

  const audit = (req: FastifyRequest, status: number, detail?: string, revision?: string) =>
    ctx.audit({ who: principal(req), method: req.method, path: req.url.split('?')[0], status, revision, detail, legacy: true });

  app.addHook('onRequest', async (req, reply) => {
    if (!opts.trust.allows(req.socket.remoteAddress)) {
      await audit(req, 403, `refused: ${req.socket.remoteAddress ?? 'unknown address'} is not in --legacy-trust`);
      return legacyError(reply, 403, `${req.socket.remoteAddress ?? 'this address'} may not use the legacy API (not in the server's --legacy-trust networks)`);
    }
  });
  app.setErrorHandler(async (err, req, reply) => {
    if (err instanceof LegacyRefusal) {
      if (req.method !== 'GET') await audit(req, err.status, `refused: ${err.message.split('\n')[0]}`);
      return legacyError(reply, err.status, err.message);
    }
    if (isSousError(err)) {
      const status = err.exit === 2 ? 400 : 500;
      if (req.method !== 'GET') await audit(req, status, `refused: ${err.code}`);
      return legacyError(reply, status, `${err.message} [${err.code}]`);
    }
    ctx.logger.error(`legacy request failed: ${(err as Error).message}`);
    return legacyError(reply, 500, (err as Error).message);
  });
  app.setNotFoundHandler(async (req, reply) => legacyError(reply, 404, `404 page not found: ${req.url.split('?')[0]}`));

  const manifestDoc = (s: State, id: ManifestID) => {
    const m = s.manifests.get(manifestKey(id));
    return m ? goManifest(m.manifest, m.id) : undefined;
  };

  app.get('/manifest', async (req, reply) => {
    const id = idFrom(req.query as Record<string, unknown>);
    const doc = manifestDoc(await ctx.cache.get(), id);
    if (!doc) return legacyError(reply, 404, `No manifest with ID ${JSON.stringify(formatManifestID(id))}`);
    return sendLegacy(reply, 200, doc);
  });

  app.put('/manifest', async (req, reply) => {
    const id = idFrom(req.query as Record<string, unknown>);
    const who = principal(req);
    const errors: string[] = [];
    let written: string | undefined;
    const r = await ctx.gdm.update((s) => {
      const body = checkLegacyPut(req, manifestDoc(s, id));
      const incoming = fromGoManifest(body, errors);
      if (errors.length) throw new LegacyRefusal(400, `Invalid manifest: ${errors.join('; ')}`);
      if (formatManifestID(manifestIDOf(incoming)) !== formatManifestID(id)) throw new LegacyRefusal(400, `Invalid manifest: its Source and Flavor name ${formatManifestID(manifestIDOf(incoming))}, not ${formatManifestID(id)}`);
      // Keep what the original does not know of where the version stays (the digest belongs to the version).
      const prior = s.manifests.get(manifestKey(id))?.manifest;
      for (const [c, spec] of Object.entries(incoming.Deployments ?? {})) {
        const old = prior?.Deployments?.[c];
        if (old) Object.assign(spec, sousOnly(old, old.Version === spec.Version));
      }
      const m = validateManifest(incoming, `PUT /manifest ${formatManifestID(id)}`);
      checkClustersKnown(m, s.defs.Clusters ?? {});
      written = formatManifestID(id);
      return { change: { message: `Set manifest ${written} (legacy API)`, setManifests: [m] }, result: m };
    }, { name: who.name, email: who.email });
    ctx.cache.invalidate();
    await audit(req, 200, `manifest ${written}`, r.revision);
    return sendLegacy(reply, 200, goManifest(r.result, id));
  });

  app.get('/single-deployment', async (req, reply) => {
    const q = req.query as Record<string, unknown>;
    const id = idFrom(q);
    const cluster = clusterFrom(q);
    const s = await ctx.cache.get();
    const spec = s.manifests.get(manifestKey(id))?.manifest.Deployments?.[cluster];
    if (!s.defs.Clusters?.[cluster]) return legacyError(reply, 404, `Cluster ${JSON.stringify(cluster)} not defined.`);
    if (!spec) return legacyError(reply, 404, `No manifest with ID ${JSON.stringify(formatManifestID(id))} and cluster ${JSON.stringify(cluster)}.`);
    return sendLegacy(reply, 200, singleBody(spec));
  });

  app.put('/single-deployment', async (req, reply) => {
    const q = req.query as Record<string, unknown>;
    const id = idFrom(q);
    const cluster = clusterFrom(q);
    const force = q.force === 'true';
    if (q.force !== undefined && q.force !== 'true' && q.force !== 'false') throw new LegacyRefusal(400, `Cannot parse force from client: ${JSON.stringify(q.force)}`);
    const who = principal(req);
    const key = manifestKey(id);
    const did = `${cluster}:${key}`;
    const first = await ctx.gdm.read();
    if (!first.defs.Clusters?.[cluster]) throw new LegacyRefusal(404, `Cluster ${JSON.stringify(cluster)} not defined.`);
    const original = first.manifests.get(key)?.manifest.Deployments?.[cluster];
    if (!original) throw new LegacyRefusal(404, `Manifest ${JSON.stringify(key)} has no deployment for cluster ${JSON.stringify(cluster)}.`);
    const body = checkLegacyPut(req, singleBody(original));
    if (body.Deployment === undefined || body.Deployment === null) throw new LegacyRefusal(400, 'Body.Deployment is nil.');
    const errors: string[] = [];
    const want = fromGoDeploySpec(body.Deployment, 'Deployment', errors);
    if (errors.length) throw new LegacyRefusal(400, `Error parsing body: ${errors.join('; ')}.`);
    if (!want.NumInstances) throw new LegacyRefusal(400, 'Cannot deploy: NumInstances is 0 for this deployment. Please update your manifest to NumInstances > 0 to enable deploying.');
    const same = JSON.stringify(goDeploySpec(want)) === JSON.stringify(goDeploySpec(original));
    if (same && !force) return sendLegacy(reply, 200, singleBody(original));
    const user = { name: who.name, email: who.email };
    // The fields besides the version, as the original client sent them (one commit when they changed).
    const others = { ...want, Version: original.Version };
    let revision = first.revision;
    if (JSON.stringify(goDeploySpec(others)) !== JSON.stringify(goDeploySpec(original))) {
      const r = await ctx.gdm.update((s) => {
        const m = structuredClone(s.manifests.get(key)!.manifest);
        const spec = m.Deployments![cluster];
        m.Deployments![cluster] = { ...others, ...sousOnly(spec, true) };
        return { change: { message: `Set ${did} (legacy API)`, setManifests: [validateManifest(m, `PUT /single-deployment ${did}`)] }, result: undefined };
      }, user);
      revision = r.revision;
    }
    if ((want.Version ?? '') !== (original.Version ?? '')) revision = await setVersion(ctx, id, cluster, want.Version!, user);
    ctx.cache.invalidate();
    const item = ctx.autoresolver?.enqueue(did, { version: want.Version, force, requestedBy: who.name });
    await audit(req, 201, `${did}: ${original.Version || '-'} → ${want.Version}${force ? ' (force)' : ''}`, revision);
    const after = (await ctx.cache.get()).manifests.get(key)!.manifest.Deployments![cluster];
    if (!item) return sendLegacy(reply, 200, singleBody(after));
    const query = new URLSearchParams({ action: item.id, cluster, repo: id.source.repo, offset: id.source.dir, flavor: id.flavor });
    // The original client prepends "http://" to this.
    const location = `${header(req, 'host') ?? '127.0.0.1'}/deploy-queue-item?${query}`;
    reply.header('Location', location);
    return sendLegacy(reply, 201, singleBody(after, { queuedDeployAction: location }));
  });

  app.get('/deploy-queue-item', async (req, reply) => {
    const q = req.query as Record<string, unknown>;
    const action = typeof q.action === 'string' ? q.action : '';
    let item = action ? ctx.autoresolver?.items.get(action) : undefined;
    if (!item) return legacyError(reply, 404, `Deploy action ${JSON.stringify(action)} not found in queue.`);
    if (q.wait === 'true') {
      const end = Date.now() + (opts.waitMs ?? 600_000);
      while (item.state !== 'done' && Date.now() < end && !ctx.closing) {
        await new Promise((r) => setTimeout(r, 100));
        item = ctx.autoresolver!.items.get(action) ?? item;
      }
    }
    return sendLegacy(reply, 200, r11nResponse(ctx, await ctx.cache.get(), item));
  });

  const deploymentsOf = (s: State) =>
    intendedDeployments(s)
      .filter((d) => !ctx.clusters || ctx.clusters.includes(d.cluster))
      .sort((a, b) => a.id.localeCompare(b.id))
      .map((d) => goDeployment(d));

  const defsDoc = (s: State) => ({
    DockerRepo: s.defs.DockerRepo ?? '',
    Clusters: Object.fromEntries(Object.entries(s.defs.Clusters ?? {}).sort(([a], [b]) => a.localeCompare(b)).map(([n, c]) => [n, goCluster(n, c)])),
    EnvVars: s.defs.EnvVars?.length ? s.defs.EnvVars : null,
    Resources: s.defs.Resources?.length ? s.defs.Resources : null,
    Metadata: s.defs.Metadata?.length ? s.defs.Metadata : null,
  });

  app.get('/defs', async (_req, reply) => sendLegacy(reply, 200, defsDoc(await ctx.cache.get())));

  // The original's `sous update` puts defs back as it read them before it puts the GDM: that is accepted; changing clusters is `sous cluster add`'s.
  app.put('/defs', async (req, reply) => {
    const s = await ctx.gdm.read();
    const current = defsDoc(s);
    const body = checkLegacyPut(req, current);
    if (JSON.stringify(body) !== JSON.stringify(JSON.parse(JSON.stringify(current)))) {
      throw new LegacyRefusal(400, 'Changing defs through the legacy API is not supported: change clusters with this Sous\'s `sous cluster add` or PUT /defs with a token');
    }
    await audit(req, 200, 'defs unchanged', s.revision);
    return sendLegacy(reply, 200, current);
  });

  const gdmDoc = (s: State) => ({ Deployments: intendedDeployments(s).sort((a, b) => a.id.localeCompare(b.id)).map((d) => goDeployment(d)) });

  // The original's `sous update`: the whole GDM back, one deployment's version changed (and, here, its instances).
  app.put('/gdm', async (req, reply) => {
    const who = principal(req);
    const user = { name: who.name, email: who.email };
    const first = await ctx.gdm.read();
    const body = checkLegacyPut(req, gdmDoc(first));
    if (!Array.isArray(body.Deployments)) throw new LegacyRefusal(400, 'Invalid GDM: Deployments is not a list');
    const current = new Map(intendedDeployments(first).map((d) => [d.id, d]));
    const seen = new Set<string>();
    const changes: { id: ManifestID; cluster: string; version?: string; instances?: number }[] = [];
    for (const [i, raw] of (body.Deployments as unknown[]).entries()) {
      const o = (raw ?? {}) as Record<string, unknown>;
      const sid = (o.SourceID ?? {}) as { Location?: { Repo?: unknown; Dir?: unknown }; Version?: unknown };
      const id: ManifestID = { source: { repo: String(sid.Location?.Repo ?? ''), dir: String(sid.Location?.Dir ?? '') }, flavor: String(o.Flavor ?? '') };
      const did = `${String(o.ClusterName ?? '')}:${formatManifestID(id)}`;
      const d = current.get(did);
      if (!d) throw new LegacyRefusal(400, `Invalid GDM: Deployments[${i}] (${did}) is not in the GDM; adding deployments through PUT /gdm is not supported here (use manifest set)`);
      seen.add(did);
      const errors: string[] = [];
      const incoming = fromGoDeploySpec({ ...o, Version: sid.Version }, `Deployments[${i}]`, errors);
      if (errors.length) throw new LegacyRefusal(400, `Invalid GDM: ${errors.join('; ')}`);
      const was = goDeployment(d) as Record<string, unknown>;
      const now = { ...goDeploySpec(incoming) } as Record<string, unknown>;
      const other = ['Resources', 'Metadata', 'Env', 'Volumes', 'Startup', 'Schedule', 'SingularityRequestID'].filter((k) => JSON.stringify(was[k]) !== JSON.stringify(now[k]));
      if (other.length) throw new LegacyRefusal(400, `Invalid GDM: ${did} changes ${other.join(', ')}; through PUT /gdm only versions and instances change here (use manifest set for the rest)`);
      const version = (incoming.Version ?? '') !== (d.spec.Version ?? '') ? incoming.Version : undefined;
      const instances = (incoming.NumInstances ?? 0) !== (d.spec.NumInstances ?? 0) ? incoming.NumInstances : undefined;
      if (version !== undefined || instances !== undefined) changes.push({ id, cluster: d.cluster, version, instances });
    }
    const dropped = [...current.keys()].filter((k) => !seen.has(k));
    if (dropped.length) throw new LegacyRefusal(400, `Invalid GDM: it leaves out ${dropped.join(', ')}; removing deployments through PUT /gdm is not supported here`);
    let revision = first.revision;
    for (const c of changes) {
      const key = manifestKey(c.id);
      const did = `${c.cluster}:${key}`;
      if (c.instances !== undefined) {
        revision = (await ctx.gdm.update((s) => {
          const m = structuredClone(s.manifests.get(key)!.manifest);
          m.Deployments![c.cluster].NumInstances = c.instances;
          return { change: { message: `Scale ${did} to ${c.instances} (legacy API)`, setManifests: [m] }, result: undefined };
        }, user)).revision;
      }
      if (c.version !== undefined) revision = await setVersion(ctx, c.id, c.cluster, c.version, user);
      ctx.autoresolver?.enqueue(did, { version: c.version, requestedBy: who.name });
    }
    ctx.cache.invalidate();
    await audit(req, 204, changes.length ? changes.map((c) => `${c.cluster}:${manifestKey(c.id)}${c.version ? ` → ${c.version}` : ''}${c.instances !== undefined ? ` ×${c.instances}` : ''}`).join(', ') : 'no change', revision);
    return reply.code(204).send();
  });

  app.get('/gdm', async (_req, reply) => {
    const s = await ctx.cache.get();
    return sendLegacy(reply, 200, gdmDoc(s));
  });

  app.get('/state/deployments', async (_req, reply) => sendLegacy(reply, 200, { Deployments: deploymentsOf(await ctx.cache.get()) }));

  app.get('/servers', async (_req, reply) => {
    const s = await ctx.cache.get();
    const names = Object.keys(s.defs.Clusters ?? {}).sort();
    return sendLegacy(reply, 200, { Servers: names.map((n) => ({ ClusterName: n, URL: s.servers[n] ?? ctx.url ?? '' })) });
  });

  app.get('/status', async (_req, reply) => {
    const s = await ctx.cache.get();
    const last = ctx.autoresolver?.lastPass;
    const completed = last
      ? {
          Started: last.startedAt,
          Finished: new Date(Date.parse(last.startedAt) + last.durationMs).toISOString(),
          Phase: 'finished',
          Intended: deploymentsOf(s),
          Log: last.outcomes.map((o) => ({ ...goDeploymentID(o.action.deploymentID), Desc: o.resolution, Error: o.status === 'Failed' ? { Type: 'rectify', String: o.message ?? 'failed' } : null, DeployState: null, SchedulerURL: '' })),
          Errs: { Causes: last.plan.errors.map((e) => ({ Type: e.code ?? 'error', String: e.message })) },
        }
      : null;
    return sendLegacy(reply, 200, { Deployments: deploymentsOf(s), Completed: completed, InProgress: null });
  });

  await app.ready();
  return app;
}

/** The original's routes this API answers; anything else (health, the status page, webhooks) stays with Sous's own. */
export const LEGACY_PATHS = new Set(['/gdm', '/defs', '/manifest', '/single-deployment', '/deploy-queue-item', '/state/deployments', '/servers', '/status']);

/** Hands requests for the original's routes without an Authorization header (the original client's) to the legacy API. */
export function routeLegacy(main: FastifyInstance, legacy: FastifyInstance): void {
  main.addHook('onRequest', async (req: FastifyRequest, reply: FastifyReply) => {
    if (req.headers.authorization || !LEGACY_PATHS.has(req.url.split('?')[0].replace(/\/+$/, '') || '/')) return;
    reply.hijack();
    legacy.routing(req.raw, reply.raw);
  });
}
