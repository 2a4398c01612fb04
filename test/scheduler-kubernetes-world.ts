/**
 * What the Kubernetes scheduler tests share: the modelled API server
 * (test/helpers/kube-api-server.js), the application and cluster they
 * deploy, and the driver that runs the built plugin in a child process
 * (test/fixtures/modelled/kubernetes/driver.cjs): @kubernetes/client-node is
 * an ES module jest cannot load.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { expandDeploySpec, formatManifestID, intendedState, manifestIDOf, planActions, type Cluster, type DeploySpec, type DeployState, type Manifest } from '@sous/core';
// eslint-disable-next-line @typescript-eslint/no-require-imports
export const { KubeApiServer } = require('./helpers/kube-api-server.js');

/* eslint-disable @typescript-eslint/no-explicit-any */
export const ROOT = path.resolve(__dirname, '..');
const DRIVER = path.join(__dirname, 'fixtures/modelled/kubernetes/driver.cjs');
const PLUGIN = path.join(ROOT, 'packages/plugin-scheduler-kubernetes');
export const DIGEST = (c: string) => `sha256:${c.repeat(64)}`;
export const SHOP = 'east:github.com/acme/shop';
export const NAME = 'shop-c8768ce2';
export const TOKEN = 't0ken-east';
/** The driver's default key for keyed hashes (the rectifier's per-installation key). */
export const HASH_KEY = 'modelled-hash-key';

export interface StepResult {
  op: string;
  ok: boolean;
  value?: any;
  error?: { code: string; message: string; hints?: string[]; details?: Record<string, any>; exit?: number };
}

const dirs: string[] = [];

/** The driver runs the built plugin: refuse to test a build older than its sources. */
export function requireFreshBuild(): void {
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
}

/** Removes the temporary directories the tests made. */
export function cleanup(): void {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
}

export function tmp(prefix: string): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  dirs.push(d);
  return d;
}

/** A modelled API server with the namespace `sous` and Sous's token, started. */
export function startApi(opts: Record<string, unknown> = {}): Promise<any> {
  return new KubeApiServer({ tokens: { [TOKEN]: 'system:serviceaccount:sous:sous' }, namespaces: ['sous'], ...opts }).start();
}

export function east(url: string): Cluster {
  return { Name: 'east', Kind: 'kubernetes', BaseURL: url, Env: { REGION: 'east' }, Startup: { ConnectDelay: 5, CheckReadyRetries: 3 }, Registry: 'registry.example.com', AllowedAdvisories: [] };
}

export function shopSpec(over: Partial<DeploySpec> = {}): DeploySpec {
  return { Resources: { cpus: '0.5', memory: '256', ports: '1' }, Env: { LOG_LEVEL: 'info', DB_PASSWORD: 'hunter2-canary' }, NumInstances: 2, Volumes: [], Startup: { CheckReadyURIPath: '/ready', Timeout: 30, CheckReadyInterval: 5 }, Version: '1.2.0', Digest: DIGEST('a'), Stack: 'node', ...over };
}

export function intended(source: string, kind: Manifest['Kind'], spec: DeploySpec, url: string, flavor = ''): DeployState {
  const m: Manifest = { Source: source, Flavor: flavor || undefined, Owners: ['ops@acme.example'], Kind: kind, Deployments: { east: spec } };
  const mid = manifestIDOf(m);
  return intendedState({ id: `east:${formatManifestID(mid)}`, manifestID: mid, cluster: 'east', clusterDef: east(url), kind, owners: m.Owners!, spec: expandDeploySpec(spec, east(url)) });
}

export function plan(want: DeployState[], actual: DeployState[], prune = false) {
  return planActions(want, actual, { clustersRead: new Set(['east']), prune: () => prune, revision: 'test' });
}

export interface DriveExtra {
  def?: Partial<Cluster>;
  options?: Record<string, unknown>;
  env?: Record<string, string>;
  /** Resolved secret values by deployment ID, as the rectifier hands them to apply. */
  secrets?: Record<string, Record<string, string>>;
}

/** Runs the scenario in a child process against the cluster at `url`; credentials come from SOUS_KUBE_TOKEN_EAST unless given. */
export function driveRaw(url: string, steps: unknown[], extra: DriveExtra = {}): Promise<{ results: StepResult[]; stdout: string; stderr: string }> {
  const dir = tmp('sous-k8s-test-');
  const file = path.join(dir, 'scenario.json');
  fs.writeFileSync(file, JSON.stringify({ cluster: { name: 'east', def: { ...east(url), ...extra.def } }, options: { namespace: 'sous', ...extra.options }, secrets: extra.secrets, steps }));
  const env: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('SOUS_KUBE') && k !== 'KUBECONFIG' && !k.startsWith('KUBERNETES_')));
  Object.assign(env, { SOUS_KUBE_TOKEN_EAST: TOKEN, HOME: dir }, extra.env ?? {});
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [DRIVER, file], { cwd: ROOT, env, timeout: 60_000 }, (err, stdout, stderr) => {
      // The scenario holds the secret values the rectifier would hand over; it goes as soon as it was read.
      fs.rmSync(file, { force: true });
      if (err) return reject(new Error(`driver failed: ${err.message}\n${stderr}`));
      resolve({ results: (JSON.parse(stdout) as { results: StepResult[] }).results, stdout, stderr });
    });
  });
}

export async function drive(url: string, steps: unknown[], extra: DriveExtra = {}): Promise<StepResult[]> {
  return (await driveRaw(url, steps, extra)).results;
}

export function values(results: StepResult[]): any[] {
  for (const r of results) if (!r.ok) throw new Error(`step ${r.op} failed: ${r.error?.code} ${r.error?.message}`);
  return results.map((r) => r.value);
}

export const writes = (a: any) => a.requests.filter((r: any) => ['PATCH', 'POST', 'PUT', 'DELETE'].includes(r.method));
