/**
 * Secrets on Kubernetes, against the modelled API server: a Secret owned by
 * the workload (ownerReferences, so the garbage collector deletes it with
 * the workload), env entries with `valueFrom.secretKeyRef`, annotations that
 * hold references and keyed hashes only, a pod template annotation from the
 * keyed hashes so a rotated value rolls the pods, and `actual()` reporting the
 * hashes it deployed. The driver hands the values over as the rectifier does
 * (ApplyOptions.secrets and core's storedView). A canary value must appear
 * nowhere but in the Secret's data.
 */
import { sealer, type DeployState } from '@sous/core';
import { cleanup, driveRaw, drive, HASH_KEY, intended, NAME, plan, requireFreshBuild, SHOP, shopSpec, startApi, values, writes, type DriveExtra } from './scheduler-kubernetes-world';

/* eslint-disable @typescript-eslint/no-explicit-any */
const CANARY = 'canary-Zq7-s3cr3t-value';
const ROTATED = 'canary-rotated-9xW-value';
const API_KEY = 'canary-api-key-42';
const SECRET = `${NAME}-env`;
const seal = sealer(Buffer.from(HASH_KEY, 'utf8'));
const b64 = (v: string) => Buffer.from(v, 'utf8').toString('base64');

let api: any;
/** Everything the driver printed (plans, outcomes, progress messages, read-backs, errors), for the leak check. */
let printed: string[] = [];

beforeAll(() => requireFreshBuild());
afterEach(async () => {
  try {
    api?.verify();
  } finally {
    await api?.close();
    api = undefined;
    printed = [];
  }
});
afterAll(() => cleanup());

async function run(steps: unknown[], extra: DriveExtra = {}) {
  const r = await driveRaw(api.url, steps, extra);
  printed.push(r.stdout, r.stderr);
  return r.results;
}

const secretSpec = (over = {}) => shopSpec({ Env: { LOG_LEVEL: 'info' }, Secrets: { DB_PASSWORD: 'file:shop/db', API_KEY: 'env:SHOP_API_KEY' }, ...over });
const given = (db: string) => ({ [SHOP]: { DB_PASSWORD: db, API_KEY } });

/**
 * The canary (plain and base64) is nowhere the API server keeps or was sent,
 * but in the Secret's data; nor in anything the driver printed.
 */
function expectNoLeak(...canaries: string[]) {
  const forms = canaries.flatMap((c) => [c, b64(c)]);
  const kinds = ['deployments', 'cronjobs', 'services', 'serviceaccounts', 'secrets', 'ingresses', 'httproutes', 'leases'];
  for (const kind of kinds) {
    for (const o of api.list(kind, 'sous')) {
      const { data, ...rest } = o;
      for (const f of forms) expect([kind, o.metadata.name, JSON.stringify(rest)]).toEqual([kind, o.metadata.name, expect.not.stringContaining(f)]);
      if (kind !== 'secrets') expect(data).toBeUndefined();
    }
  }
  for (const r of api.requests) {
    const body = r.body && /\/secrets\/[a-z0-9-]+-env$/.test(r.path) ? { ...r.body, data: undefined } : r.body;
    for (const f of forms) expect([r.method, r.path, JSON.stringify({ query: r.query, body })]).toEqual([r.method, r.path, expect.not.stringContaining(f)]);
  }
  for (const out of printed) for (const f of forms) expect(out).not.toContain(f);
}

describe('Kubernetes secrets (modelled API server)', () => {
  it('makes a Secret owned by the Deployment, takes the variables from it by secretKeyRef, keeps only keyed hashes in annotations, reads them back, and plans nothing after a restart', async () => {
    api = await startApi();
    const want = intended('github.com/acme/shop', 'http-service', secretSpec(), api.url);
    const [rectified, actual, , again] = values(await run([{ op: 'rectify', intended: [want] }, { op: 'actual' }, { op: 'restart' }, { op: 'plan', intended: [want] }], { secrets: given(CANARY) }));
    expect(rectified.outcomes).toEqual([expect.objectContaining({ kind: 'create', resolution: 'created', status: 'Active' })]);
    // The Secret is written before the Deployment (pods never start without it), then given the Deployment as its owner.
    expect(writes(api).map((r: any) => `${r.method} ${r.path.replace('/api/v1/namespaces/sous/', '').replace('/apis/apps/v1/namespaces/sous/', '')}`)).toEqual([
      `PATCH serviceaccounts/${NAME}`,
      `PATCH secrets/${SECRET}`,
      `PATCH deployments/${NAME}`,
      `PATCH secrets/${SECRET}`,
      'PATCH services/shop',
    ]);
    const d = api.get('deployments', 'sous', NAME);
    const secret = api.get('secrets', 'sous', SECRET);
    expect(secret.type).toBe('Opaque');
    expect(secret.data).toEqual({ API_KEY: b64(API_KEY), DB_PASSWORD: b64(CANARY) });
    expect(secret.metadata.ownerReferences).toEqual([{ apiVersion: 'apps/v1', kind: 'Deployment', name: NAME, uid: d.metadata.uid }]);
    expect(secret.metadata.managedFields.map((f: any) => f.manager)).toEqual(['sous']);
    const hashes = { API_KEY: seal(API_KEY), DB_PASSWORD: seal(CANARY) };
    expect(JSON.parse(secret.metadata.annotations['sous.dev/secrets'])).toEqual(hashes);
    const c = d.spec.template.spec.containers[0];
    expect(c.env.filter((e: any) => e.valueFrom)).toEqual([
      { name: 'API_KEY', valueFrom: { secretKeyRef: { name: SECRET, key: 'API_KEY' } } },
      { name: 'DB_PASSWORD', valueFrom: { secretKeyRef: { name: SECRET, key: 'DB_PASSWORD' } } },
    ]);
    expect(JSON.parse(d.metadata.annotations['sous.dev/secrets'])).toEqual(hashes);
    expect(JSON.parse(d.metadata.annotations['sous.dev/spec']).Secrets).toEqual({ API_KEY: 'env:SHOP_API_KEY', DB_PASSWORD: 'file:shop/db' });
    expect(d.spec.template.metadata.annotations['sous.dev/secrets-hash']).toMatch(/^[0-9a-f]{16}$/);
    expect(actual[0].secrets).toEqual(hashes);
    expect(actual[0].spec.Secrets).toEqual(want.spec.Secrets);
    expect(actual[0].spec.Env).toEqual(want.spec.Env);
    expect(again).toEqual({ actions: [], unchanged: [SHOP] });
    expectNoLeak(CANARY, API_KEY);
  });

  it('a rotated value (same reference) updates the Secret before the pod template, whose new hash rolls the pods', async () => {
    api = await startApi();
    const want = intended('github.com/acme/shop', 'http-service', secretSpec(), api.url);
    values(await run([{ op: 'rectify', intended: [want] }], { secrets: given(CANARY) }));
    const before = api.get('deployments', 'sous', NAME);
    const mark = api.requests.length;
    const [planned, rotated, actual] = values(await run([{ op: 'plan', intended: [want] }, { op: 'rectify', intended: [want] }, { op: 'actual' }], { secrets: given(ROTATED) }));
    expect(planned.actions.map((a: any) => `${a.kind}: ${a.reason}`)).toEqual(['update: secrets changed: DB_PASSWORD']);
    expect(rotated.outcomes).toEqual([expect.objectContaining({ resolution: 'updated', status: 'Active' })]);
    const after = api.get('deployments', 'sous', NAME);
    expect(after.metadata.generation).toBe(before.metadata.generation + 1);
    expect(after.spec.template.metadata.annotations['sous.dev/secrets-hash']).not.toBe(before.spec.template.metadata.annotations['sous.dev/secrets-hash']);
    expect(api.get('secrets', 'sous', SECRET).data.DB_PASSWORD).toBe(b64(ROTATED));
    // One apply of the Secret (its owner already known), before the Deployment's.
    const patched = writes({ requests: api.requests.slice(mark) }).map((r: any) => r.path.split('/').slice(-2).join('/'));
    expect(patched.indexOf(`secrets/${SECRET}`)).toBeLessThan(patched.indexOf(`deployments/${NAME}`));
    expect(patched.filter((p: string) => p === `secrets/${SECRET}`)).toHaveLength(1);
    expect(actual[0].secrets.DB_PASSWORD).toBe(seal(ROTATED));
    expectNoLeak(CANARY, ROTATED, API_KEY);
  });

  it('sees a secret reference removed by hand as a change and puts it back', async () => {
    api = await startApi();
    const want = intended('github.com/acme/shop', 'http-service', secretSpec(), api.url);
    values(await run([{ op: 'rectify', intended: [want] }], { secrets: given(CANARY) }));
    api.edit('deployments', 'sous', NAME, (d: any) => {
      d.spec.template.spec.containers[0].env = d.spec.template.spec.containers[0].env.filter((e: any) => e.name !== 'DB_PASSWORD');
    });
    const [planned, fixed] = values(await run([{ op: 'plan', intended: [want] }, { op: 'rectify', intended: [want] }], { secrets: given(CANARY) }));
    expect(planned.actions.map((a: any) => a.reason)).toEqual(['secrets changed: DB_PASSWORD']);
    expect(fixed.outcomes[0]).toMatchObject({ status: 'Active' });
    expect(api.get('deployments', 'sous', NAME).spec.template.spec.containers[0].env.map((e: any) => e.name)).toContain('DB_PASSWORD');
    expectNoLeak(CANARY, API_KEY);
  });

  it('deletes the Secret once no secret is asked for, and the garbage collector deletes it with its CronJob on prune', async () => {
    api = await startApi();
    const want = intended('github.com/acme/shop', 'http-service', secretSpec(), api.url);
    values(await run([{ op: 'rectify', intended: [want] }], { secrets: given(CANARY) }));
    const without = intended('github.com/acme/shop', 'http-service', shopSpec({ Env: { LOG_LEVEL: 'info' } }), api.url);
    const [r] = values(await run([{ op: 'rectify', intended: [without] }]));
    expect(r.outcomes[0]).toMatchObject({ status: 'Active' });
    expect(api.get('secrets', 'sous', SECRET)).toBeUndefined();
    expect(api.get('deployments', 'sous', NAME).spec.template.spec.containers[0].env.some((e: any) => e.valueFrom)).toBe(false);

    const job = intended('github.com/acme/report', 'scheduled-job', { ...secretSpec({ Version: '2.0.0' }), Schedule: '0 3 * * *' }, api.url);
    const [made] = values(await run([{ op: 'rectify', intended: [without, job] }], { secrets: { [job.id]: { DB_PASSWORD: CANARY, API_KEY } } }));
    expect(made.outcomes.map((o: any) => [o.kind, o.status])).toEqual([['create', 'Active']]);
    const cj = api.list('cronjobs', 'sous')[0];
    const owned = api.get('secrets', 'sous', `${cj.metadata.name}-env`);
    expect(owned.metadata.ownerReferences).toEqual([{ apiVersion: 'batch/v1', kind: 'CronJob', name: cj.metadata.name, uid: cj.metadata.uid }]);
    expect(cj.spec.jobTemplate.spec.template.spec.containers[0].env.find((e: any) => e.name === 'DB_PASSWORD')).toEqual({ name: 'DB_PASSWORD', valueFrom: { secretKeyRef: { name: `${cj.metadata.name}-env`, key: 'DB_PASSWORD' } } });
    const [pruned] = values(await run([{ op: 'rectify', intended: [without], prune: true }]));
    expect(pruned.outcomes.map((o: any) => [o.kind, o.status])).toEqual([['delete', 'Active']]);
    // Sous deleted the CronJob; its Secret went with it, by the garbage collector, not by a delete of Sous's.
    expect(api.get('secrets', 'sous', `${cj.metadata.name}-env`)).toBeUndefined();
    expect(api.collected).toEqual([`secrets/${cj.metadata.name}-env`]);
    expect(writes(api).filter((x: any) => x.method === 'DELETE' && x.path.includes(`/secrets/${cj.metadata.name}-env`))).toEqual([]);
    expectNoLeak(CANARY, API_KEY);
  });

  it('moves the Secret to the new workload when the kind changes (a Deployment becomes a CronJob)', async () => {
    api = await startApi();
    const want = intended('github.com/acme/shop', 'http-service', secretSpec(), api.url);
    values(await run([{ op: 'rectify', intended: [want] }], { secrets: given(CANARY) }));
    const job = intended('github.com/acme/shop', 'scheduled-job', { ...secretSpec(), Schedule: '0 3 * * *' }, api.url);
    const [r] = values(await run([{ op: 'rectify', intended: [job] }], { secrets: given(CANARY) }));
    expect(r.outcomes.map((o: any) => [o.kind, o.status])).toEqual([['update', 'Active']]);
    expect(api.get('deployments', 'sous', NAME)).toBeUndefined();
    const cj = api.get('cronjobs', 'sous', NAME);
    const secret = api.get('secrets', 'sous', SECRET);
    expect(secret.metadata.ownerReferences).toEqual([{ apiVersion: 'batch/v1', kind: 'CronJob', name: NAME, uid: cj.metadata.uid }]);
    expect(secret.data.DB_PASSWORD).toBe(b64(CANARY));
    expectNoLeak(CANARY, API_KEY);
  });

  it('refuses a spec that names secrets when no value was handed over, before writing anything', async () => {
    api = await startApi();
    const want: DeployState = intended('github.com/acme/shop', 'http-service', secretSpec(), api.url);
    const [r] = await drive(api.url, [{ op: 'apply', action: plan([want], []).actions[0] }]);
    expect(r.error).toMatchObject({ code: 'KUBERNETES_NO_SECRET_VALUES', exit: 2 });
    expect(r.error!.message).toContain('API_KEY, DB_PASSWORD');
    expect(writes(api)).toEqual([]);
  });
});
