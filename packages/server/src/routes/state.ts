import type { FastifyInstance } from 'fastify';
import {
  canonicalManifest,
  checkAllReadable,
  checkSecretProviders,
  checkReadable,
  formatManifestID,
  formatSourceLocation,
  manifestKey,
  parseManifestText,
  parseSourceLocation,
  parseVersion,
  usageError,
  type ArtifactRecord,
  type Defs,
  type Manifest,
  type State,
  type StateChange,
} from '@sous/core';
import type { Api } from '@sous/core';
type GdmPut = Api.GdmPut;
type ManifestPut = Api.ManifestPut;
type ServersDoc = Api.ServersDoc;
import type { ServerContext } from '../context';
import { authorize, body, checkPrecondition, etagOfJSON, manifestIDFrom, quoteEtag } from '../http';

export function gdmDocument(s: State) {
  return {
    revision: s.revision,
    defs: s.defs,
    defsEtag: s.defsBlob,
    defsText: s.defsText,
    manifests: [...s.manifests.values()].map((m) => ({ id: m.key, etag: m.blob, manifest: m.manifest, text: m.text })),
    servers: s.servers,
    flaws: s.flaws,
  };
}

/** Writes one change as the caller, with its precondition checked against the state it applies to. */
export async function write(
  ctx: ServerContext,
  who: { name: string; email: string },
  step: (s: State) => StateChange | undefined,
): Promise<{ revision: string; changed: boolean }> {
  const r = await ctx.gdm.update((s) => ({ change: step(s), result: undefined }), { name: who.name, email: who.email });
  ctx.cache.invalidate();
  if (r.changed) ctx.autoresolver?.trigger('gdm write');
  return { revision: r.revision, changed: r.changed };
}

export function stateRoutes(app: FastifyInstance, ctx: ServerContext): void {
  app.get('/gdm', async (req, reply) => {
    await authorize(ctx, req, 'read');
    const { revision, body } = await ctx.cache.gdmBody(gdmDocument);
    reply.header('ETag', quoteEtag(revision));
    if (req.headers['if-none-match'] === quoteEtag(revision)) return reply.code(304).send();
    return reply.type('application/json').send(body);
  });

  app.put('/gdm', { bodyLimit: 64 * 1024 * 1024 }, async (req, reply) => {
    const who = await authorize(ctx, req, 'admin');
    const doc = body<GdmPut>(req, '/definitions/GdmPut');
    for (const m of doc.manifests) checkSecretProviders(m, ctx.sous.secretProviders(), `manifest ${m.Source}`);
    if (doc.defs) checkSecretProviders(doc.defs, ctx.sous.secretProviders(), 'defs');
    const r = await write(ctx, who, (s) => {
      checkPrecondition(req, s.revision);
      const keep = new Set(doc.manifests.map((m) => formatManifestID({ source: parseSourceLocation(m.Source), flavor: m.Flavor ?? '' })));
      if (keep.size !== doc.manifests.length) throw usageError('DUPLICATE_MANIFEST', 'the same manifest appears twice in the body', { hints: ['One entry per manifest ID'] });
      const changed = doc.manifests.filter((m) => {
        const cur = s.manifests.get(formatManifestID({ source: parseSourceLocation(m.Source), flavor: m.Flavor ?? '' }));
        return !cur || JSON.stringify(canonicalManifest(cur.manifest)) !== JSON.stringify(canonicalManifest(m));
      });
      return {
        message: doc.message ?? `Replace the GDM (${changed.length} manifest(s) changed) via the API`,
        defs: doc.defs,
        setManifests: changed,
        deleteManifests: [...s.manifests.values()].filter((m) => !keep.has(m.key)).map((m) => m.id),
      };
    });
    await ctx.audit({ who, method: 'PUT', path: '/gdm', status: 200, revision: r.revision });
    reply.header('ETag', quoteEtag(r.revision));
    return { revision: r.revision, changed: r.changed };
  });

  app.get('/defs', async (req, reply) => {
    await authorize(ctx, req, 'read');
    const s = await ctx.cache.get();
    reply.header('ETag', quoteEtag(s.defsBlob));
    return s.defs;
  });

  app.put('/defs', async (req, reply) => {
    const who = await authorize(ctx, req, 'admin');
    const defs = body<Defs>(req, '', 'defs');
    checkSecretProviders(defs, ctx.sous.secretProviders(), 'defs');
    const r = await write(ctx, who, (s) => {
      checkPrecondition(req, s.defsBlob);
      const removed = Object.keys(s.defs.Clusters ?? {}).filter((c) => !defs.Clusters?.[c]);
      if (removed.length) checkAllReadable(s, `whether it deploys to ${removed.join(', ')}`);
      const users = [...s.manifests.values()].filter((m) => removed.some((c) => m.manifest.Deployments?.[c]));
      if (users.length) {
        throw usageError('CLUSTER_IN_USE', `clusters ${removed.join(', ')} are still used by ${users.map((m) => m.key).join(', ')}`, { hints: ['Remove those deployments first'] });
      }
      return { message: 'Set defs via the API', defs };
    });
    const s = await ctx.cache.get();
    await ctx.audit({ who, method: 'PUT', path: '/defs', status: 200, revision: r.revision });
    reply.header('ETag', quoteEtag(s.defsBlob));
    return { revision: r.revision, changed: r.changed };
  });

  app.get('/manifest', async (req, reply) => {
    await authorize(ctx, req, 'read');
    const id = manifestIDFrom(req.query as Record<string, unknown>);
    const s = await ctx.cache.get();
    const m = s.manifests.get(manifestKey(id));
    if (!m) checkReadable(s, id);
    if (!m) throw usageError('MANIFEST_NOT_FOUND', `no manifest ${manifestKey(id)} in the GDM`, { hints: ['Register it with PUT /manifest (If-None-Match: *) or sous init'] });
    reply.header('ETag', quoteEtag(m.blob));
    return { id: m.key, etag: m.blob, manifest: m.manifest, text: m.text };
  });

  app.put('/manifest', async (req, reply) => {
    const who = await authorize(ctx, req, 'deploy');
    const id = manifestIDFrom(req.query as Record<string, unknown>);
    const put = body<ManifestPut>(req, '/definitions/ManifestPut');
    let manifest: Manifest;
    if (put.text !== undefined) manifest = parseManifestText(put.text, 'request body');
    else if (put.manifest) manifest = put.manifest;
    else throw usageError('INVALID_BODY', 'give the manifest as text (YAML) or as manifest (JSON)', { hints: ['{"text": "Source: ...\\n"}'] });
    const bodyID = formatManifestID({ source: parseSourceLocation(manifest.Source), flavor: manifest.Flavor ?? '' });
    checkSecretProviders(manifest, ctx.sous.secretProviders(), 'request body');
    if (bodyID !== manifestKey(id)) throw usageError('MANIFEST_ID_MISMATCH', `the body is the manifest ${bodyID}, not ${manifestKey(id)}`, { field: 'Source', hints: ['Keep the query and the body in agreement'] });
    let created = false;
    const r = await write(ctx, who, (s) => {
      const cur = s.manifests.get(manifestKey(id));
      checkPrecondition(req, cur?.blob);
      created = !cur;
      return { message: `${cur ? 'Set' : 'Register'} manifest ${manifestKey(id)} via the API`, setManifests: [manifest] };
    });
    const m = (await ctx.cache.get()).manifests.get(manifestKey(id))!;
    await ctx.audit({ who, method: 'PUT', path: `/manifest ${manifestKey(id)}`, status: created ? 201 : 200, revision: r.revision });
    reply.code(created ? 201 : 200).header('ETag', quoteEtag(m.blob));
    return { id: m.key, etag: m.blob, revision: r.revision, changed: r.changed, manifest: m.manifest, text: m.text };
  });

  app.delete('/manifest', async (req) => {
    const who = await authorize(ctx, req, 'admin');
    const id = manifestIDFrom(req.query as Record<string, unknown>);
    const r = await write(ctx, who, (s) => {
      const cur = s.manifests.get(manifestKey(id));
      if (!cur) throw usageError('MANIFEST_NOT_FOUND', `no manifest ${manifestKey(id)} in the GDM`, { hints: ['GET /gdm lists the manifests'] });
      checkPrecondition(req, cur.blob);
      return { message: `Remove manifest ${manifestKey(id)} via the API`, deleteManifests: [id] };
    });
    await ctx.audit({ who, method: 'DELETE', path: `/manifest ${manifestKey(id)}`, status: 200, revision: r.revision });
    return { revision: r.revision, changed: r.changed };
  });

  app.get('/artifact', async (req, reply) => {
    await authorize(ctx, req, 'read');
    const q = req.query as Record<string, unknown>;
    const id = manifestIDFrom(q);
    const version = parseVersion(String(q.version ?? '')).raw;
    const a = await ctx.gdm.artifact(id.source, version);
    if (!a) throw usageError('ARTIFACT_NOT_FOUND', `${formatSourceLocation(id.source)} ${version} has not been built`, { hints: [`Build it: sous build --tag ${version}`] });
    reply.header('ETag', quoteEtag(etagOfJSON(a)));
    return a;
  });

  app.get('/artifacts', async (req) => {
    await authorize(ctx, req, 'read');
    const q = req.query as Record<string, unknown>;
    return { artifacts: q.repo ? await ctx.gdm.artifacts(manifestIDFrom(q).source) : await ctx.gdm.allArtifacts() };
  });

  app.put('/artifact', async (req, reply) => {
    const who = await authorize(ctx, req, 'deploy');
    const q = req.query as Record<string, unknown>;
    const id = manifestIDFrom(q);
    const version = parseVersion(String(q.version ?? '')).raw;
    const record = body<ArtifactRecord>(req, '', 'artifact');
    if (record.Source !== formatSourceLocation(id.source) || record.Version !== version) {
      throw usageError('ARTIFACT_ID_MISMATCH', `the body is ${record.Source} ${record.Version}, not ${formatSourceLocation(id.source)} ${version}`, { hints: ['Keep the query and the body in agreement'] });
    }
    const current = await ctx.gdm.artifact(id.source, version);
    checkPrecondition(req, current ? etagOfJSON(current) : undefined);
    const r = await write(ctx, who, () => ({ message: `Record artifact ${record.Source} ${record.Version} (${record.Digest.slice(0, 19)}) via the API`, artifacts: [record] }));
    await ctx.audit({ who, method: 'PUT', path: `/artifact ${record.Source} ${record.Version}`, status: current ? 200 : 201, revision: r.revision });
    reply.code(current ? 200 : 201).header('ETag', quoteEtag(etagOfJSON(record)));
    return { revision: r.revision, changed: r.changed };
  });

  app.get('/servers', async (req, reply) => {
    await authorize(ctx, req, 'read');
    const s = await ctx.cache.get();
    reply.header('ETag', quoteEtag(etagOfJSON(s.servers)));
    return { servers: s.servers };
  });

  app.put('/servers', async (req, reply) => {
    const who = await authorize(ctx, req, 'admin');
    const doc = body<ServersDoc>(req, '/definitions/ServersDoc');
    const r = await write(ctx, who, (s) => {
      checkPrecondition(req, etagOfJSON(s.servers));
      const unknown = Object.keys(doc.servers).filter((c) => !s.defs.Clusters?.[c]);
      if (unknown.length) throw usageError('UNKNOWN_CLUSTER', `clusters ${unknown.join(', ')} are not defined`, { hints: ['Define them first: sous cluster add'] });
      return { message: 'Set the cluster servers via the API', servers: doc.servers };
    });
    await ctx.audit({ who, method: 'PUT', path: '/servers', status: 200, revision: r.revision });
    reply.header('ETag', quoteEtag(etagOfJSON(doc.servers)));
    return { revision: r.revision, changed: r.changed };
  });
}
