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
  networking: K8s.NetworkingV1Api;
  /** For the Gateway API's HTTPRoute, which the typed clients do not know. */
  custom: K8s.CustomObjectsApi;
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
    networking: kc.makeApiClient(m.NetworkingV1Api),
    custom: kc.makeApiClient(m.CustomObjectsApi),
    server: kc.getCurrentCluster()?.server ?? '',
  };
}

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE', 'ESOCKETTIMEDOUT']);

/** The HTTP status of a failed call, when the API server answered. */
export function statusOf(e: unknown): number | undefined {
  const c = (e as { code?: unknown })?.code;
  return typeof c === 'number' ? c : undefined;
}

/** A Status object as the API server sends with a failure (meta/v1 Status). */
export interface ApiStatus {
  kind?: string;
  message?: string;
  reason?: string;
  code?: number;
  details?: { name?: string; group?: string; kind?: string; causes?: { reason?: string; message?: string; field?: string }[] };
}

/** The Status object of an error body, when it is one. */
export function apiStatus(body: unknown): ApiStatus | undefined {
  let v: unknown = body;
  if (typeof body === 'string') {
    try {
      v = JSON.parse(body);
    } catch {
      return undefined;
    }
  }
  return v && typeof v === 'object' && !Array.isArray(v) ? (v as ApiStatus) : undefined;
}

/** The API server's own message from an error body (a Status object), else the body's text. */
export function apiMessage(body: unknown): string {
  if (body === undefined || body === null) return '';
  const st = apiStatus(body);
  if (st && typeof st.message === 'string') return st.message.slice(0, 500);
  if (typeof body === 'string') return body.trim().slice(0, 500);
  return JSON.stringify(body).slice(0, 500);
}

/** What a call did, for messages: the verb and resource as RBAC names them. */
export interface CallInfo {
  verb: string;
  /** The resource with its group, as RBAC writes it: `deployments.apps`, `services`. */
  resource: string;
  name?: string;
  namespace?: string;
}

export function describeCall(c: CallInfo): string {
  return `${c.verb} ${c.resource}${c.name ? ` ${c.name}` : ''}${c.namespace ? ` in namespace ${c.namespace}` : ''}`;
}

const FORBIDDEN = /cannot (\w+) resource "([^"]+)"(?: in API group "([^"]*)")?/;

/** Any failure of a call to the API server as a SousError; transient ones carry `details.retryable`. */
export function k8sError(e: unknown, call: CallInfo | string, server: string): SousError {
  if (e instanceof SousError) return e;
  const what = typeof call === 'string' ? call : describeCall(call);
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
  const body = (e as { body?: unknown }).body;
  const st = apiStatus(body) ?? {};
  const msg = apiMessage(body);
  const text = `Kubernetes answered ${status} to ${what}${msg ? `: ${msg}` : ''}`;
  const details: Record<string, unknown> = { status, server, apiMessage: msg, reason: st.reason, ...(st.details?.causes?.length ? { causes: st.details.causes } : {}) };
  if (typeof call !== 'string') Object.assign(details, { verb: call.verb, resource: call.resource, namespace: call.namespace });
  if (status >= 500) return new SousError('KUBERNETES_UNAVAILABLE', text, { details: { ...details, retryable: true }, hints: ['The API server is failing or restarting; the rectifier retries'], cause: e });
  if (status === 429) return new SousError('KUBERNETES_THROTTLED', text, { details: { ...details, retryable: true }, hints: ['The API server is limiting calls; the rectifier retries after a pause'], cause: e });
  // A 409 is an optimistic-concurrency conflict: someone changed the object meanwhile; a new attempt reads it again.
  if (status === 409) return new SousError('KUBERNETES_CONFLICT', text, { details: { ...details, retryable: true }, cause: e });
  if (status === 401) return new SousError('KUBERNETES_UNAUTHORIZED', text, { details, hints: ['Give the plugin a token: SOUS_KUBE_TOKEN_<CLUSTER>, kubernetesScheduler({ token }), or a kubeconfig context'], cause: e });
  if (status === 403) {
    // The API server names the verb and resource it refused; say them first, and how to grant them.
    const m = FORBIDDEN.exec(msg);
    const verb = m?.[1] ?? (typeof call === 'string' ? '?' : call.verb);
    const resource = m ? (m[3] ? `${m[2]}.${m[3]}` : m[2]) : typeof call === 'string' ? '?' : call.resource;
    const ns = typeof call === 'string' ? undefined : call.namespace;
    return new SousError('KUBERNETES_FORBIDDEN', `Kubernetes RBAC refused to let Sous ${verb} ${resource}${ns ? ` in namespace ${ns}` : ''} (${what}): ${msg}`, {
      details: { ...details, verb, resource },
      hints: [`Grant it in the Role Sous's credentials are bound to, e.g. kubectl create role sous --verb=${verb} --resource=${resource}${ns ? ` -n ${ns}` : ''}; the plugin README lists every permission Sous needs`],
      cause: e,
    });
  }
  if (status === 404 && st.details?.kind === 'namespaces') {
    const ns = st.details.name ?? (typeof call === 'string' ? '' : call.namespace);
    return new SousError('KUBERNETES_NO_NAMESPACE', `the namespace ${ns} does not exist on ${server} (${what})`, {
      exit: 2,
      details: { ...details, namespace: ns },
      hints: [`Create it (kubectl create namespace ${ns}), or set the cluster's namespace: SOUS_KUBE_NAMESPACE_<CLUSTER>, the plugin's clusters.<name>.namespace, or the kubeconfig context's namespace`],
      cause: e,
    });
  }
  if (status === 404) return new SousError('KUBERNETES_NOT_FOUND', text, { details, hints: ['Check the BaseURL and the API group: the object or its kind is not served there'], cause: e });
  if (status === 400 || status === 422) {
    const fields = (st.details?.causes ?? []).map((c) => c.field).filter((f): f is string => Boolean(f));
    return new SousError('KUBERNETES_INVALID', fields.length ? `Kubernetes refused ${what}: ${fields.join(', ')}: ${msg}` : text, {
      details: { ...details, fields },
      hints: [fields.length ? `The API server refused the field(s) ${fields.join(', ')}; fix the deployment's settings they come from` : 'The API server refused the object; its message names the field'],
      cause: e,
    });
  }
  if (status === 415) return new SousError('KUBERNETES_REJECTED', text, { details, hints: ['The API server does not take this content type: it may be older than server-side apply (Kubernetes 1.22)'], cause: e });
  return new SousError('KUBERNETES_REJECTED', text, { details, hints: ['See the API server\'s message'], cause: e });
}

/**
 * Runs one API call, mapping its failure, and gives up waiting after
 * `timeoutMs` (the client has no per-call timeout of its own).
 */
export async function call<T>(what: CallInfo | string, server: string, timeoutMs: number, fn: () => Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new SousError('KUBERNETES_UNREACHABLE', `the Kubernetes API server at ${server} did not answer ${typeof what === 'string' ? what : describeCall(what)} within ${timeoutMs} ms`, { details: { server, retryable: true }, hints: ['Check that the API server is up and reachable'] })),
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
