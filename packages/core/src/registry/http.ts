import { failure, isSousError, type SousError } from '../errors';

/** One error from a registry's error body (`{"errors":[{code,message,detail}]}`). */
export interface RegistryErrorEntry {
  code?: string;
  message?: string;
  detail?: unknown;
}

/** Reads the registry's error body and makes the refusal a REGISTRY_REFUSED carrying the registry's own words. */
export async function refused(res: Response, registry: string, what: string): Promise<SousError> {
  let text = '';
  try {
    text = await res.text();
  } catch {
    text = '';
  }
  let errors: RegistryErrorEntry[] = [];
  try {
    const body = JSON.parse(text) as { errors?: RegistryErrorEntry[] };
    if (Array.isArray(body.errors)) errors = body.errors;
  } catch {
    errors = [];
  }
  const said = errors.map((e) => [e.code, e.message].filter(Boolean).join(': ')).filter(Boolean).join('; ') || text.trim().slice(0, 200) || res.statusText;
  const hints =
    res.status === 401 || res.status === 403
      ? ['The registry wants credentials or does not allow this: check its access rules for this repository']
      : res.status === 405
        ? ['The registry does not allow this operation (a read-only mirror or pull-through cache?)']
        : ['The registry said why in details.errors'];
  return failure('REGISTRY_REFUSED', `${registry} refused ${what}: HTTP ${res.status}${said ? ` (${said})` : ''}`, {
    hints,
    details: { registry, status: res.status, errors },
  });
}

/** The registry could not be spoken to at all: connection refused, name unknown, no answer in time. */
export function unreachable(registry: string, baseURL: string, e: unknown, timeoutMs?: number, extraHints: string[] = []): SousError {
  if (isSousError(e)) return e;
  const err = e as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  const why =
    err.name === 'AbortError' || err.name === 'TimeoutError'
      ? `no answer within ${Math.round((timeoutMs ?? 0) / 1000)} s`
      : (err.cause?.code ?? err.cause?.message ?? err.message ?? String(e));
  return failure('REGISTRY_UNREACHABLE', `the registry ${registry} is unreachable: ${why}`, {
    hints: [`Check that it runs and answers: curl ${baseURL}/v2/`, ...extraHints],
    details: { registry, reason: why },
    cause: e,
  });
}

/** Frees the connection of a response whose body is not wanted. */
export async function discard(res: Response): Promise<void> {
  try {
    await res.body?.cancel();
  } catch {
    // The body was already closed or consumed: nothing to free.
  }
}

/** Reads at most `limit` bytes of a body; more is an error rather than unbounded memory. */
export async function readLimited(res: Response, limit: number, what: string, registry: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  if (!res.body) return Buffer.alloc(0);
  for await (const c of res.body as unknown as AsyncIterable<Uint8Array>) {
    n += c.length;
    if (n > limit) {
      await discard(res);
      throw failure('REGISTRY_RESPONSE_TOO_LARGE', `${registry} answered more than ${limit} bytes for ${what}`, { details: { registry, limit } });
    }
    chunks.push(Buffer.from(c));
  }
  return Buffer.concat(chunks);
}
