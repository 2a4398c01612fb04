/**
 * Contracts through the real `sous` binary: a build whose image fails its
 * contracts pushes and records nothing; `sous test` runs the contracts again
 * on a version already built (pulling it by digest when the engine lacks it)
 * and changes nothing in the GDM.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { MANIFEST_ACCEPT } from '../packages/plugin-docker/src/registry';
import { testEngine, type TestEngine } from '../packages/plugin-docker/src/testing/engine';
import { contractContainers } from './fixtures/contracts/images';
import { gitIn as git } from './helpers/git-remote';
import { makeSousEnv, requireBuilt, sous, type SousEnv } from './helpers/sous';

const APP = path.join(__dirname, 'fixtures/contracts/apps/scripted');

let eng: TestEngine;
let tmp: string;
let env: SousEnv;
let repoDir: string;
let repoName: string;

async function manifestStatus(name: string, ref: string): Promise<number> {
  const res = await fetch(`http://${eng.registry}/v2/${name}/manifests/${ref}`, { method: 'HEAD', headers: { Accept: MANIFEST_ACCEPT } });
  return res.status;
}

/** Commits the app with /health answering `status`, tags it, and marks it pushed. */
function release(version: string, healthStatus: number): void {
  const dockerfile = fs.readFileSync(path.join(APP, 'Dockerfile'), 'utf8').replace(/^USER /m, `ENV HEALTH_STATUS=${healthStatus}\nUSER `);
  fs.writeFileSync(path.join(repoDir, 'Dockerfile'), dockerfile);
  git(repoDir, 'add', '-A');
  git(repoDir, 'commit', '-q', '-m', `release ${version}`);
  git(repoDir, 'tag', version);
  git(repoDir, 'update-ref', 'refs/remotes/origin/main', 'HEAD');
}

const run = (args: string[]) => sous(env, args, { cwd: repoDir, env: { SOUS_DOCKER_REGISTRY_HOST: eng.registry, DOCKER_HOST: eng.dockerHost } });
const leftContainers = async () => (await contractContainers(eng.docker)).filter((c) => (c.Labels['dev.sous.contracts.image'] ?? '').includes(repoName));

beforeAll(async () => {
  requireBuilt();
  eng = await testEngine();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sous-contracts-cli-'));
  env = makeSousEnv(tmp);
  repoName = `github.com/sous-test/contracts-${eng.run}`;
  repoDir = path.join(tmp, 'repo');
  fs.mkdirSync(repoDir);
  for (const f of ['serve.sh', 'handler.sh']) fs.copyFileSync(path.join(APP, f), path.join(repoDir, f));
  // The repository's own config: a short startup timeout keeps the failing build quick.
  fs.writeFileSync(path.join(repoDir, 'sous.config.ts'), 'export default { contracts: { startupTimeout: 2, gracePeriod: 3 } };\n');
  git(repoDir, 'init', '-q', '-b', 'main');
  git(repoDir, 'remote', 'add', 'origin', `https://${repoName}.git`);
}, 120_000);

afterAll(async () => {
  if (!eng) return;
  const images = await eng.docker.listImages({ filters: JSON.stringify({ reference: [`${eng.registry}/${repoName}`] }) });
  for (const img of images) {
    for (const ref of img.RepoTags ?? []) {
      const res = await fetch(`http://${eng.registry}/v2/${repoName}/manifests/${ref.slice(ref.lastIndexOf(':') + 1)}`, { method: 'HEAD', headers: { Accept: MANIFEST_ACCEPT } }).catch(() => undefined);
      const digest = res?.headers.get('docker-content-digest');
      if (digest) await fetch(`http://${eng.registry}/v2/${repoName}/manifests/${digest}`, { method: 'DELETE' }).catch(() => undefined);
    }
    await eng.docker.getImage(img.Id).remove({ force: true }).catch(() => undefined);
  }
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('sous build of an image that fails its contracts', () => {
  it('exits 1 with CONTRACT_FAILED, shows the results, and pushes and records nothing', async () => {
    release('1.0.0', 500);
    const r = await run(['build', '--tag', '1.0.0']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/Error: 1 contract\(s\) failed: readiness: expected \/health answers 2xx within 2s, got 500 \(last of \d+ tries\)  \[CONTRACT_FAILED\]/);
    // The table under the test phase, then the failure with the container's logs.
    expect(r.stderr).toMatch(/^readiness +failed +[\d.]+m?s +\/health answers 2xx within 2s +500 \(last of \d+ tries\)$/m);
    expect(r.stderr).toContain('FAILED readiness: NOT_READY: http://127.0.0.1:');
    expect(r.stderr).toContain('    | scripted app starting (mode=serve)');

    expect(await manifestStatus(repoName, '1.0.0')).toBe(404);
    // The state exists (the build read it) and holds no record of the version.
    expect(git(env.state, 'ls-tree', '-r', '--name-only', 'HEAD').split('\n').filter((f) => f.includes(repoName))).toEqual([]);
    expect(await leftContainers()).toEqual([]);
  });

  it('gives the results, codes and logs in the error details with --json', async () => {
    const r = await run(['build', '--tag', '1.0.0', '--json']);
    expect(r.code).toBe(1);
    expect(r.json.error.code).toBe('CONTRACT_FAILED');
    const readiness = r.json.error.details.contracts.find((c: { name: string }) => c.name === 'readiness');
    expect(readiness).toMatchObject({ status: 'failed', code: 'NOT_READY', expected: '/health answers 2xx within 2s' });
    expect(readiness.logs).toContain('scripted app starting (mode=serve)');
    expect(await manifestStatus(repoName, '1.0.0')).toBe(404);
  });
});

describe('sous test', () => {
  let digest: string;
  let stateHead: string;

  beforeAll(async () => {
    release('1.1.0', 200);
    const r = await run(['build', '--tag', '1.1.0', '--json']);
    expect(r.stderr).not.toMatch(/Error:/);
    expect(r.code).toBe(0);
    digest = r.json.digest;
    stateHead = git(env.state, 'rev-parse', 'HEAD');
  }, 120_000);

  it('runs the contracts again on a version already built, and changes nothing in the GDM', async () => {
    const r = await run(['test', '--tag', '1.1.0']);
    expect(r.stderr).not.toMatch(/Error:/);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`Testing ${repoName} 1.1.0 (${eng.registry}/${repoName}@${digest}) as http-service`);
    expect(r.stdout).toMatch(/^readiness +passed .* \/health answers 2xx within 2s +200 after /m);
    expect(r.stdout).toMatch(/^stops-on-sigterm +passed /m);
    expect(git(env.state, 'rev-parse', 'HEAD')).toBe(stateHead);
    expect(await leftContainers()).toEqual([]);
  });

  it('pulls the image by digest when the engine does not have it, and returns the results with --json', async () => {
    const ref = `${eng.registry}/${repoName}`;
    for (const img of await eng.docker.listImages({ filters: JSON.stringify({ reference: [ref] }) })) await eng.docker.getImage(img.Id).remove({ force: true });
    expect(await eng.docker.listImages({ filters: JSON.stringify({ reference: [ref] }) })).toEqual([]);
    const r = await run(['test', '--tag', '1.1.0', '--json']);
    expect(r.code).toBe(0);
    expect(r.json).toMatchObject({ source: repoName, version: '1.1.0', reference: `${ref}@${digest}`, kind: 'http-service' });
    expect(r.json.contracts.map((c: { name: string; status: string }) => [c.name, c.status])).toEqual([
      ['image-labels', 'passed'],
      ['non-root-user', 'passed'],
      ['port-answers-http', 'passed'],
      ['readiness', 'passed'],
      ['stops-on-sigterm', 'passed'],
    ]);
    expect((await eng.docker.getImage(`${ref}@${digest}`).inspect()).RepoDigests).toContain(`${ref}@${digest}`);
    expect(git(env.state, 'rev-parse', 'HEAD')).toBe(stateHead);
  });

  it('exits 1 with CONTRACT_FAILED when a contract of the current config fails', async () => {
    const config = fs.readFileSync(path.join(repoDir, 'sous.config.ts'), 'utf8');
    try {
      fs.writeFileSync(path.join(repoDir, 'sous.config.ts'), "export default { contracts: { http: [{ name: 'hello', path: '/hello', headers: { 'X-Token': 'wrong' } }] } };\n");
      const r = await run(['test', '--tag', '1.1.0', '--json']);
      expect(r.code).toBe(1);
      expect(r.json.error).toMatchObject({ code: 'CONTRACT_FAILED', details: { version: '1.1.0', codes: ['CONTRACT_HTTP_STATUS'] } });
      expect(r.json.error.details.contracts.find((c: { name: string }) => c.name === 'http:hello')).toMatchObject({ status: 'failed', expected: '2xx within 5s', actual: '401 no token' });
      expect(git(env.state, 'rev-parse', 'HEAD')).toBe(stateHead);
    } finally {
      fs.writeFileSync(path.join(repoDir, 'sous.config.ts'), config);
    }
  });

  it('exits 2 with ARTIFACT_NOT_FOUND for a version never built', async () => {
    const r = await run(['test', '--tag', '1.0.0']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`Error: ${repoName} 1.0.0 was never built: the artifact index has no record of it  [ARTIFACT_NOT_FOUND]`);
    expect(r.stderr).toContain('Try this: Build it first: sous build --tag 1.0.0');
  });

  it('refuses a contracts config with an unknown key, with a did-you-mean hint', async () => {
    const config = fs.readFileSync(path.join(repoDir, 'sous.config.ts'), 'utf8');
    try {
      fs.writeFileSync(path.join(repoDir, 'sous.config.ts'), 'export default { contracts: { startupTimeot: 5 } };\n');
      const r = await run(['test', '--tag', '1.1.0']);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/contracts: startupTimeot: unknown key "startupTimeot"  \[CONTRACTS_UNKNOWN_KEY\]/);
      expect(r.stderr).toContain('Try this: did you mean "startupTimeout"?');
    } finally {
      fs.writeFileSync(path.join(repoDir, 'sous.config.ts'), config);
    }
  });
});
