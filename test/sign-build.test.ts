/**
 * `build` with the sign and cache plugins on real registries: a builder
 * plugin of the test's own pushes images straight through the registry API
 * (no engine), so everything after it is the real pipeline: signing, the
 * pre-cache into each target cluster's registry, the artifact record, the
 * deploy check, and the reuse of an earlier build of identical inputs.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { build, Gdm, isSousError, loadConfig, parseImageReference, RegistryClient, Sous, type ArtifactRecord, type BuildPlan, type SousError, type SousPlugin, type VerifyReport } from '@sous/core';
import { cache, lookupBuilt } from '@sous/plugin-cache';
import { sign, verifyImageSignature, writeKeyPair } from '@sous/plugin-sign';
import { freePort, pushImage, randomLayer, refusingProxy, rmrf, startRegistry, type TestRegistry } from './helpers/registries';
import { git, makeStateRepo, tempDir } from './helpers/state-repo';

const USER = { name: 'Test User', email: 'test@example.com' };
const PASS = 'SOUS_TEST_SIGN_BUILD_PASSPHRASE';
let dir: string;
let A: TestRegistry;
let B: TestRegistry;
let downPort: number;
let app: string;
let keys: { privateKey: string; publicKey: string; keyId: string };

/** Builds nothing: pushes a small random image through the registry API, and passes one contract. */
class ApiBuilder implements SousPlugin {
  readonly name = 'test:api-builder';
  published = 0;
  plans: BuildPlan[] = [];
  apply(sous: Sous): void {
    sous.hooks.detectStack.tapPromise(this.name, async () => 'test');
    sous.hooks.buildPlan.for('test').tapPromise(this.name, async (plan) => ({ ...plan, dockerfile: 'FROM scratch\n' }));
    sous.hooks.buildImage.tapPromise(this.name, async (req) => {
      this.plans.push(req.plan);
      const name = req.tags[0].slice(0, req.tags[0].lastIndexOf(':'));
      return { id: `sha256:${crypto.randomBytes(32).toString('hex')}`, name, tags: req.tags, labels: req.plan.labels, contentKey: req.contentKey };
    });
    sous.hooks.testImage.tapPromise(this.name, async (report) => {
      report.results.push({ name: 'health', status: 'passed', durationMs: 1 });
    });
    sous.hooks.publish.tapPromise(this.name, async (artifact) => {
      const ref = parseImageReference(artifact.image.name);
      if (artifact.digest) {
        // Published already (the build adds the version tag once the contracts pass): tag the same manifest.
        const client = new RegistryClient(ref.registry);
        const m = await client.getManifest(ref.repository, artifact.digest);
        for (const t of artifact.image.tags) await client.putManifest(ref.repository, t.slice(t.lastIndexOf(':') + 1), m.bytes, m.mediaType);
        return;
      }
      const tag = artifact.image.tags[0].slice(artifact.image.tags[0].lastIndexOf(':') + 1);
      const img = await pushImage(ref.registry, ref.repository, [randomLayer(20_000), randomLayer(10_000)], { tag });
      this.published++;
      artifact.digest = img.digest;
      artifact.reference = `${artifact.image.name}@${img.digest}`;
    });
  }
}

function stateFiles(registry: string): string {
  const src = path.join(dir, `fixture-${crypto.randomBytes(4).toString('hex')}`);
  fs.mkdirSync(path.join(src, 'manifests/github.com/acme'), { recursive: true });
  fs.writeFileSync(
    path.join(src, 'defs.yaml'),
    [
      `DockerRepo: ${registry}`,
      'Clusters:',
      '  east:',
      '    Kind: memory',
      `    Registry: ${B.addr}`,
      '  west:',
      '    Kind: memory',
      `    Registry: 127.0.0.1:${downPort}`,
      '  local:',
      '    Kind: memory',
      '',
    ].join('\n'),
  );
  const dep = (c: string) => [`  ${c}:`, '    NumInstances: 1', '    Version: 1.0.0'];
  fs.writeFileSync(path.join(src, 'manifests/github.com/acme/shop.yaml'), ['Source: github.com/acme/shop', 'Owners: []', 'Kind: http-service', 'Deployments:', ...dep('east'), ...dep('west'), ...dep('local'), ''].join('\n'));
  return src;
}

async function run(opts: { tag: string; registry?: string; env?: Record<string, string>; force?: boolean; seed?: ArtifactRecord[]; extra?: SousPlugin[] }) {
  const state = path.join(dir, `state-${crypto.randomBytes(4).toString('hex')}`);
  makeStateRepo(state, stateFiles(opts.registry ?? A.addr));
  const config = await loadConfig({
    cwd: app,
    repoConfig: false,
    command: 'build',
    env: { SOUS_STATE_LOCATION: state, SOUS_USER_NAME: USER.name, SOUS_USER_EMAIL: USER.email, XDG_CONFIG_HOME: path.join(dir, 'config'), ...opts.env },
  });
  const builder = new ApiBuilder();
  const sous = Sous.create(config).use(builder, ...(opts.extra ?? []), sign({ passphraseEnv: PASS }), cache());
  const backend = await Gdm.open(state, { user: USER });
  if (opts.seed) await backend.update(() => ({ change: { message: 'earlier builds', artifacts: opts.seed! }, result: undefined }), USER);
  const attempt = build(sous, { dir: app, tag: opts.tag, backend, user: USER, force: opts.force });
  return { attempt, backend, builder, sous };
}

async function refusal(p: Promise<unknown>): Promise<SousError> {
  try {
    await p;
  } catch (e) {
    if (isSousError(e)) return e;
    throw e;
  }
  throw new Error('expected the build to fail');
}

const SL = { repo: 'github.com/acme/shop', dir: '' };

beforeAll(async () => {
  dir = tempDir('sous-sign-build-');
  [A, B] = await Promise.all([startRegistry(`${dir}/a`), startRegistry(`${dir}/b`)]);
  downPort = await freePort();
  app = path.join(dir, 'shop');
  fs.mkdirSync(app, { recursive: true });
  fs.writeFileSync(path.join(app, 'server.js'), 'console.log(1)\n');
  git(app, 'init', '-q', '-b', 'main');
  git(app, 'remote', 'add', 'origin', 'git@github.com:acme/shop.git');
  git(app, 'add', '-A');
  git(app, 'commit', '-q', '-m', 'shop');
  for (const t of ['1.0.0', '1.0.1', '1.1.0', '1.2.0', '1.3.0', '1.4.0', '1.5.0', '1.6.0']) git(app, 'tag', t);
  process.env[PASS] = 'build passphrase';
  keys = writeKeyPair({ dir: path.join(dir, 'keys'), name: 'ci', passphrase: process.env[PASS] });
});
afterAll(async () => {
  delete process.env[PASS];
  await Promise.all([A?.stop(), B?.stop()]);
  rmrf(dir);
});

describe('build with a signing key and cluster registries', () => {
  let record: ArtifactRecord | undefined;

  it('signs, pre-caches into each cluster registry (one down), and records both', async () => {
    const { attempt, backend } = await run({ tag: '1.0.0', env: { SOUS_SIGNING_KEY: keys.privateKey } });
    const r = await attempt;
    expect(r.status).toBe('built');
    expect(r.signature).toEqual({ Tag: `sha256-${r.digest.slice(7)}.sig`, Digest: expect.stringMatching(/^sha256:/), KeyID: keys.keyId });
    expect(r.precache?.east).toMatchObject({ Registry: B.addr, Status: 'copied' });
    expect(r.precache?.east.BytesSent).toBeGreaterThan(30_000);
    expect(r.precache?.west).toMatchObject({ Registry: `127.0.0.1:${downPort}`, Status: 'failed' });
    expect(r.precache?.west.Message).toContain('REGISTRY_UNREACHABLE');
    expect(r.precache?.local).toBeUndefined();
    record = await backend.artifact(SL, '1.0.0');
    expect(record?.Signature).toEqual(r.signature);
    expect(record?.Precache).toEqual(r.precache);

    // The copy in the cluster's registry carries the signature: it verifies there, and it names the contract results and the Sous version.
    const ref = parseImageReference(r.image);
    const v = await verifyImageSignature({ image: `${B.addr}/${ref.repository}@${r.digest}`, keys: [keys.publicKey] });
    expect(v.signatures[0].optional).toMatchObject({ 'sous.contract.health': 'passed', 'sous.version': expect.any(String), 'sous.source': 'github.com/acme/shop', 'sous.artifact-version': '1.0.0' });
  });

  it('the deploy check passes with a trusted key and refuses with another, only where the cluster requires it', async () => {
    expect(record).toBeDefined();
    const { sous } = await run({ tag: '1.0.0' });
    const otherKey = writeKeyPair({ dir: path.join(dir, 'other'), name: 'x' });
    const check = async (clusterDef: Record<string, unknown>) => {
      const report: VerifyReport = { checks: [], digest: record!.Digest, image: record!.Image };
      await sous.hooks.verifyArtifact.promise({ manifestID: { source: SL, flavor: '' }, cluster: 'east', clusterDef: { Kind: 'memory', ...clusterDef } as never, version: '1.0.0', digest: record!.Digest, image: record!.Image, advisories: [] }, report);
      return report.checks.find((c) => c.name === 'signature');
    };
    expect(await check({ RequireSignature: true, TrustedKeys: [keys.publicKey] })).toMatchObject({ ok: true });
    expect(await check({ RequireSignature: true, TrustedKeys: [fs.readFileSync(keys.publicKey, 'utf8')] })).toMatchObject({ ok: true });
    expect(await check({ RequireSignature: true, TrustedKeys: [otherKey.publicKey] })).toMatchObject({ ok: false, code: 'SIGNATURE_UNTRUSTED' });
    expect(await check({ RequireSignature: true, TrustedKeys: [] })).toMatchObject({ ok: false, code: 'NO_TRUSTED_KEYS' });
    expect(await check({ RequireSignature: false, TrustedKeys: [otherKey.publicKey] })).toBeUndefined();
  });

  it('reuses the image of an earlier build of identical inputs', async () => {
    expect(record).toBeDefined();
    const { attempt, builder } = await run({ tag: '1.0.1', env: { SOUS_SIGNING_KEY: keys.privateKey }, seed: [record!] });
    const r = await attempt;
    expect(r.cachedFrom).toBe(`${record!.Image}@${record!.Digest}`);
    expect(builder.plans[0].dockerfile).toBe(`FROM ${record!.Image}@${record!.Digest}\n`);
    // Gone from the registry: a miss, so the build builds.
    const gone = { ...record!, Digest: `sha256:${'0'.repeat(64)}` };
    expect(await lookupBuilt({ contentKey: record!.ContentKey!, artifacts: [gone], tags: [], plan: builder.plans[0], workspace: {} as never })).toBeUndefined();
  });

  it('without a signing key, skips signing and still pre-caches', async () => {
    const { attempt } = await run({ tag: '1.1.0' });
    const r = await attempt;
    expect(r.signature).toBeUndefined();
    expect(r.precache?.east.Status).toBe('copied');
  });
});

/** Watches the publish hook, and holds the contracts until the image is being published (or 10 s have passed). */
class Overlap implements SousPlugin {
  readonly name = 'test:overlap';
  published: string[][] = [];
  private seen!: () => void;
  private readonly started = new Promise<void>((r) => (this.seen = r));
  constructor(private readonly verdict: 'passed' | 'failed') {}
  apply(sous: Sous): void {
    sous.hooks.publish.tap({ name: this.name, stage: -1 }, (artifact) => {
      this.published.push(artifact.image.tags.map((t) => t.slice(t.lastIndexOf(':') + 1)));
      this.seen();
    });
    sous.hooks.testImage.tapPromise(this.name, async (report) => {
      const overlapped = await Promise.race([this.started.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 10_000))]);
      report.results.push({ name: 'overlap', status: overlapped && this.verdict === 'passed' ? 'passed' : 'failed', durationMs: 1, ...(overlapped ? {} : { message: 'the contracts ran before anything was published' }) });
    });
  }
}

describe('the push and the contracts', () => {
  const tagsIn = async (reg: string) => {
    const r = await fetch(`http://${reg}/v2/github.com/acme/shop/tags/list`);
    return r.status === 200 ? (((await r.json()) as { tags: string[] | null }).tags ?? []) : [];
  };

  it('the image goes up under its revision tag while the contracts run; the version tag follows once they pass', async () => {
    const overlap = new Overlap('passed');
    expect(await tagsIn(A.addr)).not.toContain('1.5.0');
    const { attempt } = await run({ tag: '1.5.0', extra: [overlap] });
    const r = await attempt;
    expect(r.contracts?.map((c) => `${c.Name} ${c.Status}`)).toContain('overlap passed');
    expect(overlap.published).toHaveLength(2);
    expect(overlap.published[0]).toEqual([expect.stringMatching(/^z[0-9a-f]{40}-/)]);
    expect(overlap.published[1]).toEqual(['1.5.0']);
    expect(await tagsIn(A.addr)).toEqual(expect.arrayContaining(['1.5.0', overlap.published[0][0]]));
  });

  it('when a contract fails, the version tag is never written, and nothing is signed or recorded', async () => {
    const overlap = new Overlap('failed');
    const signaturesBefore = (await tagsIn(A.addr)).filter((t) => t.endsWith('.sig'));
    const { attempt, backend } = await run({ tag: '1.6.0', extra: [overlap], env: { SOUS_SIGNING_KEY: keys.privateKey } });
    const e = await refusal(attempt);
    expect(e.code).toBe('CONTRACT_FAILED');
    expect(e.hints.join('\n')).toContain('Nothing was tagged 1.6.0, signed or recorded');
    expect(overlap.published).toHaveLength(1);
    const after = await tagsIn(A.addr);
    expect(after).toContain(overlap.published[0][0]);
    expect(after).not.toContain('1.6.0');
    expect(after.filter((t) => t.endsWith('.sig')).sort()).toEqual(signaturesBefore.sort());
    expect(await backend.artifact(SL, '1.6.0')).toBeUndefined();
  });
});

describe('signing faults fail the build and record nothing', () => {
  it('SIGN_PUSH_REFUSED: the registry refuses the signature', async () => {
    const proxy = await refusingProxy(A.addr, /\.sig$/, 405);
    try {
      const { attempt, backend, builder } = await run({ tag: '1.2.0', registry: proxy.addr, env: { SOUS_SIGNING_KEY: keys.privateKey } });
      const e = await refusal(attempt);
      expect(e.code).toBe('SIGN_PUSH_REFUSED');
      expect(builder.published).toBe(1);
      expect(proxy.refused).toBe(1);
      expect(await backend.artifact(SL, '1.2.0')).toBeUndefined();
      expect(await backend.artifacts(SL)).toEqual([]);
    } finally {
      await proxy.close();
    }
  });

  it('KEY_PASSPHRASE_WRONG before anything is built or pushed', async () => {
    const saved = process.env[PASS];
    process.env[PASS] = 'not the passphrase';
    try {
      const { attempt, backend, builder } = await run({ tag: '1.3.0', env: { SOUS_SIGNING_KEY: keys.privateKey } });
      expect((await refusal(attempt)).code).toBe('KEY_PASSPHRASE_WRONG');
      expect(builder.published).toBe(0);
      expect(await backend.artifact(SL, '1.3.0')).toBeUndefined();
    } finally {
      process.env[PASS] = saved;
    }
  });

  it('KEY_UNREADABLE for a key file that cannot be read', async () => {
    const { attempt, backend, builder } = await run({ tag: '1.4.0', env: { SOUS_SIGNING_KEY: path.join(dir, 'keys', 'missing.key') } });
    expect((await refusal(attempt)).code).toBe('KEY_UNREADABLE');
    expect(builder.published).toBe(0);
    expect(await backend.artifact(SL, '1.4.0')).toBeUndefined();
  });
});
