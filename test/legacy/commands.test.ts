/**
 * The original's commands and flags through the real binary: artifact
 * add/get, harvest, singreqid, plumbing normalizegdm and status, the five
 * advisories, -bool=value, -s -q -d, -dry-run values, update -all, query
 * gdm's attribute filters and -format, query clusters -include-urls.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ReplayServer } from '../helpers/replay-server';
import { pushImage, randomLayer, rmrf, startRegistry, type TestRegistry } from '../helpers/registries';
import { makeSousEnv, requireBuilt, sousSync, sous, type SousEnv } from '../helpers/sous';
import { commitCount, FIXTURES, git, tempDir } from '../helpers/state-repo';
// eslint-disable-next-line @typescript-eslint/no-require-imports
const world = require('../helpers/original-world.js') as typeof import('../helpers/original-world.js');

let registry: TestRegistry;
let replay: ReplayServer | undefined;
beforeAll(async () => {
  requireBuilt();
  registry = await startRegistry(tempDir('sous-cmd18-reg-'));
});
afterAll(async () => {
  await registry.stop();
  rmrf(registry.dir);
});
afterEach(async () => {
  await replay?.close();
  replay = undefined;
});

function env(): SousEnv {
  const e = makeSousEnv(tempDir('sous-cmd18-'));
  expect(sousSync(e, ['cluster', 'add', '--name', 'mem', '--kind', 'memory', '--allow-advisory', 'added artifact']).code).toBe(0);
  expect(sousSync(e, ['cluster', 'add', '--name', 'strict', '--kind', 'memory']).code).toBe(0);
  expect(sousSync(e, ['init', '--kind', 'http-service', '--repo', 'github.com/acme/shop']).code).toBe(0);
  return e;
}

describe('sous artifact add / get', () => {
  it('registers an image built elsewhere, by digest, with the "added artifact" advisory that only allowing clusters deploy', async () => {
    const e = env();
    const img = await pushImage(registry.addr, 'acme/shop', [randomLayer(64)], { tag: '2.0.0', labels: { 'com.opentable.sous.revision': 'c'.repeat(40) } });
    const added = sousSync(e, ['artifact', 'add', '-repo', 'github.com/acme/shop', '-tag', '2.0.0', '-docker-image', `${registry.addr}/acme/shop:2.0.0`, '--json']);
    expect(added.code).toBe(0);
    expect(added.json.artifact).toMatchObject({ Source: 'github.com/acme/shop', Version: '2.0.0', Image: `${registry.addr}/acme/shop`, Digest: img.digest, Revision: 'c'.repeat(40), Advisories: ['added artifact'] });
    const got = sousSync(e, ['artifact', 'get', '-repo', 'github.com/acme/shop', '-tag', '2.0.0', '--json']);
    expect(got.json.artifact.Digest).toBe(img.digest);
    expect(sousSync(e, ['update', '-cluster', 'mem', '-tag', '2.0.0', '-repo', 'github.com/acme/shop']).code).toBe(0);
    const refused = sousSync(e, ['update', '-cluster', 'strict', '-tag', '2.0.0', '-repo', 'github.com/acme/shop', '--json']);
    expect([refused.code, refused.json.error.code]).toEqual([1, 'ADVISORY_NOT_ALLOWED']);
    const again = sousSync(e, ['artifact', 'add', '-repo', 'github.com/acme/shop', '-tag', '2.0.0', '-docker-image', `${registry.addr}/acme/shop:2.0.0`, '--json']);
    expect(again.json.error.code).toBe('ARTIFACT_EXISTS');
  });

  it('refuses an image that does not exist, and an artifact that is not there, writing nothing', () => {
    const e = env();
    const before = commitCount(e.state);
    const missing = sousSync(e, ['artifact', 'add', '--repo', 'github.com/acme/shop', '--tag', '3.0.0', '--docker-image', `${registry.addr}/acme/shop:3.0.0`, '--json']);
    expect([missing.code, missing.json.error.code]).toEqual([1, 'ARTIFACT_IMAGE_NOT_FOUND']);
    const bad = sousSync(e, ['artifact', 'add', '--repo', 'github.com/acme/shop', '--tag', '3.0.0', '--docker-image', 'shop', '--json']);
    expect([bad.code, bad.json.error.code]).toEqual([2, 'ARTIFACT_IMAGE_INVALID']);
    const get = sousSync(e, ['artifact', 'get', '--repo', 'github.com/acme/shop', '--tag', '3.0.0', '--json']);
    expect([get.code, get.json.error.code]).toEqual([1, 'ARTIFACT_NOT_FOUND']);
    expect(commitCount(e.state)).toBe(before);
  });

  it('accepts the five advisories the original knows on clusters', () => {
    const e = makeSousEnv(tempDir('sous-cmd18-'));
    const advisories = ['support container', 'is a build image', 'source workspace lacked repo', 'requested revision not built', 'added artifact'];
    const r = sousSync(e, ['cluster', 'add', '--name', 'all', '--kind', 'memory', ...advisories.flatMap((a) => ['--allow-advisory', a]), '--json']);
    expect(r.code).toBe(0);
    expect(sousSync(e, ['query', 'clusters', '--json']).json.clusters[0].AllowedAdvisories).toEqual(advisories);
  });
});

describe('on a Singularity cluster the original Sous runs', () => {
  async function demo() {
    const img = await pushImage(registry.addr, 'sous-demo', [randomLayer(64)], { tag: '0.1.78', labels: { 'com.opentable.sous.revision': 'a52eb9c11829c94f4baebb7eaa8e5de0aaa53b43', 'com.opentable.sous.advisories': '' } });
    const running = world.originalDeployment({ requestId: world.REQUEST.request.id, cluster: 'sf', repo: 'github.com/opentable/sous-demo', tag: '0.1.78', revision: 'a52eb9c11829c94f4baebb7eaa8e5de0aaa53b43', image: `${registry.addr}/sous-demo@${img.digest}`, cpus: 0.1, memoryMb: 100, numPorts: 1, env: {}, instances: 1, startup: { SkipCheck: true } });
    return { img, running };
  }

  function singularityEnv(url: string, version?: string): SousEnv {
    const e = makeSousEnv(tempDir('sous-cmd18-'));
    expect(sousSync(e, ['cluster', 'add', '--name', 'sf', '--kind', 'singularity', '--base-url', `${url}/sf`, '--registry', registry.addr]).code).toBe(0);
    if (version) {
      const manifest = `Source: github.com/opentable/sous-demo\nOwners: []\nKind: http-service\nDeployments:\n  sf:\n    NumInstances: 1\n    Startup:\n      SkipCheck: true\n    Version: ${version}\n`;
      expect(sousSync(e, ['manifest', 'set', '--repo', 'github.com/opentable/sous-demo'], { stdin: manifest }).code).toBe(0);
    }
    return e;
  }

  it('harvest records what runs as artifacts, with the revision from the labels; a second harvest finds them known', async () => {
    const { img, running } = await demo();
    replay = await ReplayServer.start({ description: 'sous-demo running', api: 'Singularity', exchanges: [...world.readExchanges({ '/sf': [running] }), ...world.readExchanges({ '/sf': [running] })] });
    const e = singularityEnv(replay.url);
    const first = await sous(e, ['harvest', '-cluster', 'sf', '--json']);
    expect(first.stderr).not.toMatch(/Error/);
    expect(first.json.recorded).toEqual([expect.objectContaining({ Source: 'github.com/opentable/sous-demo', Version: '0.1.78+a52eb9c11829c94f4baebb7eaa8e5de0aaa53b43', Digest: img.digest, Image: `${registry.addr}/sous-demo`, Revision: 'a52eb9c11829c94f4baebb7eaa8e5de0aaa53b43' })]);
    const second = await sous(e, ['harvest', '-cluster', 'sf', '--json']);
    expect(second.json).toMatchObject({ recorded: [], known: ['github.com/opentable/sous-demo@0.1.78+a52eb9c11829c94f4baebb7eaa8e5de0aaa53b43'] });
    replay.verify();
  });

  it('plumbing status says a deployment runs what the GDM asks (exit 0), and not when it does not (exit 3)', async () => {
    const { running } = await demo();
    replay = await ReplayServer.start({ description: 'sous-demo running', api: 'Singularity', exchanges: [...world.readExchanges({ '/sf': [running] }), ...world.readExchanges({ '/sf': [running] })] });
    const settled = singularityEnv(replay.url, '0.1.78+a52eb9c11829c94f4baebb7eaa8e5de0aaa53b43');
    const ok = await sous(settled, ['plumbing', 'status', '-cluster', 'sf', '-repo', 'github.com/opentable/sous-demo', '--json']);
    expect([ok.code, ok.json.status, ok.json.running.status]).toEqual([0, 'settled', 'Active']);
    const ahead = singularityEnv(replay.url, '0.1.78+a52eb9c11829c94f4baebb7eaa8e5de0aaa53b43');
    const m = path.join(ahead.state, 'manifests/github.com/opentable/sous-demo.yaml');
    fs.writeFileSync(m, fs.readFileSync(m, 'utf8').replace('NumInstances: 1', 'NumInstances: 2'));
    git(ahead.state, '-c', 'user.name=T', '-c', 'user.email=t@example.com', 'commit', '-qam', 'two');
    const not = await sous(ahead, ['plumbing', 'status', '-cluster', 'sf', '-repo', 'github.com/opentable/sous-demo', '--json']);
    expect([not.code, not.json.status, not.json.pending.kind]).toEqual([3, 'not settled', 'scale']);
    replay.verify();
  });
});

describe('singreqid and plumbing normalizegdm on the original GDM', () => {
  function originalEnv(): SousEnv {
    const e = makeSousEnv(tempDir('sous-cmd18-'));
    fs.cpSync(path.join(FIXTURES, 'original/ext/storage/testdata/in'), e.state, { recursive: true });
    git(e.state, 'init', '-q', '-b', 'main');
    git(e.state, 'add', '-A');
    git(e.state, '-c', 'user.name=O', '-c', 'user.email=o@example.com', 'commit', '-qm', 'original');
    return e;
  }

  it("prints the manifest's request ID, or the one derived as the original did", () => {
    const e = originalEnv();
    expect(sousSync(e, ['singreqid', '-repo', 'github.com/opentable/sous', '-cluster', 'cluster-1']).stdout.trim()).toBe('service1-cluster1');
    const m = path.join(e.state, 'manifests/github.com/user/project.yaml');
    fs.writeFileSync(m, fs.readFileSync(m, 'utf8').replace('    SingularityRequestID: service2-cluster1\n', ''));
    git(e.state, '-c', 'user.name=O', '-c', 'user.email=o@example.com', 'commit', '-qam', 'no id');
    const derived = sousSync(e, ['singreqid', '-repo', 'github.com/user/project', '-cluster', 'cluster-1', '--json']);
    expect(derived.json).toMatchObject({ named: false, requestID: expect.stringMatching(/^project---cluster_1-[0-9a-f]{32}$/) });
    const none = sousSync(e, ['singreqid', '-repo', 'github.com/user/project', '-cluster', 'nowhere', '--json']);
    expect([none.code, none.json.error.code]).toEqual([2, 'DEPLOYMENT_NOT_FOUND']);
  });

  it('rewrites the GDM canonically in one commit, and then has nothing to do', () => {
    const e = originalEnv();
    const before = commitCount(e.state);
    const r = sousSync(e, ['plumbing', 'normalizegdm', '--json']);
    expect([r.code, r.json.changed, r.json.manifests]).toEqual([0, true, 2]);
    expect(commitCount(e.state)).toBe(before + 1);
    expect(git(e.state, 'diff', '--stat', 'HEAD~1', 'HEAD')).toMatch(/files? changed/);
    expect(git(e.state, 'log', '-1', '--format=%s')).toBe('Normalize the GDM');
    expect(sousSync(e, ['plumbing', 'normalizegdm', '--json']).json.changed).toBe(false);
    expect(commitCount(e.state)).toBe(before + 1);
  });
});

describe("the original's flags", () => {
  it('takes -bool=value, -s -q -d, -dry-run values, update -all, query gdm filters and -format, query clusters -include-urls', async () => {
    const e = env();
    expect(sousSync(e, ['manifest', 'get', '-repo', 'github.com/acme/shop']).code).toBe(0);
    const gdm = sousSync(e, ['query', 'gdm', '-zeroinstances=false', '-hasowners=false', '-hasimage', 'false', '--json']);
    expect(gdm.json.deployments.map((d: { deploymentID: string }) => d.deploymentID)).toEqual(['mem:github.com/acme/shop', 'strict:github.com/acme/shop']);
    expect(sousSync(e, ['query', 'gdm', '-zeroinstances=true', '--json']).json.deployments).toEqual([]);
    const asJSON = sousSync(e, ['query', 'gdm', '-format', 'json']);
    expect(JSON.parse(asJSON.stdout)).toHaveLength(2);
    expect(sousSync(e, ['query', 'gdm', '-format', 'yaml', '--json']).json.error.code).toBe('INVALID_FLAG_VALUE');
    const clusters = sousSync(e, ['query', 'clusters', '-include-urls', '--json']);
    expect(clusters.json.clusters.map((c: { name: string; url: string | null }) => [c.name, c.url])).toEqual([['mem', null], ['strict', null]]);
    for (const v of ['none', 'scheduler', 'registry', 'both']) expect([v, sousSync(e, ['rectify', '-all', `-dry-run=${v}`, '--json']).code]).toEqual([v, 0]);
    expect(sousSync(e, ['rectify', '-all', '-dry-run', '--json']).json.plan).toBeDefined();
    expect(sousSync(e, ['rectify', '-all', '-dry-run=maybe', '--json']).code).toBe(2);
    const bool = sousSync(e, ['deploy', '-cluster', 'mem', '-tag', '1.0.0', '-repo', 'github.com/acme/shop', '-wait-stable=perhaps', '--json']);
    expect([bool.code, bool.json.error.message]).toEqual([2, expect.stringContaining('-wait-stable takes true or false')]);

    const img = await pushImage(registry.addr, 'acme/shop', [randomLayer(64)], { tag: '4.0.0' });
    expect(sousSync(e, ['artifact', 'add', '-repo', 'github.com/acme/shop', '-tag', '4.0.0', '-docker-image', `${registry.addr}/acme/shop@${img.digest}`]).code).toBe(0);
    const noCluster = sousSync(e, ['update', '-tag', '4.0.0', '-repo', 'github.com/acme/shop', '--json']);
    expect(noCluster.json.error.code).toBe('NO_CLUSTER');
    // -all: mem allows "added artifact", strict does not: mem is updated, then strict refuses.
    const all = sousSync(e, ['update', '-all', '-tag', '4.0.0', '-repo', 'github.com/acme/shop']);
    expect(all.code).toBe(1);
    expect(all.stdout).toContain('mem:github.com/acme/shop now asks for 4.0.0');
    expect(all.stderr).toContain('ADVISORY_NOT_ALLOWED');
    // -wait-stable=false: the GDM only; -dry-run scheduler likewise.
    const noWait = sousSync(e, ['deploy', '-cluster', 'mem', '-tag', '4.0.0', '-repo', 'github.com/acme/shop', '-wait-stable=false', '-dry-run', 'scheduler', '--json']);
    expect([noWait.code, noWait.json.status]).toEqual([0, 'requested']);

    // -d shows debug logs, -q and -s hide warnings.
    fs.mkdirSync(path.join(e.config, 'sous'), { recursive: true });
    fs.writeFileSync(path.join(e.config, 'sous', 'config.yaml'), 'StateLocation: ""\nSomeLegacyThing: x\n');
    expect(sousSync(e, ['query', 'gdm']).stderr).toContain('SomeLegacyThing (unknown)');
    const legacyVar = { env: { SOUS_SLACK_HOOK_URL: 'https://hooks.example.com/x' } };
    expect(sousSync(e, ['query', 'gdm'], legacyVar).stderr).toContain('SOUS_SLACK_HOOK_URL is not used here');
    expect(sousSync(e, ['query', 'gdm', '-s'], legacyVar).stderr).toBe('');
    expect(sousSync(e, ['query', 'gdm', '-q'], legacyVar).stderr).toBe('');
    // -d is --debug: a stack trace under the error.
    expect(sousSync(e, ['artifact', 'get', '-repo', 'github.com/acme/shop', '-tag', 'notsemver', '-d']).stderr).toMatch(/at parseVersion/);
    expect(sousSync(e, ['artifact', 'get', '-repo', 'github.com/acme/shop', '-tag', 'notsemver']).stderr).not.toMatch(/at parseVersion/);
  });
});
