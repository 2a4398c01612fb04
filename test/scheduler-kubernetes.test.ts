/**
 * The Kubernetes scheduler against a modelled Kubernetes API server (no
 * real one can run here): test/helpers/kube-api-server.js keeps objects,
 * answers as the API reference says kube-apiserver does (server-side apply,
 * field managers and conflicts, RBAC, namespaces, Status objects), and
 * checks every object written against the Kubernetes OpenAPI schemas
 * (kubernetes-models). The facts it rests on are listed in
 * test/fixtures/modelled/kubernetes/FACTS.md. @kubernetes/client-node is an
 * ES module jest cannot load, so the built plugin runs in a child process
 * (test/fixtures/modelled/kubernetes/driver.cjs) and reports JSON.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { planActions, SEALED_PREFIX, sealer, storedView, type Action, type DeployState } from '@sous/core';
import { cleanup, drive, DIGEST, HASH_KEY, intended, NAME, plan, requireFreshBuild, SHOP, shopSpec, startApi, TOKEN, tmp, values, writes } from './scheduler-kubernetes-world';

/* eslint-disable @typescript-eslint/no-explicit-any */
let api: any;

beforeAll(() => requireFreshBuild());

afterEach(async () => {
  // Every request the plugin made was one a real API server accepts from a correct client (paths, verbs, content types, fieldManager, schemas).
  try {
    api?.verify();
  } finally {
    await api?.close();
    api = undefined;
  }
});

afterAll(() => cleanup());

async function start(opts: Record<string, unknown> = {}): Promise<any> {
  api = await startApi(opts);
  return api;
}

describe('Kubernetes scheduler (modelled API server, built plugin in a child process)', () => {
  it('applies a ServiceAccount, a Deployment and a guessable Service server-side as field manager sous, follows the rollout, reads back what it applied, and a restarted Sous plans nothing', async () => {
    await start();
    const want = intended('github.com/acme/shop', 'http-service', shopSpec(), api.url);
    const [rectified, actual, , afterRestart] = values(await drive(api.url, [{ op: 'rectify', intended: [want] }, { op: 'actual' }, { op: 'restart' }, { op: 'plan', intended: [want] }]));
    expect(rectified.outcomes).toEqual([{ kind: 'create', reason: 'new deployment of 1.2.0 (2 instance(s))', resolution: 'created', status: 'Active' }]);
    expect(rectified.phases).toEqual(['apply', 'waiting']);
    // Every write was a server-side apply: PATCH, application/apply-patch+yaml, fieldManager=sous, not forced.
    expect(writes(api).map((r: any) => [r.method, r.path, r.contentType, r.query.fieldManager, r.query.force])).toEqual([
      ['PATCH', `/api/v1/namespaces/sous/serviceaccounts/${NAME}`, 'application/apply-patch+yaml', 'sous', 'false'],
      ['PATCH', `/apis/apps/v1/namespaces/sous/deployments/${NAME}`, 'application/apply-patch+yaml', 'sous', 'false'],
      ['PATCH', '/api/v1/namespaces/sous/services/shop', 'application/apply-patch+yaml', 'sous', 'false'],
    ]);
    const d = api.get('deployments', 'sous', NAME);
    expect(d.metadata.managedFields.map((f: any) => [f.manager, f.operation])).toEqual([['sous', 'Apply']]);
    expect(d.metadata.labels).toMatchObject({ 'app.kubernetes.io/name': 'shop', 'app.kubernetes.io/instance': NAME, 'app.kubernetes.io/version': '1.2.0', 'app.kubernetes.io/component': 'server', 'app.kubernetes.io/managed-by': 'sous' });
    const pod = d.spec.template.spec;
    expect(pod.serviceAccountName).toBe(NAME);
    expect(pod.automountServiceAccountToken).toBe(false);
    const c = pod.containers[0];
    expect(c.resources).toEqual({ requests: { cpu: '500m', memory: '256Mi' }, limits: { cpu: '500m', memory: '256Mi' } });
    expect(c.securityContext).toEqual({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsNonRoot: true, capabilities: { drop: ['ALL'] } });
    expect(c.volumeMounts).toEqual([{ name: 'tmp', mountPath: '/tmp', readOnly: false }]);
    expect([c.startupProbe.initialDelaySeconds, c.startupProbe.periodSeconds, c.startupProbe.failureThreshold]).toEqual([5, 5, 6]);
    expect([c.readinessProbe.httpGet, c.readinessProbe.periodSeconds, c.readinessProbe.failureThreshold]).toEqual([{ path: '/ready', port: 'port0', scheme: 'HTTP' }, 5, 3]);
    expect(c.livenessProbe.httpGet.path).toBe('/ready');
    expect(d.metadata.annotations['sous.dev/service']).toBe('shop');
    // The annotation keeps core's stored view: the env's names with keyed hashes, none of its values; the intent is core's over that view.
    expect(d.metadata.annotations['sous.dev/spec']).not.toContain('hunter2-canary');
    const kept = JSON.parse(d.metadata.annotations['sous.dev/spec']);
    expect(Object.keys(kept.Env).sort()).toEqual(['DB_PASSWORD', 'LOG_LEVEL', 'REGION']);
    for (const v of Object.values(kept.Env)) expect(v).toMatch(new RegExp(`^${SEALED_PREFIX}[0-9a-f]{32}$`));
    expect(d.metadata.annotations['sous.dev/intent']).toBe(storedView(want, sealer(Buffer.from(HASH_KEY))).intent);
    expect(api.get('services', 'sous', 'shop').spec).toMatchObject({ selector: d.spec.selector.matchLabels, ports: [{ name: 'port0', port: 8080, targetPort: 'port0' }] });
    expect(actual).toHaveLength(1);
    expect(actual[0]).toMatchObject({ id: SHOP, kind: 'http-service', status: 'Active', ref: { name: NAME, workload: 'Deployment', service: 'shop', replicasBySous: true } });
    expect(actual[0].spec).toEqual(want.spec);
    expect(afterRestart).toEqual({ actions: [], unchanged: [SHOP] });
    expect(new Set(api.requests.map((r: any) => r.user))).toEqual(new Set(['system:serviceaccount:sous:sous']));
  });

  it('rolls out a new version with one apply per object; the Service keeps its cluster IP', async () => {
    await start();
    const v1 = intended('github.com/acme/shop', 'http-service', shopSpec(), api.url);
    const v2 = intended('github.com/acme/shop', 'http-service', shopSpec({ Version: '1.3.0', Digest: DIGEST('b'), Resources: { cpus: '0.5', memory: '256', ports: '1', cpusLimit: '0', memoryLimit: '512' } }), api.url);
    values(await drive(api.url, [{ op: 'rectify', intended: [v1] }]));
    const ip = api.get('services', 'sous', 'shop').spec.clusterIP;
    const [r, actual] = values(await drive(api.url, [{ op: 'rectify', intended: [v2] }, { op: 'actual' }]));
    expect(r.plan.actions.map((a: any) => a.reason)).toEqual(['version 1.2.0 → 1.3.0, resources']);
    expect(r.outcomes[0]).toMatchObject({ resolution: 'updated', status: 'Active' });
    const d = api.get('deployments', 'sous', NAME);
    expect(d.spec.template.spec.containers[0].image).toBe(`registry.example.com/github.com/acme/shop@${DIGEST('b')}`);
    // Requests and limits are separate settings: no CPU limit at "0", memory limit above the request.
    expect(d.spec.template.spec.containers[0].resources).toEqual({ requests: { cpu: '500m', memory: '256Mi' }, limits: { memory: '512Mi' } });
    expect(api.get('services', 'sous', 'shop').spec.clusterIP).toBe(ip);
    expect(actual[0].spec).toEqual(v2.spec);
  });

  it('takes back a field someone changed by hand on its own Deployment (forcing only then), and scales', async () => {
    await start();
    const want = intended('github.com/acme/shop', 'http-service', shopSpec(), api.url);
    values(await drive(api.url, [{ op: 'rectify', intended: [want] }]));
    api.edit('deployments', 'sous', NAME, (d: any) => {
      d.spec.template.spec.containers[0].image = 'registry.example.com/github.com/acme/shop:latest';
    });
    const [planned, fixed] = values(await drive(api.url, [{ op: 'plan', intended: [want] }, { op: 'rectify', intended: [want] }]));
    expect(planned.actions.map((a: any) => [a.kind, a.reason])).toEqual([['update', expect.stringContaining('image')]]);
    expect(fixed.outcomes[0]).toMatchObject({ resolution: 'updated', status: 'Active' });
    expect(fixed.messages).toContain('taking back .spec.template.spec.containers[name="app"].image of Deployment shop-c8768ce2 from kubectl-edit');
    const patches = writes(api).filter((r: any) => r.path.endsWith(`/deployments/${NAME}`));
    expect(patches.slice(-2).map((r: any) => [r.query.force, r.status])).toEqual([['false', 409], ['true', 200]]);
    expect(api.get('deployments', 'sous', NAME).spec.template.spec.containers[0].image).toBe(`registry.example.com/github.com/acme/shop@${DIGEST('a')}`);
    const [scaled] = values(await drive(api.url, [{ op: 'rectify', intended: [intended('github.com/acme/shop', 'http-service', shopSpec({ NumInstances: 4 }), api.url)] }]));
    expect(scaled.plan.actions.map((a: any) => a.kind)).toEqual(['scale']);
    expect(api.get('deployments', 'sous', NAME).spec.replicas).toBe(4);
  });

  it('leaves replicas to an autoscaler when the spec says Autoscaled: hands the field over, never resets it, and sees no drift in its count', async () => {
    await start();
    values(await drive(api.url, [{ op: 'rectify', intended: [intended('github.com/acme/shop', 'http-service', shopSpec({ NumInstances: 3 }), api.url)] }]));
    const auto = intended('github.com/acme/shop', 'http-service', shopSpec({ NumInstances: 3, Autoscaled: true }), api.url);
    const [r] = values(await drive(api.url, [{ op: 'rectify', intended: [auto] }]));
    expect(r.plan.actions.map((a: any) => a.reason)).toEqual(['autoscaled']);
    let d = api.get('deployments', 'sous', NAME);
    // Sous no longer holds replicas, and dropping it did not reset the count to 1.
    expect(d.spec.replicas).toBe(3);
    const owners = (f: string) => d.metadata.managedFields.filter((m: any) => JSON.stringify(m.fieldsV1).includes(f)).map((m: any) => m.manager);
    expect(owners('f:replicas')).toEqual(['sous-handover-to-autoscaler']);
    // The autoscaler scales (an Update of replicas), then Sous applies again: no conflict, the count stays the autoscaler's.
    api.edit('deployments', 'sous', NAME, (x: any) => (x.spec.replicas = 7), 'horizontal-pod-autoscaler');
    const [planned, again] = values(await drive(api.url, [{ op: 'plan', intended: [auto] }, { op: 'rectify', intended: [intended('github.com/acme/shop', 'http-service', shopSpec({ NumInstances: 3, Autoscaled: true, Version: '1.3.0', Digest: DIGEST('c') }), api.url)] }]));
    expect(planned).toEqual({ actions: [], unchanged: [SHOP] });
    expect(again.outcomes[0]).toMatchObject({ resolution: 'updated', status: 'Active' });
    d = api.get('deployments', 'sous', NAME);
    expect(d.spec.replicas).toBe(7);
    expect(writes(api).filter((x: any) => x.status === 409)).toEqual([]);
  });

  it('names the Service <name>[-<flavor>], and falls back to the unique name when another application has it', async () => {
    await start();
    api.put('services', { apiVersion: 'v1', kind: 'Service', metadata: { name: 'shop', namespace: 'sous', labels: { team: 'other' } }, spec: { selector: { app: 'other' }, ports: [{ port: 80 }] } });
    const mine = intended('github.com/acme/shop', 'http-service', shopSpec(), api.url);
    const canary = intended('github.com/acme/shop', 'http-service', shopSpec(), api.url, 'canary');
    const [r, actual] = values(await drive(api.url, [{ op: 'rectify', intended: [mine, canary] }, { op: 'actual' }]));
    expect(r.outcomes.map((o: any) => o.status)).toEqual(['Active', 'Active']);
    expect(r.messages).toContain(`service name shop is taken by another application; using ${NAME}`);
    expect(api.get('services', 'sous', 'shop').spec.selector).toEqual({ app: 'other' });
    expect(api.get('services', 'sous', NAME)).toBeDefined();
    expect(api.get('services', 'sous', 'shop-canary')).toBeDefined();
    expect(actual.map((s: any) => [s.id, s.ref.service])).toEqual([
      [SHOP, NAME],
      ['east:github.com/acme/shop~canary', 'shop-canary'],
    ]);
  });

  it('makes an Ingress from the Route, an HTTPRoute when it names a Gateway, and removes what is no longer asked for', async () => {
    await start();
    const route = { Hosts: ['shop.example.com'], Path: '/', Class: 'nginx', TLSSecret: 'shop-tls' };
    values(await drive(api.url, [{ op: 'rectify', intended: [intended('github.com/acme/shop', 'http-service', shopSpec({ Route: route }), api.url)] }]));
    expect(api.get('ingresses', 'sous', 'shop').spec).toEqual({
      ingressClassName: 'nginx',
      rules: [{ host: 'shop.example.com', http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'shop', port: { name: 'port0' } } } }] } }],
      tls: [{ hosts: ['shop.example.com'], secretName: 'shop-tls' }],
    });
    const [r] = values(await drive(api.url, [{ op: 'rectify', intended: [intended('github.com/acme/shop', 'http-service', shopSpec({ Route: { Hosts: ['shop.example.com'], Gateway: 'infra/public' } }), api.url)] }]));
    expect(r.plan.actions.map((a: any) => a.reason)).toEqual(['route']);
    expect(api.get('ingresses', 'sous', 'shop')).toBeUndefined();
    expect(api.get('httproutes', 'sous', 'shop').spec).toEqual({
      parentRefs: [{ name: 'public', namespace: 'infra' }],
      hostnames: ['shop.example.com'],
      rules: [{ matches: [{ path: { type: 'PathPrefix', value: '/' } }], backendRefs: [{ name: 'shop', port: 8080 }] }],
    });
    values(await drive(api.url, [{ op: 'rectify', intended: [intended('github.com/acme/shop', 'http-service', shopSpec(), api.url)] }]));
    expect(api.list('httproutes', 'sous')).toEqual([]);
  });

  it('runs a scheduled job as a CronJob, keeps a forced restart stamp, and deletes every object only with prune', async () => {
    await start();
    const job = intended('github.com/acme/report', 'scheduled-job', { Resources: { cpus: '1', memory: '512', ports: '0' }, Env: {}, NumInstances: 1, Volumes: [{ Host: '/srv/report', Container: '/data', Mode: 'RW' }], Schedule: '0 3 * * *', Version: '2.0.0', Digest: DIGEST('d') }, api.url);
    const shop = intended('github.com/acme/shop', 'http-service', shopSpec(), api.url);
    const [r, actual] = values(await drive(api.url, [{ op: 'rectify', intended: [job, shop] }, { op: 'actual' }]));
    expect(r.outcomes.map((o: any) => o.resolution)).toEqual(['created', 'created']);
    const cj = api.list('cronjobs', 'sous')[0];
    expect(cj.spec).toMatchObject({ schedule: '0 3 * * *', suspend: false, concurrencyPolicy: 'Forbid' });
    // A repository's own Dockerfile (no convention stack) is not forced to run read-only or non-root.
    expect(cj.spec.jobTemplate.spec.template.spec.containers[0].securityContext).toEqual({ allowPrivilegeEscalation: false });
    expect(plan([job, shop], actual).actions).toEqual([]);
    const forced = planActions([shop], actual.filter((s: any) => s.id === SHOP), { clustersRead: new Set(['east']), prune: () => false, force: new Set([SHOP]), revision: 't' }).actions;
    values(await drive(api.url, [{ op: 'apply', action: forced[0] }]));
    const stamp = api.get('deployments', 'sous', NAME).spec.template.metadata.annotations['sous.dev/restarted-at'];
    expect(stamp).toMatch(/^\d{4}-/);
    values(await drive(api.url, [{ op: 'rectify', intended: [job, intended('github.com/acme/shop', 'http-service', shopSpec({ NumInstances: 3 }), api.url)] }]));
    expect(api.get('deployments', 'sous', NAME).spec.template.metadata.annotations['sous.dev/restarted-at']).toBe(stamp);
    const [kept, pruned] = values(await drive(api.url, [{ op: 'rectify', intended: [job] }, { op: 'rectify', intended: [job], prune: true }]));
    expect(kept.outcomes.map((o: any) => o.resolution)).toEqual(['not deleted']);
    expect(pruned.outcomes.map((o: any) => [o.kind, o.resolution])).toEqual([['delete', 'deleted']]);
    expect([api.list('deployments', 'sous'), api.list('services', 'sous'), api.list('serviceaccounts', 'sous').map((s: any) => s.metadata.name)]).toEqual([[], [], [cj.metadata.name]]);
  });

  it('gives pods an imagePullSecrets Secret made from the registry credentials', async () => {
    await start();
    const want = intended('github.com/acme/shop', 'http-service', shopSpec(), api.url);
    values(await drive(api.url, [{ op: 'rectify', intended: [want] }], { options: { pullCredentials: { 'registry.example.com': { username: 'puller', password: 's3cret' } } } }));
    const [secret] = api.list('secrets', 'sous');
    expect(secret.type).toBe('kubernetes.io/dockerconfigjson');
    expect(JSON.parse(Buffer.from(secret.data['.dockerconfigjson'], 'base64').toString())).toEqual({ auths: { 'registry.example.com': { username: 'puller', password: 's3cret', auth: Buffer.from('puller:s3cret').toString('base64') } } });
    expect(api.get('deployments', 'sous', NAME).spec.template.spec.imagePullSecrets).toEqual([{ name: secret.metadata.name }]);
  });

  it('makes the pull secret from the credential core finds (Docker\'s config.json) when no pullCredentials are given', async () => {
    await start();
    const docker = tmp('sous-k8s-docker-');
    fs.writeFileSync(path.join(docker, 'config.json'), JSON.stringify({ auths: { 'registry.example.com': { auth: Buffer.from('ci:from-docker-login').toString('base64') } } }));
    const want = intended('github.com/acme/shop', 'http-service', shopSpec(), api.url);
    values(await drive(api.url, [{ op: 'rectify', intended: [want] }], { env: { DOCKER_CONFIG: docker } }));
    const [secret] = api.list('secrets', 'sous');
    expect(JSON.parse(Buffer.from(secret.data['.dockerconfigjson'], 'base64').toString()).auths['registry.example.com']).toMatchObject({ username: 'ci', password: 'from-docker-login' });
    expect(api.get('deployments', 'sous', NAME).spec.template.spec.imagePullSecrets).toEqual([{ name: secret.metadata.name }]);
  });

  it('holds the cluster with a coordination.k8s.io Lease: create, renew, refuse while held, release, take over, lose a race', async () => {
    await start();
    const results = values(
      await drive(api.url, [
        { op: 'lease', key: 'a', holder: 'rectifier-a', ttlMs: 30_000 },
        { op: 'renew', key: 'a' },
        { op: 'lease', key: 'b', holder: 'rectifier-b', ttlMs: 30_000 },
        { op: 'release', key: 'a' },
        { op: 'lease', key: 'b', holder: 'rectifier-b', ttlMs: 30_000 },
        { op: 'lease', key: 'c', holder: 'rectifier-c', ttlMs: 30_000 },
        { op: 'renew', key: 'a' },
      ]),
    );
    expect(results).toEqual([{ held: true }, true, { held: false }, true, { held: true }, { held: false }, false]);
    expect(api.list('leases', 'sous')[0].spec.holderIdentity).toBe('rectifier-b');
  });
});

describe('Kubernetes scheduler: bad input and refusals', () => {
  it('reports a rollout past its progress deadline as Failed with the rollout\'s own condition message, while the running version keeps serving', async () => {
    await start();
    values(await drive(api.url, [{ op: 'rectify', intended: [intended('github.com/acme/shop', 'http-service', shopSpec(), api.url)] }]));
    const old = api.serving('sous', NAME);
    api.rollout = 'deadline';
    const want = intended('github.com/acme/shop', 'http-service', shopSpec({ Version: '1.3.0', Digest: DIGEST('b') }), api.url);
    const [r, actual] = values(await drive(api.url, [{ op: 'rectify', intended: [want] }, { op: 'actual' }]));
    expect(r.outcomes).toEqual([expect.objectContaining({ resolution: 'not updated', status: 'Failed', message: expect.stringMatching(/^ReplicaSet "shop-c8768ce2-[0-9a-f]{10}" has timed out progressing\. \(deployment sous\/shop-c8768ce2\)$/) })]);
    expect(actual[0]).toMatchObject({ status: 'Failed', message: expect.stringContaining('has timed out progressing.') });
    expect(api.serving('sous', NAME)).toBe(old);
    expect(old).toContain(DIGEST('a'));
    expect(plan([want], actual).actions.map((a) => a.reason)).toEqual([expect.stringContaining('the current deploy failed: ReplicaSet')]);
  });

  it('names the verb and resource RBAC refused, a namespace that does not exist, and the field path of an object the API refuses; retries only what passes', async () => {
    await start({
      namespaces: ['sous', 'apps'],
      rbac: [{ verbs: ['get', 'list', 'patch'], resources: ['serviceaccounts', 'deployments.apps', 'cronjobs.batch', 'services'], namespaces: ['sous', 'nowhere'] }],
    });
    const shop = intended('github.com/acme/shop', 'http-service', shopSpec(), api.url);
    const report = intended('github.com/acme/report', 'scheduled-job', { ...shopSpec({ Version: '2.0.0', Digest: DIGEST('d') }), Schedule: '0 3 * * 9' }, api.url);
    const create = (s: DeployState): Action => plan([s], []).actions[0];
    api.fault({ method: 'GET', path: /deployments$/ }, 'InternalError');
    api.fault({ method: 'GET', path: /deployments$/ }, 'TooManyRequests');
    const results = await drive(api.url, [{ op: 'actual' }, { op: 'actual' }, { op: 'apply', action: create(shop) }, { op: 'apply', action: create(report) }]);
    expect(results.map((r) => [r.ok, r.error?.code, r.error?.details?.retryable])).toEqual([
      [false, 'KUBERNETES_UNAVAILABLE', true],
      [false, 'KUBERNETES_THROTTLED', true],
      [true, undefined, undefined],
      [false, 'KUBERNETES_INVALID', undefined],
    ]);
    expect(results[3].error!.message).toContain('spec.schedule');
    expect(results[3].error!.message).toContain('end of range (9) above maximum (6)');
    expect(results[3].error!.details!.fields).toEqual(['spec.schedule']);
    api.refusals.length = 0;
    // RBAC: the Role lacks `list` of leases and everything in namespace apps.
    const [lease] = await drive(api.url, [{ op: 'lease', key: 'a', holder: 'a' }]);
    expect(lease.error).toMatchObject({ code: 'KUBERNETES_FORBIDDEN', details: { verb: 'get', resource: 'leases.coordination.k8s.io' } });
    expect(lease.error!.message).toContain('RBAC refused to let Sous get leases.coordination.k8s.io in namespace sous');
    expect(lease.error!.hints![0]).toContain('--verb=get --resource=leases.coordination.k8s.io');
    const [forbidden] = await drive(api.url, [{ op: 'apply', action: create(shop) }], { options: { namespace: 'apps' } });
    expect(forbidden.error).toMatchObject({ code: 'KUBERNETES_FORBIDDEN', exit: 1, details: { verb: 'get', resource: 'services' } });
    expect(forbidden.error!.message).toContain('User "system:serviceaccount:sous:sous" cannot get resource "services" in API group "" in the namespace "apps"');
    // A namespace that does not exist reads as empty, as it does on a real API server; the first write that would make an object there is refused.
    const [empty, missing] = await drive(api.url, [{ op: 'actual' }, { op: 'apply', action: create(shop) }], { options: { namespace: 'nowhere' } });
    expect(empty).toMatchObject({ ok: true, value: [] });
    expect(missing.error).toMatchObject({ code: 'KUBERNETES_NO_NAMESPACE', exit: 2, details: { namespace: 'nowhere' } });
    expect(missing.error!.hints![0]).toContain('kubectl create namespace nowhere');
  });

  it('refuses a kubeconfig that does not parse or names a missing context, a cluster with no API server, plain HTTP to a remote host, and a kind Kubernetes cannot run', async () => {
    await start();
    const dir = tmp('sous-kubeconfig-');
    const broken = path.join(dir, 'broken');
    fs.writeFileSync(broken, 'apiVersion: v1\nclusters:\n- name: east\n  cluster: { server: "https://x\n');
    const good = path.join(dir, 'good');
    fs.writeFileSync(good, `apiVersion: v1\nkind: Config\ncurrent-context: gone\nclusters:\n- name: east\n  cluster: { server: "${api.url}" }\nusers:\n- name: u\n  user: { token: ${TOKEN} }\ncontexts:\n- name: east-ctx\n  context: { cluster: east, user: u }\n`);
    const noBase = { def: { BaseURL: undefined }, env: { SOUS_KUBE_TOKEN_EAST: '' } };
    const [parse] = await drive(api.url, [{ op: 'actual' }], { ...noBase, env: { ...noBase.env, KUBECONFIG: broken } });
    expect(parse.error).toMatchObject({ code: 'KUBERNETES_BAD_KUBECONFIG', exit: 2 });
    expect(parse.error!.message).toContain(broken);
    const [context] = await drive(api.url, [{ op: 'actual' }], { ...noBase, env: { ...noBase.env, KUBECONFIG: good } });
    expect(context.error).toMatchObject({ code: 'KUBERNETES_UNKNOWN_CONTEXT', exit: 2 });
    expect(context.error!.message).toContain('context "gone"');
    expect(context.error!.hints![0]).toContain('east-ctx');
    const [named] = await drive(api.url, [{ op: 'actual' }], { ...noBase, env: { ...noBase.env, KUBECONFIG: good, SOUS_KUBE_CONTEXT_EAST: 'west-ctx' } });
    expect(named.error).toMatchObject({ code: 'KUBERNETES_UNKNOWN_CONTEXT' });
    const [noServer] = await drive(api.url, [{ op: 'actual' }], noBase);
    expect(noServer.error).toMatchObject({ code: 'KUBERNETES_NO_SERVER', exit: 2 });
    const [insecure] = await drive(api.url, [{ op: 'actual' }], { def: { BaseURL: 'http://k8s.example.com:6443' } });
    expect(insecure.error).toMatchObject({ code: 'KUBERNETES_INSECURE_SERVER', exit: 2 });
    const [limits] = await drive(api.url, [{ op: 'apply', action: plan([intended('github.com/acme/shop', 'http-service', shopSpec({ Resources: { cpus: '1', memory: '256', ports: '1', cpusLimit: '0.5' } }), api.url)], []).actions[0] }]);
    expect(limits.error).toMatchObject({ code: 'KUBERNETES_BAD_RESOURCES', exit: 2, details: { field: 'Resources.cpusLimit' } });
    const [unsupported] = await drive(api.url, [{ op: 'apply', action: plan([intended('github.com/acme/migrate', 'once', shopSpec(), api.url)], []).actions[0] }]);
    expect(unsupported.error).toMatchObject({ code: 'KUBERNETES_UNSUPPORTED_KIND', exit: 2 });
    // Nothing of any of them reached the API server as a write.
    expect(writes(api)).toEqual([]);
  });
});

describe('kubeconfig as kubectl reads it', () => {
  const kubeconfig = (file: string, lines: string[]) => fs.writeFileSync(file, lines.join('\n') + '\n');

  it('merges the files of KUBECONFIG (the first to set a value wins, missing files skipped) and takes the context\'s namespace', async () => {
    await start({ namespaces: ['team-a'] });
    const dir = tmp('sous-kubeconfig-');
    const a = path.join(dir, 'a');
    const b = path.join(dir, 'b');
    kubeconfig(a, ['apiVersion: v1', 'kind: Config', 'current-context: east-ctx', 'contexts:', '- name: east-ctx', '  context: { cluster: east, user: sous-east, namespace: team-a }', 'users:', '- name: sous-east', `  user: { token: ${TOKEN} }`]);
    kubeconfig(b, ['apiVersion: v1', 'kind: Config', 'current-context: other', 'clusters:', '- name: east', `  cluster: { server: "${api.url}" }`, 'users:', '- name: sous-east', '  user: { token: wrong }', 'contexts:', '- name: east-ctx', '  context: { cluster: nowhere, user: nobody }']);
    const [read] = values(await drive(api.url, [{ op: 'actual' }], { def: { BaseURL: undefined }, options: { namespace: undefined }, env: { SOUS_KUBE_TOKEN_EAST: '', KUBECONFIG: [path.join(dir, 'missing'), a, b].join(path.delimiter) } }));
    expect(read).toEqual([]);
    expect(api.requests.map((r: any) => [r.path, r.user])).toEqual([
      ['/apis/apps/v1/namespaces/team-a/deployments', 'system:serviceaccount:sous:sous'],
      ['/apis/batch/v1/namespaces/team-a/cronjobs', 'system:serviceaccount:sous:sous'],
    ]);
  });

  it('reads ~/.kube/config by default and never sends a context\'s credentials to a server it does not name', async () => {
    await start();
    const home = tmp('sous-home-');
    fs.mkdirSync(path.join(home, '.kube'));
    kubeconfig(path.join(home, '.kube/config'), [
      'apiVersion: v1', 'kind: Config', 'current-context: elsewhere',
      'clusters:', '- name: elsewhere', '  cluster: { server: "https://k8s.elsewhere.example:6443" }', '- name: east', `  cluster: { server: "${api.url}" }`,
      'users:', '- name: someone', '  user: { token: elsewhere-token }', '- name: sous', `  user: { token: ${TOKEN} }`,
      'contexts:', '- name: elsewhere', '  context: { cluster: elsewhere, user: someone }', '- name: east', '  context: { cluster: east, user: sous }',
    ]);
    const [read] = values(await drive(api.url, [{ op: 'actual' }], { env: { SOUS_KUBE_TOKEN_EAST: '', HOME: home } }));
    expect(read).toEqual([]);
    expect(api.requests.every((r: any) => r.user === 'system:serviceaccount:sous:sous')).toBe(true);
  });

  it('runs an exec credential plugin as kubectl does, with KUBERNETES_EXEC_INFO, and uses the token it prints', async () => {
    await start({ tokens: { 'exec-token-1': 'exec-user' } });
    const dir = tmp('sous-exec-');
    const log = path.join(dir, 'calls');
    const plugin = path.join(dir, 'bin', 'cred-plugin');
    fs.mkdirSync(path.dirname(plugin));
    fs.writeFileSync(plugin, `#!/bin/sh\necho "$KUBERNETES_EXEC_INFO|$1|$CRED_REGION" >> ${log}\nprintf '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"exec-token-1","expirationTimestamp":"2999-01-01T00:00:00Z"}}'\n`, { mode: 0o755 });
    const cfg = path.join(dir, 'config');
    kubeconfig(cfg, [
      'apiVersion: v1', 'kind: Config', 'current-context: east',
      'clusters:', '- name: east', `  cluster: { server: "${api.url}" }`,
      'users:', '- name: sous', '  user:', '    exec:', '      apiVersion: client.authentication.k8s.io/v1', '      command: ./bin/cred-plugin', '      args: [get-token]', '      env: [{ name: CRED_REGION, value: east }]', '      interactiveMode: Never', '      provideClusterInfo: true',
      'contexts:', '- name: east', '  context: { cluster: east, user: sous, namespace: sous }',
    ]);
    const [read] = values(await drive(api.url, [{ op: 'actual' }, { op: 'actual' }], { def: { BaseURL: undefined }, env: { SOUS_KUBE_TOKEN_EAST: '', KUBECONFIG: cfg } }));
    expect(read).toEqual([]);
    expect(new Set(api.requests.map((r: any) => r.user))).toEqual(new Set(['exec-user']));
    const calls = fs.readFileSync(log, 'utf8').trim().split('\n');
    // Run once: the credential is kept until it expires.
    expect(calls).toHaveLength(1);
    const [info, arg, region] = calls[0].split('|');
    expect(JSON.parse(info)).toEqual({ apiVersion: 'client.authentication.k8s.io/v1', kind: 'ExecCredential', spec: { interactive: false, cluster: { server: api.url } } });
    expect([arg, region]).toEqual(['get-token', 'east']);
    fs.writeFileSync(plugin, '#!/bin/sh\necho "login expired" >&2\nexit 1\n', { mode: 0o755 });
    const [failed] = await drive(api.url, [{ op: 'actual' }], { def: { BaseURL: undefined }, env: { SOUS_KUBE_TOKEN_EAST: '', KUBECONFIG: cfg } });
    expect(failed.error).toMatchObject({ code: 'KUBERNETES_EXEC_PLUGIN_FAILED' });
    expect(failed.error!.message).toContain('login expired');
  });

  it('uses the pod\'s ServiceAccount in a pod (token, CA and namespace from the mounted files)', async () => {
    const dir = tmp('sous-incluster-');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=kubernetes', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'ca.crt')], { stdio: 'ignore' });
    await start({ namespaces: ['pod-ns'], tokens: { 'pod-token': 'system:serviceaccount:pod-ns:sous' }, tls: { key: fs.readFileSync(path.join(dir, 'key.pem')), cert: fs.readFileSync(path.join(dir, 'ca.crt')) } });
    fs.writeFileSync(path.join(dir, 'token'), 'pod-token\n');
    fs.writeFileSync(path.join(dir, 'namespace'), 'pod-ns');
    const port = new URL(api.url).port;
    const [read] = values(await drive(api.url, [{ op: 'actual' }], { def: { BaseURL: undefined }, options: { namespace: undefined, serviceAccountDir: dir }, env: { SOUS_KUBE_TOKEN_EAST: '', KUBERNETES_SERVICE_HOST: '127.0.0.1', KUBERNETES_SERVICE_PORT: port } }));
    expect(read).toEqual([]);
    expect(api.requests.map((r: any) => [r.path, r.user])).toEqual([
      ['/apis/apps/v1/namespaces/pod-ns/deployments', 'system:serviceaccount:pod-ns:sous'],
      ['/apis/batch/v1/namespaces/pod-ns/cronjobs', 'system:serviceaccount:pod-ns:sous'],
    ]);
  });
});
