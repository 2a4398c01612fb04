import { sousFetch } from '../net/fetch';
import { DeliveryError } from './delivery';

/** What a receiver answered. */
export interface HttpAnswer {
  status: number;
  body: string;
}

// Retrying helps with these: timeouts, "too early", rate limits.
const RETRYABLE_4XX = new Set([408, 425, 429]);

/**
 * POSTs a body and classifies the outcome for the outbox: 2xx is delivered;
 * a refusal (other 3xx/4xx) is a permanent DeliveryError; no answer within
 * `timeoutMs`, a connection failure or a 5xx is a DeliveryError to retry.
 */
export async function httpPost(url: string, body: string, opts: { headers: Record<string, string>; timeoutMs: number; signal?: AbortSignal }): Promise<HttpAnswer> {
  const timeout = AbortSignal.timeout(opts.timeoutMs);
  const signal = opts.signal ? AbortSignal.any([opts.signal, timeout]) : timeout;
  const where = safeHost(url);
  const headers = { ...opts.headers };
  const u = new URL(url);
  if (u.username || u.password) {
    // fetch refuses URLs with credentials: send them the way a browser would, as Basic auth.
    if (!Object.keys(headers).some((h) => h.toLowerCase() === 'authorization')) {
      headers.Authorization = `Basic ${Buffer.from(`${decodeURIComponent(u.username)}:${decodeURIComponent(u.password)}`).toString('base64')}`;
    }
    u.username = '';
    u.password = '';
    url = u.toString();
  }
  let res: Response;
  let text: string;
  try {
    res = await sousFetch(url, { method: 'POST', body, headers, signal, redirect: 'manual' });
    text = await res.text();
  } catch (e) {
    if (timeout.aborted) throw new DeliveryError(`${where} did not answer within ${opts.timeoutMs} ms`, { cause: e });
    if (opts.signal?.aborted) throw new DeliveryError('interrupted', { cause: e });
    const cause = (e as { cause?: { code?: string; message?: string } }).cause;
    throw new DeliveryError(`cannot reach ${where}: ${cause?.code ?? cause?.message ?? (e as Error).message}`, { cause: e });
  }
  if (res.status >= 200 && res.status < 300) return { status: res.status, body: text };
  const permanent = res.status < 500 && !RETRYABLE_4XX.has(res.status);
  const snippet = text.trim().slice(0, 200);
  throw new DeliveryError(`${where} answered ${res.status}${snippet ? `: ${snippet}` : ''}`, { status: res.status, permanent });
}

/** host[:port] of a URL, for messages (paths of webhook URLs are often secret). */
export function safeHost(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return 'the receiver';
  }
}
