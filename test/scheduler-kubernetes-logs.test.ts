/**
 * `sous logs` on Kubernetes: the scheduler's streamLogs against the
 * modelled API server (test/helpers/kube-api-server.js; modelled on the
 * API reference, not recorded: pods/log is described in FACTS.md), with
 * pods checked against the Pod schema. The built plugin runs in a child
 * process (the driver), as the other Kubernetes tests do.
 */
import { execFile } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { KubeApiServer } = require('./helpers/kube-api-server.js');

/* eslint-disable @typescript-eslint/no-explicit-any */
const ROOT = path.resolve(__dirname, '..');
const DRIVER = path.join(__dirname, 'fixtures/modelled/kubernetes/driver.cjs');
const TOKEN = 't0ken-east';
const SHOP = 'east:github.com/acme/shop';
const HASH = crypto.createHash('sha256').update(SHOP).digest('hex').slice(0, 40);

let api: any;
const dirs: string[] = [];

afterEach(async () => {
  try {
    api?.verify();
  } finally {
    await api?.close();
    api = undefined;
  }
});

afterAll(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

async function start(opts: Record<string, unknown> = {}): Promise<any> {
  api = await new KubeApiServer({ tokens: { [TOKEN]: 'system:serviceaccount:sous:sous' }, namespaces: ['sous'], ...opts }).start();
  return api;
}

/** A pod of the shop's Deployment, as the ReplicaSet controller makes it and the kubelet reports it. */
function pod(name: string, state: 'running' | 'waiting', deployment = HASH) {
  const started = '2020-01-02T03:04:00Z';
  return {
    metadata: { name, namespace: 'sous', uid: crypto.randomUUID(), labels: { 'app.kubernetes.io/managed-by': 'sous', 'app.kubernetes.io/name': 'shop', 'sous.dev/deployment': deployment, 'pod-template-hash': '7d9f8c6b5' } },
    spec: { containers: [{ name: 'app', image: 'registry.example.com/github.com/acme/shop@sha256:' + 'a'.repeat(64) }] },
    status: {
      phase: state === 'running' ? 'Running' : 'Pending',
      containerStatuses: [
        {
          name: 'app',
          ready: state === 'running',
          restartCount: 0,
          image: 'registry.example.com/github.com/acme/shop@sha256:' + 'a'.repeat(64),
          imageID: state === 'running' ? 'registry.example.com/github.com/acme/shop@sha256:' + 'a'.repeat(64) : '',
          state: state === 'running' ? { running: { startedAt: started } } : { waiting: { reason: 'ContainerCreating' } },
        },
      ],
    },
  };
}

const at = (s: number) => new Date(Date.UTC(2020, 0, 2, 3, 4, s)).toISOString().replace('.000Z', '.123456789Z');

function drive(url: string, steps: unknown[]): Promise<any[]> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sous-k8s-logs-'));
  dirs.push(dir);
  const file = path.join(dir, 'scenario.json');
  const def = { Name: 'east', Kind: 'kubernetes', BaseURL: url, Env: {}, AllowedAdvisories: [] };
  fs.writeFileSync(file, JSON.stringify({ cluster: { name: 'east', def }, options: { namespace: 'sous' }, steps }));
  const env: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('SOUS_KUBE') && k !== 'KUBECONFIG' && !k.startsWith('KUBERNETES_')));
  Object.assign(env, { SOUS_KUBE_TOKEN_EAST: TOKEN, HOME: dir });
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [DRIVER, file], { cwd: ROOT, env, timeout: 60_000 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`driver failed: ${err.message}\n${stderr}`));
      resolve(JSON.parse(stdout).results);
    });
  });
}

describe('Kubernetes logs (modelled API server)', () => {
  it("reads the app container's log of every running pod of the deployment, with timestamps, in the order written", async () => {
    await start();
    api.addPod(pod('shop-c8768ce2-7d9f8c6b5-aaaaa', 'running'), { lines: [{ time: at(1), text: 'listening on 8080' }, { time: at(3), text: 'GET /health 200' }] });
    api.addPod(pod('shop-c8768ce2-7d9f8c6b5-bbbbb', 'running'), { lines: [{ time: at(2), text: 'listening on 8080' }, { time: at(4), text: 'GET / 200' }] });
    api.addPod(pod('shop-c8768ce2-7d9f8c6b5-ccccc', 'waiting'));
    api.addPod(pod('other-1', 'running', 'f'.repeat(40)), { lines: [{ time: at(1), text: 'not ours' }] });
    const [r] = await drive(api.url, [{ op: 'logs', deploymentID: SHOP, request: { tail: 10 } }]);
    expect(r.ok).toBe(true);
    expect(r.value.lines).toEqual([
      { instance: 'shop-c8768ce2-7d9f8c6b5-aaaaa', time: '2020-01-02T03:04:01.123Z', text: 'listening on 8080' },
      { instance: 'shop-c8768ce2-7d9f8c6b5-bbbbb', time: '2020-01-02T03:04:02.123Z', text: 'listening on 8080' },
      { instance: 'shop-c8768ce2-7d9f8c6b5-aaaaa', time: '2020-01-02T03:04:03.123Z', text: 'GET /health 200' },
      { instance: 'shop-c8768ce2-7d9f8c6b5-bbbbb', time: '2020-01-02T03:04:04.123Z', text: 'GET / 200' },
    ]);
    const logReads = api.requests.filter((x: any) => x.path.endsWith('/log'));
    expect(logReads.map((x: any) => [x.path, x.query])).toEqual(
      expect.arrayContaining([
        ['/api/v1/namespaces/sous/pods/shop-c8768ce2-7d9f8c6b5-aaaaa/log', { container: 'app', follow: 'false', pretty: 'false', previous: 'false', tailLines: '10', timestamps: 'true' }],
        ['/api/v1/namespaces/sous/pods/shop-c8768ce2-7d9f8c6b5-bbbbb/log', { container: 'app', follow: 'false', pretty: 'false', previous: 'false', tailLines: '10', timestamps: 'true' }],
      ]),
    );
    expect(logReads).toHaveLength(2);
    const list = api.requests.find((x: any) => x.path === '/api/v1/namespaces/sous/pods');
    expect(list.query.labelSelector).toBe(`app.kubernetes.io/managed-by=sous,sous.dev/deployment=${HASH}`);
  });

  it('takes --tail, --since and --instance, and names the pods there are for an unknown one', async () => {
    await start();
    api.addPod(pod('shop-c8768ce2-7d9f8c6b5-aaaaa', 'running'), { lines: [1, 2, 3, 4].map((s) => ({ time: at(s), text: `line ${s}` })) });
    api.addPod(pod('shop-c8768ce2-7d9f8c6b5-bbbbb', 'running'), { lines: [{ time: at(1), text: 'b line' }] });
    const [tail, since, one, unknown] = await drive(api.url, [
      { op: 'logs', deploymentID: SHOP, request: { tail: 2, instance: 'shop-c8768ce2-7d9f8c6b5-aaaaa' } },
      { op: 'logs', deploymentID: SHOP, request: { since: Date.parse('2020-01-02T03:04:03.500Z') } },
      { op: 'logs', deploymentID: SHOP, request: { instance: 'shop-c8768ce2-7d9f8c6b5-bbbbb' } },
      { op: 'logs', deploymentID: SHOP, request: { instance: 'shop-nope' } },
    ]);
    expect(tail.value.lines.map((l: any) => l.text)).toEqual(['line 3', 'line 4']);
    // sinceTime is to the second: 03:04:03 on.
    expect(since.value.lines.map((l: any) => l.text)).toEqual(['line 3', 'line 4']);
    expect(api.requests.filter((x: any) => x.query.sinceTime).map((x: any) => x.query.sinceTime)).toEqual(['2020-01-02T03:04:03Z', '2020-01-02T03:04:03Z']);
    expect(one.value.lines).toEqual([{ instance: 'shop-c8768ce2-7d9f8c6b5-bbbbb', time: '2020-01-02T03:04:01.123Z', text: 'b line' }]);
    expect(unknown.error).toMatchObject({ code: 'INSTANCE_NOT_FOUND', exit: 2, hints: ['Its instances: shop-c8768ce2-7d9f8c6b5-aaaaa, shop-c8768ce2-7d9f8c6b5-bbbbb'] });
  });

  it('follows the pods as their containers write, and stops when asked', async () => {
    await start();
    api.addPod(pod('shop-c8768ce2-7d9f8c6b5-aaaaa', 'running'), { lines: [{ time: at(1), text: 'old' }], later: ['a1', 'a2', 'a3'], intervalMs: 30 });
    api.addPod(pod('shop-c8768ce2-7d9f8c6b5-bbbbb', 'running'), { lines: [], later: ['b1', 'b2'], intervalMs: 45 });
    const [all] = await drive(api.url, [{ op: 'logs', deploymentID: SHOP, request: { follow: true, tail: 0 } }]);
    // The containers ended, so did the follow: every line written after it began, none before.
    expect(all.value.lines.filter((l: any) => l.instance.endsWith('aaaaa')).map((l: any) => l.text)).toEqual(['a1', 'a2', 'a3']);
    expect(all.value.lines.filter((l: any) => l.instance.endsWith('bbbbb')).map((l: any) => l.text)).toEqual(['b1', 'b2']);
    expect(api.requests.filter((x: any) => x.path.endsWith('/log')).every((x: any) => x.query.follow === 'true' && x.query.sinceTime && x.query.tailLines === undefined)).toBe(true);

    await api.close();
    await start();
    api.addPod(pod('shop-c8768ce2-7d9f8c6b5-aaaaa', 'running'), { lines: [], later: Array.from({ length: 200 }, (_, i) => `tick ${i}`), intervalMs: 25 });
    const [stopped] = await drive(api.url, [{ op: 'logs', deploymentID: SHOP, request: { follow: true }, stopAfter: 3 }]);
    expect(stopped.value.lines.map((l: any) => l.text)).toEqual(['tick 0', 'tick 1', 'tick 2']);
    // Aborted after three lines: well before the container would have ended (200 lines, 5 s).
    expect(stopped.value.ms).toBeLessThan(3000);
  });

  it('says NO_INSTANCES when no pod has started, and KUBERNETES_FORBIDDEN when RBAC does not grant pods/log', async () => {
    await start();
    api.addPod(pod('shop-c8768ce2-7d9f8c6b5-ccccc', 'waiting'));
    const [none] = await drive(api.url, [{ op: 'logs', deploymentID: SHOP, request: {} }]);
    expect(none.error).toMatchObject({ code: 'NO_INSTANCES', exit: 1 });
    await api.close();
    await start({ rbac: [{ verbs: ['list', 'get'], resources: ['pods'], namespaces: ['sous'] }] });
    api.addPod(pod('shop-c8768ce2-7d9f8c6b5-aaaaa', 'running'), { lines: [{ time: at(1), text: 'x' }] });
    const [denied] = await drive(api.url, [{ op: 'logs', deploymentID: SHOP, request: {} }]);
    expect(denied.error).toMatchObject({ code: 'KUBERNETES_FORBIDDEN' });
    expect(denied.error.message).toContain('pods/log');
  });
});
