import type { FastifyInstance, FastifyReply } from 'fastify';
import { WebhookRefusal } from '../builds';
import type { ServerContext } from '../context';
import { sendError, toError } from '../http';

/** GitHub sends up to 25 MB; a tag push is a few kB. */
const BODY_LIMIT = 5 * 1024 * 1024;

function refuse(reply: FastifyReply, e: WebhookRefusal): FastifyReply {
  return reply.code(e.status).send({ error: { code: e.code, message: e.message, ...(e.hints.length ? { hints: e.hints } : {}), exit: e.exit } });
}

/**
 * POST /hooks/github: GitHub push (and create/delete) webhooks. No bearer
 * token: the X-Hub-Signature-256 HMAC over the raw body is the credential,
 * so the body reaches the handler as bytes, unparsed.
 */
export function hookRoutes(app: FastifyInstance, ctx: ServerContext): void {
  app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: BODY_LIMIT }, (_req, body, done) => done(null, body));
    scope.post('/hooks/github', { bodyLimit: BODY_LIMIT }, async (req, reply) => {
      const h = req.headers;
      const id = typeof h['x-github-delivery'] === 'string' ? h['x-github-delivery'] : undefined;
      try {
        if (!ctx.builds) throw new WebhookRefusal(403, 'WEBHOOKS_DISABLED', 'this server does not build tags');
        if (ctx.closing) throw new WebhookRefusal(503, 'SHUTTING_DOWN', 'the server is shutting down', ['The delivery can be sent again in a moment']);
        const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
        const r = await ctx.builds.delivery({ event: typeof h['x-github-event'] === 'string' ? h['x-github-event'] : undefined, id, signature: h['x-hub-signature-256'], contentType: h['content-type'], raw });
        ctx.logger.info(`webhook ${id}: ${JSON.stringify(r.body)}`);
        return reply.code(r.status).send(r.body);
      } catch (e) {
        if (e instanceof WebhookRefusal) {
          ctx.logger.warn(`webhook delivery ${id ?? '(no id)'} refused: ${e.message} [${e.code}]`, { delivery: id, code: e.code });
          return refuse(reply, e);
        }
        const se = toError(e);
        ctx.logger.error(`webhook delivery ${id ?? '(no id)'} failed: ${se.message} [${se.code}]`);
        return sendError(reply, se);
      }
    });
  });
}
