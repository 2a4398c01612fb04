import { SousError } from '@sous/core';
import type * as K8s from '@kubernetes/client-node';

export type K8sModule = typeof K8s;

let loaded: K8sModule | undefined;

/**
 * The official client, loaded on first use: it is an ES module, which Node
 * 20.19+ loads with require(), and only commands that reach a Kubernetes
 * cluster should pay for loading it.
 */
export function k8s(): K8sModule {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (loaded ??= require('@kubernetes/client-node') as K8sModule);
}

/** The API groups Sous uses, for one cluster. */
export interface Apis {
  apps: K8s.AppsV1Api;
  core: K8s.CoreV1Api;
  batch: K8s.BatchV1Api;
  coordination: K8s.CoordinationV1Api;
  /** The API server's URL, for messages and links. */
  server: string;
}

export function makeApis(kc: K8s.KubeConfig): Apis {
  const m = k8s();
  return {
    apps: kc.makeApiClient(m.AppsV1Api),
    core: kc.makeApiClient(m.CoreV1Api),
    batch: kc.makeApiClient(m.BatchV1Api),
    coordination: kc.makeApiClient(m.CoordinationV1Api),
    server: kc.getCurrentCluster()?.server ?? '',
  };
}

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE', 'ESOCKETTIMEDOUT']);

/** The HTTP status of a failed call, when the API server answered. */
export function statusOf(e: unknown): number | undefined {
  const c = (e as { code?: unknown })?.code;
  return typeof c === 'number' ? c : undefined;
}

/** The API server's own message from an error body (a Status object), else the body's text. */
export function apiMessage(body: unknown): string {
  if (body === undefined || body === null) return '';
  let v: unknown = body;
  if (typeof body === 'string') {
    try {
      v = JSON.parse(body);
    } catch {
      return body.trim().slice(0, 500);
    }
  }
  if (v && typeof v === 'object' && typeof (v as { message?: unknown }).message === 'string') return (v as { message: string }).message.slice(0, 500);
  return typeof v === 'string' ? v.slice(0, 500) : JSON.stringify(v).slice(0, 500);
}

/** Any failure of a call to the API server as a SousError; transient ones carry `details.retryable`. */
export function k8sError(e: unknown, what: string, server: string): SousError {
  if (e instanceof SousError) return e;
  const status = statusOf(e);
  if (status === undefined) {
    const err = e as { code?: string; errno?: string; message?: string; name?: string };
    const code = typeof err.code === 'string' ? err.code : (err.errno ?? '');
    return new SousError('KUBERNETES_UNREACHABLE', `cannot reach the Kubernetes API server at ${server} (${what}): ${err.message ?? String(e)}`, {
      details: { server, errno: code, retryable: NETWORK_CODES.has(code) || err.name === 'FetchError' || err.name === 'TimeoutError' },
      hints: ['Check the cluster BaseURL in defs.yaml, the credentials, and that the API server is up'],
      cause: e,
    });
  }
  const msg = apiMessage((e as { body?: unknown }).body);
  const text = `Kubernetes answered ${status} to ${what}${msg ? `: ${msg}` : ''}`;
  const details = { status, server, apiMessage: msg };
  if (status >= 500) return new SousError('KUBERNETES_UNAVAILABLE', text, { details: { ...details, retryable: true }, hints: ['The API server is failing or restarting; the rectifier retries'], cause: e });
  if (status === 429) return new SousError('KUBERNETES_THROTTLED', text, { details: { ...details, retryable: true }, hints: ['The API server is limiting calls; the rectifier retries after a pause'], cause: e });
  // A 409 is an optimistic-concurrency conflict: someone changed the object meanwhile; a new attempt reads it again.
  if (status === 409) return new SousError('KUBERNETES_CONFLICT', text, { details: { ...details, retryable: true }, cause: e });
  if (status === 401) return new SousError('KUBERNETES_UNAUTHORIZED', text, { details, hints: ['Give the plugin a token: SOUS_KUBE_TOKEN_<CLUSTER>, kubernetesScheduler({ token }), or a kubeconfig'], cause: e });
  if (status === 403) return new SousError('KUBERNETES_FORBIDDEN', text, { details, hints: ['The credentials lack RBAC permission for this; see the plugin README for the Role Sous needs'], cause: e });
  if (status === 404) return new SousError('KUBERNETES_NOT_FOUND', text, { details, hints: ['Check that the namespace exists (kubectl create namespace ...) and the BaseURL'], cause: e });
  if (status === 400 || status === 422) return new SousError('KUBERNETES_INVALID', text, { details, hints: ['The API server refused the object; its message names the field'], cause: e });
  return new SousError('KUBERNETES_REJECTED', text, { details, cause: e });
}

/**
 * Runs one API call, mapping its failure, and gives up waiting after
 * `timeoutMs` (the client has no per-call timeout of its own).
 */
export async function call<T>(what: string, server: string, timeoutMs: number, fn: () => Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new SousError('KUBERNETES_UNREACHABLE', `the Kubernetes API server at ${server} did not answer ${what} within ${timeoutMs} ms`, { details: { server, retryable: true } })),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([fn(), timeout]);
  } catch (e) {
    throw k8sError(e, what, server);
  } finally {
    clearTimeout(timer);
  }
}
