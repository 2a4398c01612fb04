import type { Lease } from '@sous/core';
import type { V1Lease } from '@kubernetes/client-node';
import { k8s, type Apis, type CallInfo } from './client';
import { leaseName, LABELS, labelValue, MANAGED_BY } from './names';

/** How a lease call reaches the API server: the namespace, and a wrapper that maps errors and times out. */
export interface LeaseContext {
  apis: Apis;
  namespace: string;
  cluster: string;
  call<T>(what: CallInfo, fn: () => Promise<T>): Promise<T>;
}

const LEASES = 'leases.coordination.k8s.io';

function expired(l: V1Lease, now: number): boolean {
  const holder = l.spec?.holderIdentity;
  if (!holder) return true;
  const renewed = Date.parse(String(l.spec?.renewTime ?? l.spec?.acquireTime ?? ''));
  const ttl = (l.spec?.leaseDurationSeconds ?? 0) * 1000;
  return !Number.isFinite(renewed) || renewed + ttl < now;
}

/**
 * Takes the cluster's coordination.k8s.io/v1 Lease for `holder`: creates it,
 * or takes it over when it is free or its holder let it expire. Every write
 * carries the resourceVersion it read, so of two rectifiers racing for it
 * the API server lets one win. Resolves undefined when someone else holds it.
 */
export async function takeLease(ctx: LeaseContext, holder: string, ttlMs: number): Promise<Lease | undefined> {
  const m = k8s();
  const name = leaseName(ctx.cluster);
  const { namespace } = ctx;
  const seconds = Math.max(1, Math.ceil(ttlMs / 1000));
  const micro = () => new m.V1MicroTime(Date.now());
  const conflict = (e: unknown) => (e as { details?: { status?: number } }).details?.status === 409;

  let current: V1Lease | undefined;
  try {
    current = await ctx.call({ verb: 'get', resource: LEASES, name, namespace }, () => ctx.apis.coordination.readNamespacedLease({ name, namespace }));
  } catch (e) {
    if ((e as { details?: { status?: number } }).details?.status !== 404) throw e;
  }
  let held: V1Lease;
  try {
    if (!current) {
      const body: V1Lease = {
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { name, namespace, labels: { [LABELS.managedBy]: MANAGED_BY, [LABELS.cluster]: labelValue(ctx.cluster) } },
        spec: { holderIdentity: holder, leaseDurationSeconds: seconds, acquireTime: micro(), renewTime: micro(), leaseTransitions: 0 },
      };
      held = await ctx.call({ verb: 'create', resource: LEASES, name, namespace }, () => ctx.apis.coordination.createNamespacedLease({ namespace, body }));
    } else {
      const mine = current.spec?.holderIdentity === holder;
      if (!mine && !expired(current, Date.now())) return undefined;
      const body: V1Lease = {
        ...current,
        spec: {
          ...current.spec,
          holderIdentity: holder,
          leaseDurationSeconds: seconds,
          acquireTime: mine ? current.spec?.acquireTime : micro(),
          renewTime: micro(),
          leaseTransitions: (current.spec?.leaseTransitions ?? 0) + (mine ? 0 : 1),
        },
      };
      held = await ctx.call({ verb: 'update', resource: LEASES, name, namespace }, () => ctx.apis.coordination.replaceNamespacedLease({ name, namespace, body }));
    }
  } catch (e) {
    if (conflict(e)) return undefined;
    throw e;
  }

  let lost = false;
  const write = async (spec: V1Lease['spec']): Promise<boolean> => {
    if (lost) return false;
    try {
      held = await ctx.call({ verb: 'update', resource: LEASES, name, namespace }, () => ctx.apis.coordination.replaceNamespacedLease({ name, namespace, body: { ...held, spec } }));
      return true;
    } catch (e) {
      if (conflict(e)) lost = true;
      return false;
    }
  };
  return {
    holder,
    renew: () => write({ ...held.spec, renewTime: micro() }),
    async release() {
      // As client-go's leader election does: clear the holder and let the lease lapse at once.
      if (await write({ ...held.spec, holderIdentity: undefined, leaseDurationSeconds: 1, renewTime: micro() })) lost = true;
    },
  };
}
