import { isSousError, SousError } from '@sous/core';
import type { KubernetesObject } from '@kubernetes/client-node';
import { k8s, type ApiStatus, type Apis, type CallInfo } from './client';
import { ANNOTATIONS, FIELD_MANAGER } from './names';

/** The kinds of object Sous applies, each with its resource name as RBAC and the API paths write it. */
export type Kind = 'Deployment' | 'CronJob' | 'Service' | 'ServiceAccount' | 'Secret' | 'Ingress' | 'HTTPRoute';

export const RESOURCES: Record<Kind, string> = {
  Deployment: 'deployments.apps',
  CronJob: 'cronjobs.batch',
  Service: 'services',
  ServiceAccount: 'serviceaccounts',
  Secret: 'secrets',
  Ingress: 'ingresses.networking.k8s.io',
  HTTPRoute: 'httproutes.gateway.networking.k8s.io',
};

interface Ops {
  patch(name: string, namespace: string, body: unknown, fieldManager: string, force: boolean): Promise<KubernetesObject>;
  read(name: string, namespace: string): Promise<KubernetesObject>;
  remove(name: string, namespace: string): Promise<unknown>;
}

const GATEWAY = { group: 'gateway.networking.k8s.io', version: 'v1', plural: 'httproutes' };

function ops(apis: Apis, kind: Kind): Ops {
  const m = k8s();
  const apply = m.setHeaderOptions('Content-Type', m.PatchStrategy.ServerSideApply);
  const propagationPolicy = 'Background';
  switch (kind) {
    case 'Deployment':
      return {
        patch: (name, namespace, body, fieldManager, force) => apis.apps.patchNamespacedDeployment({ name, namespace, body, fieldManager, force }, apply),
        read: (name, namespace) => apis.apps.readNamespacedDeployment({ name, namespace }),
        remove: (name, namespace) => apis.apps.deleteNamespacedDeployment({ name, namespace, propagationPolicy }),
      };
    case 'CronJob':
      return {
        patch: (name, namespace, body, fieldManager, force) => apis.batch.patchNamespacedCronJob({ name, namespace, body, fieldManager, force }, apply),
        read: (name, namespace) => apis.batch.readNamespacedCronJob({ name, namespace }),
        remove: (name, namespace) => apis.batch.deleteNamespacedCronJob({ name, namespace, propagationPolicy }),
      };
    case 'Service':
      return {
        patch: (name, namespace, body, fieldManager, force) => apis.core.patchNamespacedService({ name, namespace, body, fieldManager, force }, apply),
        read: (name, namespace) => apis.core.readNamespacedService({ name, namespace }),
        remove: (name, namespace) => apis.core.deleteNamespacedService({ name, namespace }),
      };
    case 'ServiceAccount':
      return {
        patch: (name, namespace, body, fieldManager, force) => apis.core.patchNamespacedServiceAccount({ name, namespace, body, fieldManager, force }, apply),
        read: (name, namespace) => apis.core.readNamespacedServiceAccount({ name, namespace }),
        remove: (name, namespace) => apis.core.deleteNamespacedServiceAccount({ name, namespace }),
      };
    case 'Secret':
      return {
        patch: (name, namespace, body, fieldManager, force) => apis.core.patchNamespacedSecret({ name, namespace, body, fieldManager, force }, apply),
        read: (name, namespace) => apis.core.readNamespacedSecret({ name, namespace }),
        remove: (name, namespace) => apis.core.deleteNamespacedSecret({ name, namespace }),
      };
    case 'Ingress':
      return {
        patch: (name, namespace, body, fieldManager, force) => apis.networking.patchNamespacedIngress({ name, namespace, body, fieldManager, force }, apply),
        read: (name, namespace) => apis.networking.readNamespacedIngress({ name, namespace }),
        remove: (name, namespace) => apis.networking.deleteNamespacedIngress({ name, namespace }),
      };
    case 'HTTPRoute':
      return {
        patch: (name, namespace, body, fieldManager, force) =>
          apis.custom.patchNamespacedCustomObject({ ...GATEWAY, name, namespace, body, fieldManager, force }, apply) as Promise<KubernetesObject>,
        read: (name, namespace) => apis.custom.getNamespacedCustomObject({ ...GATEWAY, name, namespace }) as Promise<KubernetesObject>,
        remove: (name, namespace) => apis.custom.deleteNamespacedCustomObject({ ...GATEWAY, name, namespace }),
      };
  }
}

/** How the applier reaches the API server: the namespace, a wrapper that maps errors and times out, and progress. */
export interface ApplyContext {
  apis: Apis;
  namespace: string;
  call<T>(what: CallInfo, fn: () => Promise<T>): Promise<T>;
  progress?(message: string): void;
  /** Told of every write of an object (the resourceVersion the API server answered; null for a delete). */
  wrote?(kind: Kind, name: string, resourceVersion: string | null): void;
}

const statusIs = (e: unknown, status: number) => isSousError(e) && e.details?.status === status;

/** The fields and managers of a server-side apply conflict (a 409 Status with FieldManagerConflict causes). */
function conflictOf(e: unknown): { fields: string[]; managers: string[] } | undefined {
  if (!statusIs(e, 409)) return undefined;
  const all = ((e as SousError).details?.causes ?? []) as NonNullable<NonNullable<ApiStatus['details']>['causes']>;
  const causes = all.filter((c) => c.reason === 'FieldManagerConflict');
  if (!causes.length) return undefined;
  const managers = [...new Set(causes.map((c) => /conflict with "([^"]+)"/.exec(c.message ?? '')?.[1]).filter((m): m is string => Boolean(m)))];
  return { fields: causes.map((c) => c.field ?? '?'), managers };
}

/** An object is Sous's when it carries this deployment's id (or, for shared objects, Sous's manager label). */
export function ownedBy(obj: KubernetesObject | undefined, deploymentID: string | undefined): boolean {
  const ann = obj?.metadata?.annotations ?? {};
  return deploymentID === undefined ? obj?.metadata?.labels?.['app.kubernetes.io/managed-by'] === 'sous' : ann[ANNOTATIONS.deploymentID] === deploymentID;
}

/**
 * Server-side apply (PATCH, application/apply-patch+yaml, fieldManager
 * sous) of one object Sous makes. The first apply is not forced, so the API
 * server reports any field another manager set. When the object is this
 * deployment's own, the fields it names are in Sous's intent (a
 * `kubectl edit` of the image, say): Sous takes them back with force and
 * says so. On anyone else's object, a conflict is an error that names the
 * fields and managers, and nothing is forced.
 */
export async function applyObject<T extends KubernetesObject>(ctx: ApplyContext, kind: Kind, body: T, deploymentID?: string): Promise<T> {
  const name = body.metadata!.name!;
  const { namespace } = ctx;
  const o = ops(ctx.apis, kind);
  const info: CallInfo = { verb: 'patch', resource: RESOURCES[kind], name, namespace };
  const written = (obj: KubernetesObject): T => {
    ctx.wrote?.(kind, name, obj.metadata?.resourceVersion ?? null);
    return obj as T;
  };
  try {
    return written(await ctx.call(info, () => o.patch(name, namespace, body, FIELD_MANAGER, false)));
  } catch (e) {
    const c = conflictOf(e);
    if (!c) throw e;
    const live = await ctx.call({ verb: 'get', resource: RESOURCES[kind], name, namespace }, () => o.read(name, namespace));
    if (!ownedBy(live, deploymentID)) {
      throw new SousError('KUBERNETES_NOT_OURS', `${kind} ${namespace}/${name} belongs to someone else (${c.managers.join(', ') || 'another field manager'} set ${c.fields.join(', ')}); Sous does not take it over`, {
        exit: 1,
        details: { kind, name, namespace, fields: c.fields, managers: c.managers },
        hints: [`Rename or remove the other ${kind}, or give this deployment another flavor`],
      });
    }
    ctx.progress?.(`taking back ${c.fields.join(', ')} of ${kind} ${name} from ${c.managers.join(', ')}`);
    return written(await ctx.call(info, () => o.patch(name, namespace, body, FIELD_MANAGER, true)));
  }
}

/** Applies only `body`'s fields under another field manager, never forced: a conflict means someone else already owns them, which is fine. */
export async function applyAs(ctx: ApplyContext, kind: Kind, body: KubernetesObject, manager: string): Promise<boolean> {
  const name = body.metadata!.name!;
  try {
    const obj = await ctx.call({ verb: 'patch', resource: RESOURCES[kind], name, namespace: ctx.namespace }, () => ops(ctx.apis, kind).patch(name, ctx.namespace, body, manager, false));
    ctx.wrote?.(kind, name, obj.metadata?.resourceVersion ?? null);
    return true;
  } catch (e) {
    if (conflictOf(e)) return false;
    throw e;
  }
}

/** Reads an object; undefined when there is none. */
export async function readObject(ctx: ApplyContext, kind: Kind, name: string): Promise<KubernetesObject | undefined> {
  try {
    return await ctx.call({ verb: 'get', resource: RESOURCES[kind], name, namespace: ctx.namespace }, () => ops(ctx.apis, kind).read(name, ctx.namespace));
  } catch (e) {
    if (statusIs(e, 404) && !(isSousError(e) && e.code === 'KUBERNETES_NO_NAMESPACE')) return undefined;
    throw e;
  }
}

/** Deletes an object; one already gone is fine. */
export async function deleteObject(ctx: ApplyContext, kind: Kind, name: string): Promise<void> {
  try {
    await ctx.call({ verb: 'delete', resource: RESOURCES[kind], name, namespace: ctx.namespace }, () => ops(ctx.apis, kind).remove(name, ctx.namespace));
    ctx.wrote?.(kind, name, null);
  } catch (e) {
    if (!statusIs(e, 404) || (isSousError(e) && e.code === 'KUBERNETES_NO_NAMESPACE')) throw e;
  }
}
