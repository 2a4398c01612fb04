/**
 * The real `sous` binary on a Kubernetes cluster (the plugin applied by
 * default) against the modelled API server (test/helpers/kube-api-server.js,
 * in this process): secrets from the `env` provider end up in the
 * deployment's Secret and nowhere else (every command run with --json and
 * --debug, the state repository's whole history, what the rectifier keeps
 * beside it, every object and request the API server saw); and the refusals
 * that fail a rectify rather than its reading (422, a rollout past its
 * progress deadline), which leave the GDM as it was and the running version
 * serving.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { git, head } from './helpers/state-repo';
import { makeSousEnv, requireBuilt, sous, type SousEnv } from './helpers/sous';
import { DIGEST, startApi, TOKEN } from './scheduler-kubernetes-world';

/* eslint-disable @typescript-eslint/no-explicit-any */
const CANARY = 'canary-cli-k8s-Hq3-value';
const ROTATED = 'canary-cli-k8s-rotated-5';
const b64 = (v: string) => Buffer.from(v, 'utf8').toString('base64');
let api: any;
const dirs: string[] = [];

beforeAll(() => requireBuilt());
afterEach(async () => {
  await api?.close();
  api = undefined;
});
afterAll(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

const manifest = (version: string, digest: string, extra = '') => `Source: github.com/acme/shop
Owners:
- ops@acme.example
Kind: http-service
Deployments:
  east:
    NumInstances: 1
    Version: ${version}
    Digest: ${digest}
${extra}`;

async function world(): Promise<{ e: SousEnv; run: (args: string[], env?: Record<string, string>) => Promise<any> }> {
  api = await startApi();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sous-k8s-cli-'));
  dirs.push(dir);
  const e = makeSousEnv(dir);
  const env = { SOUS_KUBE_TOKEN_EAST: TOKEN, SOUS_KUBE_NAMESPACE_EAST: 'sous' };
  const run = (args: string[], more: Record<string, string> = {}) => sous(e, args, { env: { ...env, ...more } });
  const added = await run(['cluster', 'add', '--name', 'east', '--kind', 'kubernetes', '--base-url', api.url, '--registry', 'registry.example.com', '--json']);
  expect(added.code).toBe(0);
  return { e, run };
}

/** Every file under a directory, as text. */
function filesUnder(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return (fs.readdirSync(dir, { recursive: true }) as string[]).map((f) => path.join(dir, f)).filter((f) => fs.statSync(f).isFile()).map((f) => fs.readFileSync(f, 'latin1'));
}

describe('sous on Kubernetes (the sous binary, modelled API server)', () => {
  it('hands a secret to the pods through a Secret, and its value appears nowhere else: not in any output (--json, --debug), the state history, the rectifier\'s records, or any other object or request', async () => {
    const { e, run } = await world();
    const m = manifest('1.2.0', DIGEST('a'), '    Secrets:\n      DB_PASSWORD: env:SHOP_DB_PASSWORD\n');
    expect((await sous(e, ['manifest', 'set', '--repo', 'github.com/acme/shop'], { stdin: m })).code).toBe(0);
    const printed: string[] = [];
    const step = async (args: string[], value: string) => {
      const r = await run([...args, '--json', '--debug'], { SHOP_DB_PASSWORD: value });
      printed.push(r.stdout, r.stderr);
      return r;
    };
    const created = await step(['rectify', '--all'], CANARY);
    expect(created.code).toBe(0);
    expect(created.json.outcomes.map((o: any) => [o.action.kind, o.resolution, o.status])).toEqual([['create', 'created', 'Active']]);
    const quiet = await step(['plan', '--all'], CANARY);
    expect(quiet.json.plan).toMatchObject({ actions: [], unchanged: ['east:github.com/acme/shop'] });
    await step(['status'], CANARY);
    await step(['query', 'ads'], CANARY);
    const planned = await step(['plan', '--all'], ROTATED);
    expect(planned.json.plan.actions.map((a: any) => a.reason)).toEqual(['secrets changed: DB_PASSWORD']);
    const rotated = await step(['rectify', '--all'], ROTATED);
    expect(rotated.json.outcomes.map((o: any) => [o.action.reason, o.status])).toEqual([['secrets changed: DB_PASSWORD', 'Active']]);

    const [secret] = api.list('secrets', 'sous');
    expect(secret.metadata.name).toMatch(/^shop-[0-9a-f]{8}-env$/);
    expect(secret.data).toEqual({ DB_PASSWORD: b64(ROTATED) });
    for (const v of [CANARY, ROTATED]) {
      for (const form of [v, b64(v)]) {
        for (const out of printed) expect(out).not.toContain(form);
        expect(git(e.state, 'log', '-p', '--all')).not.toContain(form);
        for (const text of filesUnder(path.join(e.state, '.git', 'sous'))) expect(text).not.toContain(form);
        for (const kind of ['deployments', 'services', 'serviceaccounts', 'secrets', 'leases']) {
          for (const o of api.list(kind, 'sous')) expect(JSON.stringify({ ...o, data: undefined })).not.toContain(form);
        }
        for (const r of api.requests) {
          const body = r.body && r.path === `/api/v1/namespaces/sous/secrets/${secret.metadata.name}` ? { ...r.body, data: undefined } : r.body;
          expect(JSON.stringify([r.path, r.query, body])).not.toContain(form);
        }
      }
    }
    // The output did say something about the secret: its name and its keyed hash, never its value.
    expect(printed.join('')).toContain('DB_PASSWORD');
  });

  it('a rectify the API server refuses (422) fails naming the field, and a rollout past its progress deadline fails with its own message while the old version serves; neither changes the GDM', async () => {
    const { e, run } = await world();
    const job = `Source: github.com/acme/report\nOwners: []\nKind: scheduled-job\nDeployments:\n  east:\n    NumInstances: 1\n    Version: 2.0.0\n    Digest: ${DIGEST('d')}\n    Schedule: "0 3 * * 9"\n`;
    expect((await sous(e, ['manifest', 'set', '--repo', 'github.com/acme/report'], { stdin: job })).code).toBe(0);
    let before = head(e.state);
    const refused = await run(['rectify', '--all', '--json']);
    expect([refused.code, refused.json.error.code]).toEqual([1, 'RECTIFY_FAILED']);
    const outcome = refused.json.error.details.result.outcomes[0];
    expect(outcome).toMatchObject({ status: 'Failed', resolution: 'not created' });
    expect(outcome.message).toMatch(/spec\.schedule.*end of range \(9\) above maximum \(6\).*\[KUBERNETES_INVALID\]$/);
    expect(refused.stdout + refused.stderr).not.toMatch(/\n\s+at .+\(.+:\d+:\d+\)/);
    expect(head(e.state)).toBe(before);
    expect((await sous(e, ['manifest', 'set', '--repo', 'github.com/acme/report'], { stdin: job.replace('9"', '1"').replace('NumInstances: 1', 'NumInstances: 0') })).code).toBe(0);

    expect((await sous(e, ['manifest', 'set', '--repo', 'github.com/acme/shop'], { stdin: manifest('1.2.0', DIGEST('a')) })).code).toBe(0);
    expect((await run(['rectify', '--all', '--json'])).code).toBe(0);
    const [d] = api.list('deployments', 'sous').filter((x: any) => x.metadata.name.startsWith('shop-'));
    const serving = api.serving('sous', d.metadata.name);
    expect(serving).toContain(DIGEST('a'));
    expect((await sous(e, ['manifest', 'set', '--repo', 'github.com/acme/shop'], { stdin: manifest('1.3.0', DIGEST('b')) })).code).toBe(0);
    api.rollout = 'deadline';
    before = head(e.state);
    const stuck = await run(['rectify', '--all', '--json']);
    expect([stuck.code, stuck.json.error.code]).toEqual([1, 'RECTIFY_FAILED']);
    const failed = stuck.json.error.details.result.outcomes.find((o: any) => o.action.deploymentID === 'east:github.com/acme/shop');
    expect(failed).toMatchObject({ status: 'Failed', resolution: 'not updated' });
    expect(failed.message).toMatch(/^ReplicaSet "shop-[0-9a-f]{8}-[0-9a-f]{10}" has timed out progressing\. \(deployment sous\/shop-[0-9a-f]{8}\)/);
    expect(api.serving('sous', d.metadata.name)).toBe(serving);
    expect(head(e.state)).toBe(before);
    const next = await run(['plan', '--all', '--json']);
    expect(next.json.plan.actions.map((a: any) => a.reason)).toEqual([expect.stringContaining('the current deploy failed: ReplicaSet')]);
  });
});
