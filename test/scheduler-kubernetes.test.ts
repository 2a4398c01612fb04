/**
 * The Kubernetes scheduler against recorded Kubernetes API exchanges (no API
 * server can run here): test/fixtures/recorded/kubernetes/*.json, served by
 * a replay server that checks every request. @kubernetes/client-node is an ES
 * module jest cannot load, so the built plugin runs in a child process
 * (test/fixtures/recorded/kubernetes/driver.cjs) and reports JSON.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { expandDeploySpec, formatManifestID, intendedState, manifestIDOf, planActions, type Action, type Cluster, type DeploySpec, type DeployState, type Manifest } from '@sous/core';
import { refusedURL, ReplayServer } from './helpers/replay-server';

const ROOT = path.resolve(__dirname, '..');
const DRIVER = path.join(__dirname, 'fixtures/recorded/kubernetes/driver.cjs');
const PLUGIN = path.join(ROOT, 'packages/plugin-scheduler-kubernetes');
const DIGEST = (c: string) => `sha256:${c.repeat(64)}`;
const SHOP = 'east:github.com/acme/shop';
const NAME = 'shop-c8768ce2';

interface StepResult {
  op: string;
  ok: boolean;
  value?: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  error?: { code: string; message: string; hints?: string[]; details?: Record<string, unknown>; exit?: number };
}

let replay: ReplayServer | undefined;

beforeAll(() => {
  // The driver runs the built plugin: refuse to test a build older than its sources.
  const dist = path.join(PLUGIN, 'dist/index.js');
  if (!fs.existsSync(dist) || !fs.existsSync(path.join(ROOT, 'packages/core/dist/index.js'))) throw new Error('build first: npm run build (or npx tsc -b packages/plugin-scheduler-kubernetes)');
  const stale = fs
    .readdirSync(path.join(PLUGIN, 'src'))
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))
    .filter((f) => {
      const js = path.join(PLUGIN, 'dist', f.replace(/\.ts$/, '.js'));
      return !fs.existsSync(js) || fs.statSync(path.join(PLUGIN, 'src', f)).mtimeMs > fs.statSync(js).mtimeMs + 1000;
    });
  if (stale.length) throw new Error(`packages/plugin-scheduler-kubernetes/dist is older than ${stale.join(', ')}: rebuild it (npx tsc -b packages/plugin-scheduler-kubernetes)`);
});

afterEach(async () => {
  await replay?.close();
  replay = undefined;
});

function east(url: string): Cluster {
  return { Name: 'east', Kind: 'kubernetes', BaseURL: url, Env: { REGION: 'east' }, Startup: { ConnectDelay: 5, CheckReadyRetries: 3 }, Registry: 'registry.example.com', AllowedAdvisories: [] };
}

function shopSpec(over: Partial<DeploySpec> = {}): DeploySpec {
  return { Resources: { cpus: '0.5', memory: '256', ports: '1' }, Env: { LOG_LEVEL: 'info' }, NumInstances: 2, Volumes: [], Startup: { CheckReadyURIPath: '/ready', Timeout: 30, CheckReadyInterval: 5 }, Version: '1.2.0', Digest: DIGEST('a'), ...over };
}

function intended(source: string, kind: Manifest['Kind'], spec: DeploySpec, url: string): DeployState {
  const m: Manifest = { Source: source, Owners: ['ops@acme.example'], Kind: kind, Deployments: { east: spec } };
  const mid = manifestIDOf(m);
  return intendedState({ id: `east:${formatManifestID(mid)}`, manifestID: mid, cluster: 'east', clusterDef: east(url), kind, owners: m.Owners!, spec: expandDeploySpec(spec, east(url)) });
}

function plan(want: DeployState[], actual: DeployState[], prune = false) {
  return planActions(want, actual, { clustersRead: new Set(['east']), prune: () => prune, revision: 'test' });
}

/** The running shop, as an earlier read reported it. */
function running(url: string): DeployState {
  return { ...intended('github.com/acme/shop', 'http-service', shopSpec(), url), status: 'Active', ref: { name: NAME, workload: 'Deployment' } };
}

/** Runs the scenario in a child process against the cluster at `url`; credentials come from SOUS_KUBE_TOKEN_EAST unless given. */
function drive(url: string, steps: unknown[], extra: { def?: Partial<Cluster>; options?: Record<string, unknown>; env?: Record<string, string> } = {}): Promise<StepResult[]> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sous-k8s-test-'));
  const file = path.join(dir, 'scenario.json');
  fs.writeFileSync(file, JSON.stringify({ cluster: { name: 'east', def: { ...east(url), ...extra.def } }, options: extra.options ?? {}, steps }));
  const env: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('SOUS_KUBE') && k !== 'KUBECONFIG'));
  Object.assign(env, { SOUS_KUBE_TOKEN_EAST: 't0ken-east', HOME: dir }, extra.env ?? {});
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [DRIVER, file], { cwd: ROOT, env, timeout: 60_000 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`driver failed: ${err.message}\n${stderr}`));
      resolve((JSON.parse(stdout) as { results: StepResult[] }).results);
    });
  });
}

function values(results: StepResult[]): unknown[] {
  for (const r of results) if (!r.ok) throw new Error(`step ${r.op} failed: ${r.error?.code} ${r.error?.message}`);
  return results.map((r) => r.value);
}

describe('Kubernetes scheduler (recorded exchanges, built plugin in a child process)', () => {
  it('creates a Deployment and a Service on the API server the cluster names, follows the rollout, reads back what it applied, and a restarted Sous plans nothing', async () => {
    replay = await ReplayServer.start('kubernetes/create');
    const want = intended('github.com/acme/shop', 'http-service', shopSpec(), replay.url);
    const [rectified, actual, , afterRestart] = values(await drive(replay.url, [{ op: 'rectify', intended: [want] }, { op: 'actual' }, { op: 'restart' }, { op: 'plan', intended: [want] }])) as [any, DeployState[], unknown, any]; // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(rectified.plan.actions).toEqual([{ kind: 'create', deploymentID: SHOP, reason: 'new deployment of 1.2.0 (2 instance(s))' }]);
    expect(rectified.outcomes).toEqual([{ kind: 'create', reason: 'new deployment of 1.2.0 (2 instance(s))', resolution: 'created', status: 'Active' }]);
    expect(rectified.phases).toEqual(['apply', 'waiting']);
    expect(actual).toHaveLength(1);
    expect(actual[0]).toMatchObject({ id: SHOP, kind: 'http-service', owners: ['ops@acme.example'], status: 'Active', ref: { name: NAME, workload: 'Deployment' } });
    expect(actual[0].spec).toEqual(want.spec);
    expect(plan([want], actual).actions).toEqual([]);
    expect(afterRestart).toEqual({ actions: [], unchanged: [SHOP] });
    replay.verify();
    // Every call reached this server with the cluster's credentials.
    expect(replay.received.length).toBe(11);
    expect(new Set(replay.received.map((r) => r.headers.authorization))).toEqual(new Set(['Bearer t0ken-east']));
    const spec = JSON.parse((replay.received.find((r) => r.method === 'POST')!.body as { metadata: { annotations: Record<string, string> } }).metadata.annotations['sous.dev/spec']);
    expect(spec).toEqual(want.spec);
  });

  it('scales with a merge patch of the replica count only, and waits for the new replica', async () => {
    replay = await ReplayServer.start('kubernetes/scale');
    const [action] = plan([intended('github.com/acme/shop', 'http-service', shopSpec({ NumInstances: 3 }), replay.url)], [running(replay.url)]).actions;
    expect(action.kind).toBe('scale');
    const [outcome] = values(await drive(replay.url, [{ op: 'apply', action }]));
    expect(outcome).toEqual({ resolution: 'updated', status: 'Active', phases: ['scale', 'waiting'] });
    replay.verify();
  });

  it('rolls out a new version by replacing the Deployment and the Service with the resourceVersions read', async () => {
    replay = await ReplayServer.start('kubernetes/update');
    const [action] = plan([intended('github.com/acme/shop', 'http-service', shopSpec({ Version: '1.3.0', Digest: DIGEST('b') }), replay.url)], [running(replay.url)]).actions;
    expect([action.kind, action.reason]).toEqual(['update', 'version 1.2.0 → 1.3.0']);
    const [outcome] = values(await drive(replay.url, [{ op: 'apply', action }]));
    expect(outcome).toEqual({ resolution: 'updated', status: 'Active', phases: ['apply', 'waiting'] });
    replay.verify();
  });

  it('restarts the pods on a forced redeploy of an unchanged spec', async () => {
    replay = await ReplayServer.start('kubernetes/force');
    const want = intended('github.com/acme/shop', 'http-service', shopSpec(), replay.url);
    const forced = planActions([want], [running(replay.url)], { clustersRead: new Set(['east']), prune: () => false, force: new Set([SHOP]), revision: 'test' }).actions;
    expect(forced.map((a) => [a.kind, a.reason, a.force])).toEqual([['update', 'forced redeploy', true]]);
    const [outcome] = values(await drive(replay.url, [{ op: 'apply', action: forced[0] }]));
    expect(outcome).toEqual({ resolution: 'updated', status: 'Active', phases: ['apply', 'waiting'] });
    replay.verify();
  });

  it('reports a rollout past its progress deadline as Failed with the condition message, and reads it back Failed', async () => {
    replay = await ReplayServer.start('kubernetes/failing');
    const want = intended('github.com/acme/shop', 'http-service', shopSpec(), replay.url);
    const [rectified, actual] = values(await drive(replay.url, [{ op: 'rectify', intended: [want] }, { op: 'actual' }])) as [any, DeployState[]]; // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(rectified.outcomes).toEqual([expect.objectContaining({ resolution: 'not created', status: 'Failed', message: `ReplicaSet "${NAME}-7c9f8d6b5d" has timed out progressing. (deployment sous/${NAME})` })]);
    expect(actual[0]).toMatchObject({ status: 'Failed', message: `ReplicaSet "${NAME}-7c9f8d6b5d" has timed out progressing.` });
    const next = plan([want], actual);
    expect(next.actions.map((a) => [a.kind, a.reason])).toEqual([['update', `the current deploy failed: ReplicaSet "${NAME}-7c9f8d6b5d" has timed out progressing.`]]);
    replay.verify();
  });

  it('runs a scheduled job as a CronJob and reads it back as applied', async () => {
    replay = await ReplayServer.start('kubernetes/cronjob');
    const want = intended('github.com/acme/report', 'scheduled-job', { Resources: { cpus: '1', memory: '512', ports: '0' }, Env: {}, NumInstances: 1, Volumes: [{ Host: '/srv/report', Container: '/data', Mode: 'RW' }], Schedule: '0 3 * * *', Version: '2.0.0', Digest: DIGEST('d') }, replay.url);
    const [rectified, actual] = values(await drive(replay.url, [{ op: 'rectify', intended: [want] }, { op: 'actual' }])) as [any, DeployState[]]; // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(rectified.outcomes).toEqual([{ kind: 'create', reason: 'new deployment of 2.0.0 (1 instance(s))', resolution: 'created', status: 'Active' }]);
    expect(actual.map((s) => [s.id, s.kind, s.status])).toEqual([['east:github.com/acme/report', 'scheduled-job', 'Active']]);
    expect(actual[0].spec).toEqual(want.spec);
    expect(plan([want], actual).actions).toEqual([]);
    replay.verify();
  });

  it('sees a hand-made scale as drift, reports a deployment no longer intended without deleting it, and deletes it only with prune', async () => {
    replay = await ReplayServer.start('kubernetes/removed');
    const want = intended('github.com/acme/shop', 'http-service', shopSpec(), replay.url);
    const [planned, pruned] = values(await drive(replay.url, [{ op: 'plan', intended: [want] }, { op: 'rectify', intended: [want], prune: true }])) as [any, any]; // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(planned.actions).toEqual([
      { kind: 'report-removed', deploymentID: 'east:github.com/acme/indexer', reason: 'not intended any more; left running (prune to delete)' },
      { kind: 'scale', deploymentID: SHOP, reason: 'instances 3 → 2' },
    ]);
    expect(pruned.outcomes.map((o: { kind: string; resolution: string; status: string }) => [o.kind, o.resolution, o.status])).toEqual([
      ['delete', 'deleted', 'Active'],
      ['scale', 'updated', 'Active'],
    ]);
    replay.verify();
    expect(replay.received.filter((r) => r.method === 'DELETE').map((r) => r.path)).toEqual(['/apis/apps/v1/namespaces/sous/deployments/indexer-8a6b9936']);
  });

  it('holds the cluster with a coordination.k8s.io Lease: create, renew, refuse while held, release, take over, lose a race', async () => {
    replay = await ReplayServer.start('kubernetes/lease');
    const results = values(
      await drive(replay.url, [
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
    replay.verify();
  });

  it('answers a failing or throttling API server with retryable errors, and refusals with the API server\'s message', async () => {
    replay = await ReplayServer.start('kubernetes/errors');
    const shop = intended('github.com/acme/shop', 'http-service', shopSpec(), replay.url);
    const report = intended('github.com/acme/report', 'scheduled-job', { ...shopSpec({ Version: '2.0.0', Digest: DIGEST('d') }), Schedule: '0 3 * * 9' }, replay.url);
    const create = (s: DeployState): Action => plan([s], []).actions[0];
    const results = await drive(replay.url, [{ op: 'actual' }, { op: 'actual' }, { op: 'apply', action: create(shop) }, { op: 'apply', action: create(report) }]);
    expect(results.map((r) => [r.ok, r.error?.code, r.error?.details?.retryable])).toEqual([
      [false, 'KUBERNETES_UNAVAILABLE', true],
      [false, 'KUBERNETES_THROTTLED', true],
      [false, 'KUBERNETES_FORBIDDEN', undefined],
      [false, 'KUBERNETES_INVALID', undefined],
    ]);
    expect(results[2].error!.message).toContain('cannot create resource "deployments" in API group "apps" in the namespace "sous"');
    expect(results[3].error!.message).toContain('spec.schedule: Invalid value: "0 3 * * 9": end of range (9) above maximum (6): 9');
    expect(results[3].error!.hints!.length).toBeGreaterThan(0);
    replay.verify();
  });

  it('takes the API server and credentials from a kubeconfig context when the cluster has no BaseURL', async () => {
    replay = await ReplayServer.start('kubernetes/kubeconfig');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sous-kubeconfig-'));
    const kubeconfig = path.join(dir, 'config');
    fs.writeFileSync(
      kubeconfig,
      [
        'apiVersion: v1',
        'kind: Config',
        'current-context: staging',
        'clusters:',
        '- name: staging',
        '  cluster: { server: "https://staging.invalid:6443" }',
        '- name: east',
        `  cluster: { server: "${replay.url}" }`,
        'users:',
        '- name: someone',
        '  user: { token: wrong }',
        '- name: sous-east',
        '  user: { token: t0ken-east }',
        'contexts:',
        '- name: staging',
        '  context: { cluster: staging, user: someone }',
        '- name: east-ctx',
        '  context: { cluster: east, user: sous-east }',
        '',
      ].join('\n'),
    );
    const [read] = values(await drive(replay.url, [{ op: 'actual' }], { def: { BaseURL: undefined }, env: { SOUS_KUBE_TOKEN_EAST: '', SOUS_KUBE_KUBECONFIG_EAST: kubeconfig, SOUS_KUBE_CONTEXT_EAST: 'east-ctx', SOUS_KUBE_NAMESPACE_EAST: 'apps' } }));
    expect(read).toEqual([]);
    replay.verify();
  });

  it('reports an unreachable API server as retryable', async () => {
    const url = await refusedURL();
    const results = await drive(url, [{ op: 'actual' }, { op: 'lease', key: 'a', holder: 'a' }]);
    for (const r of results) expect(r.error).toMatchObject({ code: 'KUBERNETES_UNREACHABLE', details: expect.objectContaining({ retryable: true, errno: 'ECONNREFUSED' }) });
    expect(results[0].error!.message).toContain(url);
  });

  it('refuses a cluster with no API server, plain HTTP to a remote host, and a kind Kubernetes cannot run, in words the user can act on', async () => {
    const url = await refusedURL();
    const [noServer] = await drive(url, [{ op: 'actual' }], { def: { BaseURL: undefined } });
    expect(noServer.error).toMatchObject({ code: 'KUBERNETES_NO_SERVER', exit: 2 });
    const [insecure] = await drive(url, [{ op: 'actual' }], { def: { BaseURL: 'http://k8s.example.com:6443' } });
    expect(insecure.error).toMatchObject({ code: 'KUBERNETES_INSECURE_SERVER', exit: 2 });
    const once = intended('github.com/acme/migrate', 'once', shopSpec(), url);
    const [unsupported] = await drive(url, [{ op: 'apply', action: plan([once], []).actions[0] }]);
    expect(unsupported.error).toMatchObject({ code: 'KUBERNETES_UNSUPPORTED_KIND', exit: 2 });
    expect(unsupported.error!.hints!.join(' ')).toContain('scheduled-job');
  });
});
