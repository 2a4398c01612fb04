import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { deploymentLogs, formatDeploymentID, isSousError, parseDeploymentID, toSousError } from '@sous/core';
import { FINAL_STATES } from '../builds/types';
import type { ServerContext } from '../context';
import { authorize } from '../http';
import { refusalText } from '../auth';
import { clearedCookie, parseCookies, SESSION_COOKIE, sessionCookie, type SessionRefusal } from '../auth/session';
import { PAGE_CSS, PAGE_JS } from './assets';
import type { PageModel } from './model';
import {
  buildsBody,
  buildsFragments,
  deploymentBody,
  deploymentFragments,
  layout,
  loginPage,
  messagePage,
  overviewBody,
  overviewFragments,
  planFragment,
  type Viewer,
} from './render';

const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/** Why the login form is shown again, by the code the redirect carries (never free text: a link cannot put words on the form). */
const REASONS: Record<string, string> = {
  'session-expired': 'Your session expired. Sign in again.',
  'session-invalid': 'Your session is not valid (it ended, or the cookie is not one this server made). Sign in again.',
  'token-revoked': 'The token of your session was revoked. Sign in with another token.',
  'token-expired': 'The token of your session expired. Sign in with another token.',
  'signed-out': 'You signed out.',
};

function reasonCode(r: SessionRefusal): string {
  if (r === 'expired') return 'session-expired';
  if (r === 'unknown') return 'session-invalid';
  if (r.reason === 'revoked') return 'token-revoked';
  if (r.reason === 'expired') return 'token-expired';
  return 'session-invalid';
}

/** A place to go back to after signing in: a path on this server, nothing else. */
export function safeNext(v: unknown): string {
  const s = typeof v === 'string' ? v : '';
  return /^\/(?![/\\])[^\s\\]*$/.test(s) && s.length < 2000 ? s : '/';
}

function html(reply: FastifyReply, status: number, body: string): FastifyReply {
  return reply
    .code(status)
    .type('text/html; charset=utf-8')
    .header('content-security-policy', CSP)
    .header('x-frame-options', 'DENY')
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'same-origin')
    .header('cache-control', 'no-store')
    .send(body);
}

/** A write from a page on another site is refused whatever its cookies: browsers say where a form came from. */
function sameOrigin(req: FastifyRequest): boolean {
  const origin = req.headers.origin;
  if (!origin || origin === 'null') return origin !== 'null';
  try {
    return new URL(origin).host === req.headers.host;
  } catch {
    return false;
  }
}

type Look = { viewer: Viewer; sessionId?: string } | { redirect: string; clear?: boolean };

/**
 * Who asks for a page: a bearer token (as the API takes it), a session
 * cookie, or no one; without a session the answer is the login form, unless
 * the read-only pages are public (--public-status). `logs` pages need a
 * signed-in viewer even then.
 */
async function look(ctx: ServerContext, req: FastifyRequest): Promise<Look> {
  const here = safeNext(req.url);
  if (req.headers.authorization !== undefined) {
    const p = await authorize(ctx, req, 'read');
    return { viewer: { name: p.name, scope: p.scope } };
  }
  const id = parseCookies(typeof req.headers.cookie === 'string' ? req.headers.cookie : undefined)[SESSION_COOKIE];
  if (id && ctx.sessions) {
    const r = await ctx.sessions.resolve(id);
    if ('principal' in r) return { viewer: { name: r.principal.name, scope: r.principal.scope, csrf: ctx.sessions.csrfFor(id), session: true }, sessionId: id };
    if (!ctx.publicStatus) return { redirect: `/login?next=${encodeURIComponent(here)}&reason=${reasonCode(r.refusal)}`, clear: true };
  }
  if (ctx.publicStatus) return { viewer: {} };
  return { redirect: `/login?next=${encodeURIComponent(here)}` };
}

/** Sends the page (or the redirect to the login form). */
async function page(ctx: ServerContext, req: FastifyRequest, reply: FastifyReply, render: (v: Viewer) => Promise<{ status?: number; body: string }>): Promise<FastifyReply> {
  const l = await look(ctx, req);
  if ('redirect' in l) {
    if (l.clear) reply.header('set-cookie', clearedCookie(Boolean(ctx.secure)));
    return reply.code(303).header('location', l.redirect).header('cache-control', 'no-store').send();
  }
  const r = await render(l.viewer);
  return html(reply, r.status ?? 200, r.body);
}

/** The server-sent events of one open page: `fragments` (element id → new HTML) whenever what it shows changed. */
function openEvents(ctx: ServerContext, reply: FastifyReply): { send(event: string, data: string): void; closed: () => boolean; onClose(fn: () => void): void; end(): void } {
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', 'x-accel-buffering': 'no', 'x-content-type-options': 'nosniff', connection: 'close' });
  res.write('retry: 3000\n\n');
  let closed = false;
  const closers: (() => void)[] = [];
  res.on('close', () => {
    closed = true;
    for (const c of closers) c();
  });
  const ping = setInterval(() => res.write(': ping\n\n'), 25_000);
  ping.unref();
  closers.push(() => clearInterval(ping));
  // The server is closing: end the stream, whatever the browser does.
  const end = () => res.end();
  ctx.streamsEnd?.addEventListener('abort', end, { once: true });
  closers.push(() => ctx.streamsEnd?.removeEventListener('abort', end));
  return {
    send(event, data) {
      if (closed) return;
      res.write(`event: ${event}\n${data.split('\n').map((l) => `data: ${l}`).join('\n')}\n\n`);
    },
    closed: () => closed,
    onClose: (fn) => closers.push(fn),
    end: () => {
      if (!closed) res.end();
    },
  };
}

/** The deployment an `?id=` names, as a DeploymentID string; undefined when it is not one. */
function deploymentParam(q: Record<string, unknown>): string | undefined {
  try {
    return typeof q.id === 'string' ? formatDeploymentID(parseDeploymentID(q.id)) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The status page: a login form and sessions, the pages (every deployment;
 * one deployment with its history, logs and builds; the build queue with
 * live logs; the plan), and the server-sent events that keep an open page
 * up to date from the PageModel.
 */
export function pageRoutes(app: FastifyInstance, ctx: ServerContext, model: PageModel): void {
  const version = ctx.version;

  app.get('/ui/page.css', async (_req, reply) => reply.type('text/css; charset=utf-8').header('cache-control', 'max-age=300').send(PAGE_CSS));
  app.get('/ui/page.js', async (_req, reply) => reply.type('text/javascript; charset=utf-8').header('cache-control', 'max-age=300').send(PAGE_JS));

  app.register(async (scope) => {
    scope.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 8 * 1024 }, (_req, body, done) => {
      done(null, Object.fromEntries(new URLSearchParams(String(body))));
    });

    scope.get('/login', async (req, reply) => {
      const q = req.query as Record<string, unknown>;
      const next = safeNext(q.next);
      const id = parseCookies(typeof req.headers.cookie === 'string' ? req.headers.cookie : undefined)[SESSION_COOKIE];
      if (id && ctx.sessions && 'principal' in (await ctx.sessions.resolve(id))) return reply.code(303).header('location', next).send();
      return html(reply, 200, loginPage({ next, reason: typeof q.reason === 'string' ? REASONS[q.reason] : undefined, version }));
    });

    scope.post('/login', async (req, reply) => {
      const form = (req.body && typeof req.body === 'object' ? req.body : {}) as Record<string, unknown>;
      const next = safeNext(form.next);
      if (!sameOrigin(req)) return html(reply, 403, loginPage({ next, reason: 'The sign-in came from another site; sign in here.', version }));
      const token = typeof form.token === 'string' ? form.token : '';
      if (!token.trim()) return html(reply, 400, loginPage({ next, reason: 'Paste a token to sign in.', version }));
      const r = await ctx.tokens.check(token);
      if (!('principal' in r)) {
        ctx.logger.info(`sign-in refused: ${r.reason}`);
        return html(reply, 401, loginPage({ next, reason: refusalText(r), version }));
      }
      const s = await ctx.sessions!.create(r.principal);
      ctx.logger.info(`${r.principal.name} signed in to the status page`);
      reply.header('set-cookie', sessionCookie(s.id, { secure: Boolean(ctx.secure), maxAgeSeconds: (Date.parse(s.expiresAt) - Date.now()) / 1000 }));
      return reply.code(303).header('location', next).header('cache-control', 'no-store').send();
    });

    scope.post('/logout', async (req, reply) => {
      const form = (req.body && typeof req.body === 'object' ? req.body : {}) as Record<string, unknown>;
      const id = parseCookies(typeof req.headers.cookie === 'string' ? req.headers.cookie : undefined)[SESSION_COOKIE];
      if (id && ctx.sessions) {
        const given = typeof form._csrf === 'string' ? form._csrf : typeof req.headers['x-csrf-token'] === 'string' ? req.headers['x-csrf-token'] : undefined;
        if (!sameOrigin(req) || !ctx.sessions.checkCsrf(id, given)) {
          return html(reply, 403, messagePage({ title: 'Not signed out', message: 'The sign-out did not carry this page’s CSRF token; use the Sign out button.', viewer: {}, version }));
        }
        await ctx.sessions.remove(id);
      }
      reply.header('set-cookie', clearedCookie(Boolean(ctx.secure)));
      return reply.code(303).header('location', '/login?reason=signed-out').send();
    });
  });

  app.get('/', (req, reply) =>
    page(ctx, req, reply, async (viewer) => ({
      body: layout({ title: 'Sous: deployments', page: 'overview', viewer, version, events: '/ui/events?view=overview', body: overviewBody(await model.overview(), version) }),
    })),
  );

  app.get('/ui/deployment', (req, reply) =>
    page(ctx, req, reply, async (viewer) => {
      const id = deploymentParam(req.query as Record<string, unknown>);
      const d = id ? await model.deployment(id) : undefined;
      if (!d) return { status: 404, body: messagePage({ title: 'No such deployment', message: `There is no deployment ${JSON.stringify((req.query as Record<string, unknown>).id ?? '')} here.`, viewer, version }) };
      const logs = viewer.name ? `/ui/logs?id=${encodeURIComponent(d.row.deploymentID)}` : undefined;
      return {
        body: layout({
          title: `Sous: ${d.row.deploymentID}`,
          page: 'deployment',
          viewer,
          version,
          events: `/ui/events?view=deployment&id=${encodeURIComponent(d.row.deploymentID)}`,
          body: deploymentBody(d, { logs, logsNote: 'Sign in to see the logs.' }),
        }),
      };
    }),
  );

  app.get('/ui/builds', (req, reply) =>
    page(ctx, req, reply, async (viewer) => {
      const jobs = model.builds();
      const want = (req.query as Record<string, unknown>).id;
      const shown = (typeof want === 'string' ? ctx.builds?.store.jobs.get(want) : undefined) ?? jobs.find((j) => j.state === 'running') ?? jobs[0];
      return { body: layout({ title: 'Sous: builds', page: 'builds', viewer, version, events: '/ui/events?view=builds', body: buildsBody(jobs, viewer.name ? shown : undefined) }) };
    }),
  );

  app.get('/ui/plan', (req, reply) =>
    page(ctx, req, reply, async (viewer) => ({
      body: layout({ title: 'Sous: plan', page: 'plan', viewer, version, events: '/ui/events?view=plan', body: `<h1>What a rectify would do now</h1>\n${planFragment(await model.plan())}` }),
    })),
  );

  /** Feeds answer 401 rather than redirect: the page's script reloads, and the reload goes to the login form. */
  const feedViewer = async (req: FastifyRequest, reply: FastifyReply, signedIn: boolean): Promise<{ viewer: Viewer; sessionId?: string } | undefined> => {
    const l = await look(ctx, req);
    if ('redirect' in l || (signedIn && !l.viewer.name)) {
      reply.code(401).send({ error: { code: 'UNAUTHORIZED', message: 'sign in first', hints: ['Open /login'], exit: 2 } });
      return undefined;
    }
    return l;
  };

  app.get('/ui/events', async (req, reply) => {
    const q = req.query as Record<string, unknown>;
    const l = await feedViewer(req, reply, false);
    if (!l) return reply;
    const view = String(q.view ?? 'overview');
    const id = deploymentParam(q);
    const fragments = async (): Promise<Record<string, string>> => {
      if (view === 'deployment' && id) {
        const d = await model.deployment(id);
        return d ? deploymentFragments(d) : {};
      }
      if (view === 'builds') return buildsFragments(model.builds());
      if (view === 'plan') return { plan: planFragment(await model.plan()) };
      return overviewFragments(await model.overview(), version);
    };
    const ev = openEvents(ctx, reply);
    const sent = new Map<string, string>();
    let chain = Promise.resolve();
    const push = () => {
      chain = chain
        .then(async () => {
          if (ev.closed()) return;
          if (l.sessionId && ctx.sessions && !('principal' in (await ctx.sessions.resolve(l.sessionId)))) {
            ev.send('signed-out', 'the session ended');
            ev.end();
            return;
          }
          const f = await fragments();
          const changed = Object.fromEntries(Object.entries(f).filter(([k, v]) => sent.get(k) !== v));
          for (const [k, v] of Object.entries(changed)) sent.set(k, v);
          if (Object.keys(changed).length) ev.send('fragments', JSON.stringify(changed));
        })
        .catch((e) => ctx.logger.warn(`page update failed: ${(e as Error).message}`));
    };
    // What the page was rendered with is what it has: only later changes are sent.
    push();
    model.on('change', push);
    ev.onClose(() => model.off('change', push));
    return reply;
  });

  app.get('/ui/logs', async (req, reply) => {
    const l = await feedViewer(req, reply, true);
    if (!l) return reply;
    const id = deploymentParam(req.query as Record<string, unknown>);
    const ev = openEvents(ctx, reply);
    const abort = new AbortController();
    ev.onClose(() => abort.abort());
    try {
      if (!id) throw toSousError(new Error('no deployment named'), 'INVALID_DEPLOYMENT_ID');
      const did = parseDeploymentID(id);
      const { lines } = deploymentLogs(ctx.sous, await ctx.cache.get(), { id: did.manifestID, cluster: did.cluster, tail: 100, follow: true, signal: abort.signal });
      for await (const line of lines) {
        if (abort.signal.aborted) break;
        ev.send('line', `${line.instance} | ${line.text}`.replace(/\r?\n/g, ' '));
      }
      ev.send('end', 'the instances ended');
    } catch (e) {
      if (!abort.signal.aborted) {
        const se = isSousError(e) ? e : toSousError(e, 'LOGS_FAILED');
        ev.send('failure', `No logs: ${se.message} [${se.code}]`);
      }
    }
    ev.end();
    return reply;
  });

  app.get('/ui/build-log', async (req, reply) => {
    const l = await feedViewer(req, reply, true);
    if (!l) return reply;
    const want = (req.query as Record<string, unknown>).id;
    const job = typeof want === 'string' ? ctx.builds?.store.jobs.get(want) : undefined;
    const ev = openEvents(ctx, reply);
    if (!job || !ctx.builds) {
      ev.send('failure', `No build ${JSON.stringify(want ?? '')}`);
      ev.end();
      return reply;
    }
    const store = ctx.builds.store;
    let offset = 0;
    let rest = '';
    const pump = () => {
      const { text, size } = store.readLog(job.id, offset);
      offset = size;
      rest += text;
      const parts = rest.split('\n');
      rest = parts.pop()!;
      for (const p of parts) ev.send('line', p);
      if ((FINAL_STATES as readonly string[]).includes(store.jobs.get(job.id)?.state ?? '')) {
        if (rest) ev.send('line', rest);
        ev.send('end', 'the build ended');
        ev.end();
      }
    };
    const onLog = (id: string) => id === job.id && pump();
    const onChange = () => pump();
    model.on('build-log', onLog);
    model.on('change', onChange);
    ev.onClose(() => {
      model.off('build-log', onLog);
      model.off('change', onChange);
    });
    pump();
    return reply;
  });
}
