import { PassThrough } from 'node:stream';
import { byTime, mergeLines, pickInstances, splitLines, timestamped, type LogLine, type LogRequest } from '@sous/core';
import type { KubeConfig, V1Pod } from '@kubernetes/client-node';
import { k8s, k8sError, type Apis, type CallInfo } from './client';
import { deploymentHash, LABELS, MANAGED_BY } from './names';

/** The container Sous runs the application in, in every pod it makes. */
export const APP_CONTAINER = 'app';

export interface PodLogContext {
  kc: KubeConfig;
  apis: Apis;
  namespace: string;
  call<T>(what: CallInfo, fn: () => Promise<T>): Promise<T>;
}

/** The deployment's pods that have (or had) a running container: a pod still Pending has no log yet. */
export async function deploymentPods(ctx: PodLogContext, deploymentID: string): Promise<V1Pod[]> {
  const labelSelector = `${LABELS.managedBy}=${MANAGED_BY},${LABELS.deployment}=${deploymentHash(deploymentID)}`;
  const list = await ctx.call({ verb: 'list', resource: 'pods', namespace: ctx.namespace }, () => ctx.apis.core.listNamespacedPod({ namespace: ctx.namespace, labelSelector }));
  return list.items.filter((p) => p.metadata?.name && p.status?.phase !== 'Pending').sort((a, b) => (a.metadata!.name! < b.metadata!.name! ? -1 : 1));
}

/** One pod's log lines (GET .../pods/NAME/log, with timestamps), as they come; ends when the API server ends the response. */
async function* podLog(ctx: PodLogContext, pod: string, req: LogRequest): AsyncIterable<LogLine> {
  // The client leaves tailLines out when it is 0: no lines so far means none at all, or (following) only those from now on.
  if (req.tail === 0 && !req.follow) return;
  const since = req.tail === 0 ? Date.now() : req.since;
  const out = new PassThrough();
  let controller: AbortController;
  try {
    controller = await new (k8s().Log)(ctx.kc).log(ctx.namespace, pod, APP_CONTAINER, out, {
      follow: req.follow === true,
      timestamps: true,
      ...(req.tail ? { tailLines: req.tail } : {}),
      // metav1.Time is RFC 3339 to the second: the second the time falls in is included.
      ...(since !== undefined ? { sinceTime: new Date(since).toISOString().replace(/\.\d{3}Z$/, 'Z') } : {}),
    });
  } catch (e) {
    throw k8sError(e, { verb: 'get', resource: 'pods/log', name: pod, namespace: ctx.namespace }, ctx.apis.server);
  }
  const stop = () => {
    controller.abort();
    out.end();
  };
  req.signal?.addEventListener('abort', stop, { once: true });
  try {
    for await (const text of splitLines(out)) {
      const t = timestamped(text);
      yield { instance: pod, ...(t.time ? { time: t.time } : {}), text: t.text };
    }
  } finally {
    req.signal?.removeEventListener('abort', stop);
    controller.abort();
  }
}

/**
 * The log lines of a deployment's pods (container `app`): without `follow`,
 * everything so far in the order written; with it, as the API server streams
 * them, until the signal aborts or the pods end.
 */
export async function* podLogs(ctx: PodLogContext, deploymentID: string, req: LogRequest): AsyncIterable<LogLine> {
  const pods = (await deploymentPods(ctx, deploymentID)).map((p) => ({ name: p.metadata!.name!, id: p.metadata!.uid ?? p.metadata!.name! }));
  const chosen = pickInstances(pods, deploymentID, req.instance);
  if (!req.follow) {
    const all = await Promise.all(
      chosen.map(async (p) => {
        const lines: LogLine[] = [];
        for await (const l of podLog(ctx, p.name, req)) lines.push(l);
        return lines;
      }),
    );
    yield* byTime(all.flat());
    return;
  }
  yield* mergeLines(chosen.map((p) => podLog(ctx, p.name, req)));
}
