/**
 * How the original Sous's server answered (util/restful/router.go,
 * canaryattr.go): a JSON body with `"<etag>": "canary"` as its first field,
 * the ETag unquoted, base64url of the MD5 of the JSON as Go's encoder writes
 * it (with its trailing newline); PUTs need If-Match or If-None-Match (428),
 * a current ETag (412) and the canary field back (400); errors are plain text.
 */
import * as crypto from 'node:crypto';
import * as net from 'node:net';
import type { FastifyReply, FastifyRequest } from 'fastify';

/** Encodes as Go's json.Encoder does: the document and a newline. */
export function goJSON(data: unknown): string {
  return `${JSON.stringify(data)}\n`;
}

export function legacyEtag(data: unknown): string {
  // Go's base64.URLEncoding: the URL alphabet, with padding.
  return crypto.createHash('md5').update(goJSON(data)).digest('base64').replace(/\+/g, '-').replace(/\//g, '_');
}

/** Sends data the original way: ETag header, canary field first. */
export function sendLegacy(reply: FastifyReply, status: number, data: unknown): FastifyReply {
  const json = goJSON(data);
  const etag = legacyEtag(data);
  const body = json.startsWith('{') && json !== '{}\n' ? `{"${etag}": "canary",${json.slice(1)}` : json;
  // Exactly application/json: the original client refuses a body of any other type (a Buffer keeps fastify from adding a charset).
  return reply.code(status).header('Etag', etag).header('Content-Type', 'application/json').send(Buffer.from(body));
}

/** A plain-text error, as the original's status handler wrote them. */
export function legacyError(reply: FastifyReply, status: number, message: string): FastifyReply {
  return reply.code(status).header('Content-Type', 'text/plain; charset=utf-8').send(`${message}\n`);
}

export class LegacyRefusal extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The original's PUT preconditions against the resource as a GET would
 * render it now (`current`, undefined when absent), and its canary check.
 * Returns the body without the canary field.
 */
export function checkLegacyPut(req: FastifyRequest, current: unknown | undefined): Record<string, unknown> {
  const ifMatch = header(req, 'if-match');
  const ifNone = header(req, 'if-none-match');
  if (!ifMatch && !ifNone) throw new LegacyRefusal(428, 'PUT requires If-Match or If-None-Match');
  if (ifNone === '*' && current !== undefined) throw new LegacyRefusal(412, 'resource present for If-None-Match=*!');
  const body = parseBody(req);
  if (ifMatch) {
    const now = current === undefined ? '' : legacyEtag(current);
    if (now !== ifMatch) throw new LegacyRefusal(412, `Etag mismatch: provided ${JSON.stringify(ifMatch)} != existing ${JSON.stringify(now)}`);
    if (body[ifMatch] !== 'canary') {
      throw new LegacyRefusal(400, `Absent or malformed canary field: ${JSON.stringify(body[ifMatch] ?? '')}\n\nIt is possible that your client is out of date. Try updating.`);
    }
    delete body[ifMatch];
  }
  return body;
}

function parseBody(req: FastifyRequest): Record<string, unknown> {
  const raw = req.body;
  let v: unknown = raw;
  if (typeof raw === 'string' || Buffer.isBuffer(raw)) {
    try {
      v = JSON.parse(String(raw));
    } catch (e) {
      throw new LegacyRefusal(400, `Error parsing JSON: ${(e as Error).message}\n\nIt is possible that your client is out of date. Try updating.`);
    }
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new LegacyRefusal(400, 'Error parsing JSON: the body is not a JSON object');
  return v as Record<string, unknown>;
}

export function header(req: FastifyRequest, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** The networks whose `Sous-User-*` headers are believed (`--legacy-trust`). */
export class TrustedNetworks {
  private readonly list = new net.BlockList();
  readonly cidrs: readonly string[];

  constructor(cidrs: readonly string[]) {
    this.cidrs = cidrs;
    for (const c of cidrs) {
      const [addr, bits] = c.split('/');
      const type = net.isIPv6(addr) ? 'ipv6' : 'ipv4';
      if (!net.isIP(addr)) throw new Error(`${JSON.stringify(c)} is not an address or CIDR network`);
      const max = type === 'ipv6' ? 128 : 32;
      const prefix = bits === undefined ? max : Number(bits);
      if (!Number.isInteger(prefix) || prefix < 0 || prefix > max || (bits !== undefined && !/^\d+$/.test(bits))) throw new Error(`${JSON.stringify(c)} has no valid prefix length (0-${max})`);
      this.list.addSubnet(addr, prefix, type);
    }
  }

  allows(address: string | undefined): boolean {
    if (!address) return false;
    const v4 = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(address)?.[1];
    if (v4) return this.list.check(v4, 'ipv4');
    return this.list.check(address, net.isIPv6(address) ? 'ipv6' : 'ipv4');
  }
}
