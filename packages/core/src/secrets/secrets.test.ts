import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { failure } from '../errors';
import { Gdm } from '../gdm/state';
import { loadConfig } from '../config/load';
import { Sous } from '../hooks/sous';
import type { Manifest } from '../model/types';
import { validateManifest } from '../model/manifest';
import { MemorySchedulerPlugin } from '../rectify/memory-scheduler';
import { Rectifier } from '../rectify/rectifier';
import { SEALED_PREFIX, secretHashKey, sealer } from './seal';

const user = { name: 'Tester', email: 'tester@example.com' };
const DIGEST = `sha256:${'1'.padStart(64, '0')}`;
const REPO = 'github.com/acme/ledger';
const ID = `east:${REPO}`;

/** A provider whose values the test sets, and which counts its reads. */
class Vault {
  values = new Map<string, string>();
  reads = 0;
  broken = false;
  async read(keys: readonly string[]) {
    this.reads++;
    if (this.broken) throw failure('SECRET_PROVIDER_FAILED', 'the vault provider: sealed');
    return new Map(keys.flatMap((k) => (this.values.has(k) ? [[k, this.values.get(k)!] as [string, string]] : [])));
  }
}

async function world(clusterSecrets?: Record<string, string>) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sous-secrets-'));
  const gdm = await Gdm.open(path.join(dir, 'state'), { user });
  await gdm.update((s) => ({ change: { message: 'clusters', defs: { ...s.defs, Clusters: { east: { Name: 'east', Kind: 'memory', BaseURL: '', Env: {}, AllowedAdvisories: [], ...(clusterSecrets ? { Secrets: clusterSecrets } : {}) } } } }, result: undefined }), user);
  const config = await loadConfig({ cwd: dir, env: { XDG_CONFIG_HOME: path.join(dir, 'cfg'), SOUS_STATE_LOCATION: path.join(dir, 'state') }, repoConfig: false });
  const sous = Sous.create(config);
  const vault = new Vault();
  sous.hooks.secretProvider.for('vault').tap('test', () => vault);
  const mem = sous.plugins.find((p): p is MemorySchedulerPlugin => p instanceof MemorySchedulerPlugin)!;
  const rectifier = new Rectifier(sous, gdm, path.join(dir, 'status'));
  const put = (secrets: Record<string, string>, env: Record<string, string> = { LOG: 'info' }) => {
    const m: Manifest = { Source: REPO, Owners: [], Kind: 'http-service', Deployments: { east: { Resources: { cpus: '0.1', memory: '100', ports: '1' }, Env: env, Secrets: secrets, NumInstances: 1, Volumes: [], Version: '1.0.0', Digest: DIGEST } } };
    return gdm.update(() => ({ change: { message: 'set', setManifests: [m] }, result: undefined }), user);
  };
  return { dir, gdm, sous, vault, mem, rectifier, put, scheduler: () => mem.schedulers.get('east')! };
}

describe('secrets in the rectifier', () => {
  it('hands the values to the scheduler and keeps only keyed hashes in what it plans and stores', async () => {
    const w = await world();
    w.vault.values.set('ledger/db', 'canary-s3cr3t-value');
    await w.put({ DB_PASSWORD: 'vault:ledger/db' });
    const r = await w.rectifier.run({ filters: {} });
    expect(r.outcomes.map((o) => [o.action.kind, o.status])).toEqual([['create', 'Active']]);
    expect(w.scheduler().secretsGiven.get(ID)).toEqual({ DB_PASSWORD: 'canary-s3cr3t-value' });
    const kept = w.scheduler().deployments.get(ID)!;
    expect(kept.secrets?.DB_PASSWORD).toMatch(new RegExp(`^${SEALED_PREFIX}[0-9a-f]{32}$`));
    expect(JSON.stringify(r)).not.toContain('canary-s3cr3t-value');
    expect(JSON.stringify(kept)).not.toContain('canary-s3cr3t-value');
    expect(fs.readFileSync(path.join(w.dir, 'state', '.git', 'sous', 'secret-hash.key'), 'utf8')).toMatch(/^[0-9a-f]{64}$/);
    expect((await w.rectifier.run({ filters: {} })).outcomes).toEqual([]);
  });

  it('a rotated value (same reference) is seen by the next pass and redeploys, naming the variable only', async () => {
    const w = await world();
    w.vault.values.set('ledger/db', 'first');
    await w.put({ DB_PASSWORD: 'vault:ledger/db', API_KEY: 'vault:ledger/api' });
    w.vault.values.set('ledger/api', 'k1');
    await w.rectifier.run({ filters: {} });
    w.vault.values.set('ledger/db', 'second');
    const { plan } = await w.rectifier.plan({ filters: {} });
    expect(plan.actions.map((a) => `${a.kind}: ${a.reason}`)).toEqual(['update: secrets changed: DB_PASSWORD']);
    const r = await w.rectifier.run({ filters: {} });
    expect(r.outcomes.map((o) => o.status)).toEqual(['Active']);
    expect(w.scheduler().secretsGiven.get(ID)).toEqual({ DB_PASSWORD: 'second', API_KEY: 'k1' });
  });

  it('a key the provider does not have fails that deployment with SECRET_NOT_FOUND; what runs keeps running; the others go on; held after repeated failures', async () => {
    const w = await world();
    w.vault.values.set('ledger/db', 'v1');
    await w.put({ DB_PASSWORD: 'vault:ledger/db' });
    await w.rectifier.run({ filters: {} });
    await w.gdm.update((s) => {
      const m = JSON.parse(JSON.stringify(s.manifests.get(REPO)!.manifest)) as Manifest;
      m.Deployments!.east.Secrets = { DB_PASSWORD: 'vault:ledger/gone' };
      m.Deployments!.east.Version = '1.1.0';
      const other: Manifest = { Source: 'github.com/acme/shop', Owners: [], Kind: 'http-service', Deployments: { east: { Resources: { cpus: '0.1', memory: '100', ports: '1' }, NumInstances: 1, Volumes: [], Version: '2.0.0', Digest: DIGEST } } };
      return { change: { message: 'set', setManifests: [m, other] }, result: undefined };
    }, user);
    const calls = w.scheduler().calls.length;
    const r = await w.rectifier.run({ filters: {} });
    const failed = r.outcomes.find((o) => o.action.deploymentID === ID)!;
    expect([failed.status, failed.resolution]).toEqual(['Failed', 'not updated']);
    expect(failed.message).toMatch(/no key "ledger\/gone".*\[SECRET_NOT_FOUND\]$/);
    expect(r.outcomes.find((o) => o.action.deploymentID === 'east:github.com/acme/shop')!.status).toBe('Active');
    expect(w.scheduler().calls.length).toBe(calls + 1);
    expect(w.scheduler().deployments.get(ID)!.spec.Version).toBe('1.0.0');
    await w.rectifier.run({ filters: {} });
    await w.rectifier.run({ filters: {} });
    const { plan } = await w.rectifier.plan({ filters: {} });
    expect(plan.held.map((h) => h.action.deploymentID)).toEqual([ID]);
  });

  it('a provider that fails is SECRET_PROVIDER_FAILED for the deployments using it; an unknown provider is SECRET_PROVIDER_UNKNOWN', async () => {
    const w = await world();
    w.vault.broken = true;
    await w.put({ DB_PASSWORD: 'vault:ledger/db' });
    const r = await w.rectifier.run({ filters: {} });
    expect(r.outcomes[0].message).toMatch(/\[SECRET_PROVIDER_FAILED\]$/);
    await w.put({ DB_PASSWORD: 'nowhere:ledger/db' });
    const r2 = await w.rectifier.run({ filters: {} });
    expect(r2.outcomes[0].message).toMatch(/no plugin provides secrets of kind "nowhere".*\[SECRET_PROVIDER_UNKNOWN\]$/);
  });

  it('a cluster default secret fills what the deployment does not name; Env values are compared as keyed hashes', async () => {
    const w = await world({ SHARED_TOKEN: 'vault:shared' });
    w.vault.values.set('shared', 't');
    w.vault.values.set('ledger/db', 'v');
    await w.put({ DB_PASSWORD: 'vault:ledger/db' });
    await w.rectifier.run({ filters: {} });
    expect(w.scheduler().secretsGiven.get(ID)).toEqual({ DB_PASSWORD: 'v', SHARED_TOKEN: 't' });
    // A scheduler that keeps Env as keyed hashes (as docker's labels do) reads back as unchanged.
    const kept = w.scheduler().deployments.get(ID)!;
    const seal = sealer(secretHashKey(w.sous.config.secretHashKeyFile));
    kept.spec.Env = { LOG: seal('info') };
    expect((await w.rectifier.plan({ filters: {} })).plan.actions).toEqual([]);
    kept.spec.Env = { LOG: seal('debug') };
    expect((await w.rectifier.plan({ filters: {} })).plan.actions.map((a) => a.reason)).toEqual(['env']);
  });
});

describe('secret references in a manifest', () => {
  const spec = (secrets: Record<string, string>, env: Record<string, string> = {}) => ({ Source: REPO, Kind: 'http-service', Deployments: { east: { Env: env, Secrets: secrets } } });

  it.each([
    [spec({ DB: 'ledger/db' }), 'MANIFEST_INVALID', /Deployments\.east\.Secrets\.DB must match pattern/],
    [spec({ DB: 'file:ledger/db' }, { DB: 'x' }), 'SECRET_ENV_CLASH', /DB is both a secret and an Env value/],
    [spec({ DB: 'file:../etc/shadow' }), 'SECRET_REF_INVALID', /would leave the secrets directory/],
    [spec({ DB: 'file:/etc/shadow' }), 'SECRET_REF_INVALID', /would leave the secrets directory/],
    [spec({ 'not-a-var': 'file:x' }), 'MANIFEST_INVALID', /Deployments\.east\.Secrets must match pattern/],
  ])('refuses %j with %s', (m, code, message) => {
    let err: { code?: string; message?: string } = {};
    try {
      validateManifest(m, 'm.yaml');
    } catch (e) {
      err = e as typeof err;
    }
    expect(err.code).toBe(code);
    expect(err.message).toMatch(message);
  });

  it('never repeats what stands where a reference should (it may be a value put there by mistake)', () => {
    expect(() => validateManifest(spec({ DB: 'hunter2-canary' }), 'm.yaml')).toThrow(expect.objectContaining({ message: expect.not.stringContaining('hunter2-canary') }));
  });
});
