/**
 * How the Kubernetes scheduler reads a cluster in a long-lived process (the
 * server, `rectify --watch`), against the modelled API server: the first read
 * lists, the second lists and opens a watch from the list's resourceVersion,
 * later reads are served from what the watch delivered, as client-go's
 * informers are. Another client's change shows as soon as the API server
 * sends it; Sous's own writes show at once; a watch the API server ends is
 * re-opened from the last resourceVersion; one that expired (410) lists again.
 */
import { cleanup, drive, intended, NAME, requireFreshBuild, SHOP, shopSpec, startApi, TOKEN, values } from './scheduler-kubernetes-world';

/* eslint-disable @typescript-eslint/no-explicit-any */
let api: any;
const ADMIN = 'admin-token';

beforeAll(() => requireFreshBuild());
afterEach(async () => {
  try {
    api?.verify();
  } finally {
    await api?.close();
    api = undefined;
  }
});
afterAll(() => cleanup());

const start = async (opts: Record<string, unknown> = {}) => (api = await startApi({ tokens: { [TOKEN]: 'system:serviceaccount:sous:sous', [ADMIN]: 'admin' }, ...opts }));
/** Another client scaling the Deployment, as `kubectl patch` does (a merge patch, its own field manager). */
const scale = (n: number) => ({ op: 'kubectl', method: 'PATCH', path: `/apis/apps/v1/namespaces/sous/deployments/${NAME}?fieldManager=kubectl-patch`, contentType: 'application/merge-patch+json', body: { spec: { replicas: n } }, token: ADMIN });
const until = (n: number) => ({ op: 'actual', until: { id: SHOP, path: 'spec.NumInstances', equals: n }, within: 5000 });
/** Sous's reads of the Deployments: lists, and watches (with the resourceVersion they start from). */
const reads = () => api.requests.filter((r: any) => r.method === 'GET' && r.path === '/apis/apps/v1/namespaces/sous/deployments' && r.user !== 'admin');
const lists = () => reads().filter((r: any) => r.query.watch === undefined);
const watches = () => reads().filter((r: any) => r.query.watch === 'true');

describe('Kubernetes scheduler: reads in a long-lived process (modelled API server)', () => {
  it('lists once, then watches: another client\'s change shows when it is sent, Sous\'s own writes at once', async () => {
    await start();
    const want = intended('github.com/acme/shop', 'http-service', shopSpec(), api.url);
    const [, , third, patched, seen, rescaled, own] = values(
      await drive(api.url, [{ op: 'rectify', intended: [want] }, { op: 'actual' }, { op: 'actual' }, scale(5), until(5), { op: 'rectify', intended: [want] }, { op: 'actual' }]),
    );
    expect(third[0].spec).toEqual(want.spec);
    expect(patched).toEqual({ status: 200 });
    expect(seen.got).toBe(5);
    expect(rescaled.plan.actions.map((a: any) => [a.kind, a.reason])).toEqual([['scale', 'instances 5 → 2']]);
    expect(own[0].spec.NumInstances).toBe(2);
    // Two lists (the first read, and the second, which opens the watch); every later read came from the watch.
    expect(lists()).toHaveLength(2);
    expect(watches().map((r: any) => [r.query.resourceVersion !== undefined, r.query.allowWatchBookmarks, r.query.labelSelector])).toEqual([[true, 'true', 'app.kubernetes.io/managed-by=sous,sous.dev/cluster=east']]);
  });

  it('re-opens a watch the API server ended from the last resourceVersion it saw, and lists again when that has expired (410)', async () => {
    await start();
    const want = intended('github.com/acme/shop', 'http-service', shopSpec(), api.url);
    values(await drive(api.url, [{ op: 'rectify', intended: [want] }]));
    // The API server ends every watch just before the patch arrives (a restart, a timeout).
    const mark = api.requests.length;
    api.when({ method: 'PATCH', path: new RegExp(`deployments/${NAME}$`) }, () => api.closeWatches());
    const [, , , reopened] = values(await drive(api.url, [{ op: "actual" }, { op: "actual" }, scale(4), until(4)]));
    expect(reopened.got).toBe(4);
    const w = watches().filter((r: any) => api.requests.indexOf(r) >= mark);
    // The second watch carried on from where the first one was: no list between them.
    expect(w).toHaveLength(2);
    expect(Number(w[1].query.resourceVersion)).toBeGreaterThanOrEqual(Number(w[0].query.resourceVersion));
    expect(lists().filter((r: any) => api.requests.indexOf(r) >= mark)).toHaveLength(2);

    // Now, while the watch is down, other writes happen and the events up to them are compacted away: a watch from before is too old.
    const mark2 = api.requests.length;
    api.when({ method: 'PATCH', path: new RegExp(`deployments/${NAME}$`) }, () => {
      api.closeWatches();
      api.put('serviceaccounts', { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'someone-else', namespace: 'sous' } });
      api.compact();
    });
    const [, , , expired] = values(await drive(api.url, [{ op: 'actual' }, { op: 'actual' }, scale(3), until(3)]));
    expect(expired.got).toBe(3);
    // The re-opened watch was told 410 Expired, so the next read listed again (and opened a new watch from that list).
    expect(lists().filter((r: any) => api.requests.indexOf(r) >= mark2)).toHaveLength(3);
    expect(watches().filter((r: any) => api.requests.indexOf(r) >= mark2)).toHaveLength(3);
  });

  it('lists on every read when RBAC grants no watch, or with watch: false', async () => {
    await start({ rbac: [{ verbs: ['get', 'list', 'patch'], resources: ['serviceaccounts', 'deployments.apps', 'cronjobs.batch', 'services'] }] });
    const want = intended('github.com/acme/shop', 'http-service', shopSpec(), api.url);
    const [, , , , last] = values(await drive(api.url, [{ op: 'rectify', intended: [want] }, { op: 'actual' }, { op: 'actual' }, scale(5), { op: 'actual' }]));
    expect(last[0].spec.NumInstances).toBe(5);
    // The one watch asked for was refused (403); from then on every read listed.
    expect(watches().map((r: any) => r.status)).toEqual([403]);
    expect(lists()).toHaveLength(4);
    await api.close();
    await start();
    values(await drive(api.url, [{ op: 'rectify', intended: [want] }, { op: 'actual' }, { op: 'actual' }], { options: { watch: false } }));
    expect([lists().length, watches().length]).toEqual([3, 0]);
  });
});
