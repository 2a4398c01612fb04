import * as path from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { Gdm, Rectifier, statusDirFor, type Logger, type ResolvedConfig, type Sous } from '@sous/core';
import { TokenStore, tokensFileFor } from './auth';
import { Autoresolver } from './autoresolver';
import { TagBuilds, type TagBuildsOptions } from './builds';
import { auditLog, mutex, sousDir, StateCache, type ServerContext } from './context';
import { sendError, toError } from './http';
import { ServerMetrics } from './metrics';
import { buildRoutes } from './routes/builds';
import { deployRoutes } from './routes/deploy';
import { hookRoutes } from './routes/hooks';
import { historyRoutes } from './routes/history';
import { logRoutes } from './routes/logs';
import { rollbackRoutes } from './routes/rollback';
import { SessionStore, sessionsFileFor } from './auth/session';
import { FINAL_STATES } from './builds/types';
import { PageModel } from './page/model';
import { pageRoutes } from './page/routes';
import type { TlsMaterial } from './tls';
import { infoRoutes } from './routes/info';
import { stateRoutes } from './routes/state';
import { legacyApi, routeLegacy, type LegacyOptions } from './legacy';

export interface ServerOptions {
  config: ResolvedConfig;
  sous: Sous;
  logger: Logger;
  /** The clusters this server rectifies; every cluster when unset. */
  clusters?: string[];
  /** Run the rectifier: after each accepted write and on the resync interval. */
  autoresolver?: boolean;
  /** A full rectify pass at least this often (default: config.rectify.resyncSeconds). */
  resyncMs?: number;
  /** The token file (default: beside the state, never inside the GDM). */
  tokensFile?: string;
  /** This server's URL, recorded in servers.yaml for its clusters. */
  url?: string;
  version: string;
  /** How long reads trust the cached GDM revision (default 1 s; pulls from a remote happen at most this often). */
  cacheTtlMs?: number;
  /** Tag builds: overrides of the config's tagBuilds and webhookSecret. */
  builds?: Partial<TagBuildsOptions>;
  /** Also serve the original Sous's API (`--legacy-api`), to the networks it trusts. */
  legacy?: LegacyOptions;
  /** Serve HTTPS with this certificate and key (`reloadTls` replaces them). */
  tls?: TlsMaterial;
  /** The read-only pages open without signing in (--public-status), for a trusted network. */
  publicStatus?: boolean;
  /** How long a status page session lasts (default 12 h). */
  sessionTtlMs?: number;
}

export interface SousServer {
  app: FastifyInstance;
  ctx: ServerContext;
  /** Stops taking new work, lets the pass in flight finish, closes the listener. */
  close(): Promise<void>;
  /** Replaces the certificate and key of an HTTPS server; new connections use them. */
  reloadTls(m: TlsMaterial): void;
}

/** Builds the Sous HTTP API over a git-backed GDM, with its autoresolver. */
export async function createServer(opts: ServerOptions): Promise<SousServer> {
  const gdm = await Gdm.open(opts.config.stateLocation, { user: opts.config.user });
  const metrics = new ServerMetrics({ outboxRoots: opts.config.notifiers.flatMap((n) => (typeof n.outbox === 'string' ? [path.resolve(n.outbox)] : [])) });
  const tokensFile = opts.tokensFile ?? tokensFileFor(opts.config.stateLocation);
  const tokens = new TokenStore(tokensFile);
  const rectifier = new Rectifier(opts.sous, gdm, statusDirFor(opts.config.stateLocation));
  const exclusive = mutex();
  const streams = new AbortController();
  const ctx: ServerContext = {
    config: opts.config,
    sous: opts.sous,
    gdm,
    tokens,
    sessions: new SessionStore(sessionsFileFor(tokensFile), tokens, opts.sessionTtlMs),
    secure: Boolean(opts.tls),
    publicStatus: Boolean(opts.publicStatus),
    metrics,
    logger: opts.logger,
    rectifier,
    clusters: opts.clusters?.length ? opts.clusters : undefined,
    url: opts.url,
    version: opts.version,
    cache: new StateCache(gdm, opts.cacheTtlMs ?? 1000),
    audit: auditLog(path.join(sousDir(opts.config.stateLocation), 'audit.log')),
    runExclusive: exclusive,
    closing: false,
    streamsEnd: streams.signal,
  };
  const tb = opts.config.tagBuilds;
  ctx.builds = new TagBuilds(ctx, { pollMs: tb.pollSeconds * 1000, concurrency: tb.concurrency, keepJobs: tb.keepJobs, webhookSecret: opts.config.webhookSecret, ...definedOnly(opts.builds ?? {}) }, sousDir(opts.config.stateLocation));
  if (opts.autoresolver) {
    ctx.autoresolver = new Autoresolver(rectifier, ctx.clusters, metrics, opts.logger, opts.resyncMs ?? opts.config.rectify.resyncSeconds * 1000, exclusive);
  }

  const app = Fastify({
    logger: false,
    ...(opts.tls ? { https: { cert: opts.tls.cert, key: opts.tls.key } } : {}),
    bodyLimit: 1024 * 1024,
    // Query strings are parsed plainly: no nested objects from `a[b]=c`.
    routerOptions: { ignoreTrailingSlash: true },
  });
  app.addHook('onResponse', async (req, reply) => {
    const labels = { route: req.routeOptions.url ?? 'unknown', method: req.method, status: String(reply.statusCode) };
    metrics.requests.inc(labels);
    metrics.requestDuration.observe(labels, reply.elapsedTime / 1000);
    opts.logger.debug(`${req.method} ${req.url.split('?')[0]} ${reply.statusCode}`, { who: req.principal?.name, ms: Math.round(reply.elapsedTime) });
  });
  app.setErrorHandler(async (err, _req, reply) => {
    const e = toError(err);
    if (e.code === 'INTERNAL_ERROR') opts.logger.error(`request failed: ${e.message}`);
    return sendError(reply, e);
  });
  app.setNotFoundHandler(async (req, reply) => sendError(reply, toError({ statusCode: 404, message: `no route ${req.method} ${req.url.split('?')[0]}` })).code(404));

  if (opts.legacy) routeLegacy(app, await legacyApi(ctx, opts.legacy));
  stateRoutes(app, ctx);
  deployRoutes(app, ctx);
  infoRoutes(app, ctx);
  buildRoutes(app, ctx);
  hookRoutes(app, ctx);
  historyRoutes(app, ctx);
  rollbackRoutes(app, ctx);
  logRoutes(app, ctx);
  const page = new PageModel(ctx);
  pageRoutes(app, ctx, page);

  if (opts.url && ctx.clusters) {
    // Say where this server's clusters are rectified, for the CLI and the other servers.
    const state = await gdm.read();
    const want = { ...state.servers };
    for (const c of ctx.clusters) want[c] = opts.url;
    if (JSON.stringify(want) !== JSON.stringify(state.servers)) {
      await gdm.update((s) => ({ change: { message: `Server ${opts.url} rectifies ${ctx.clusters!.join(', ')}`, servers: { ...s.servers, ...Object.fromEntries(ctx.clusters!.map((c) => [c, opts.url!])) } }, result: undefined }), opts.config.user);
    }
  }
  await page.start(opts.resyncMs ?? opts.config.rectify.resyncSeconds * 1000);
  observeBuilds(ctx);
  ctx.autoresolver?.start();
  await ctx.builds.start();

  return {
    app,
    ctx,
    async close() {
      ctx.closing = true;
      await ctx.builds?.stop();
      await ctx.autoresolver?.stop();
      await page.stop();
      streams.abort();
      await app.close();
    },
    reloadTls(m: TlsMaterial) {
      if (!opts.tls) throw new Error('the server was started without TLS');
      (app.server as unknown as { setSecureContext(o: { cert: Buffer; key: Buffer }): void }).setSecureContext({ cert: m.cert, key: m.key });
    },
  };
}

/** Build durations by outcome, from the job store: each job counted once, when it ends. */
function observeBuilds(ctx: ServerContext): void {
  const store = ctx.builds?.store;
  if (!store) return;
  const seen = new Set(store.list().filter((j) => FINAL_STATES.includes(j.state)).map((j) => j.id));
  const before = store.onChange;
  store.onChange = (id, what) => {
    before?.(id, what);
    const j = store.jobs.get(id);
    if (what !== 'job' || !j || seen.has(id) || !FINAL_STATES.includes(j.state)) return;
    seen.add(id);
    const start = Date.parse(j.startedAt ?? j.createdAt);
    const end = Date.parse(j.finishedAt ?? new Date().toISOString());
    if (Number.isFinite(start) && Number.isFinite(end)) ctx.metrics.buildDuration.observe({ outcome: j.state }, Math.max(0, end - start) / 1000);
  };
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
