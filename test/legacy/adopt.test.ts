/**
 * Taking over a Singularity cluster the original Sous runs, with the
 * original's own GDM (test/fixtures/original/ext/storage/testdata/in) and
 * requests built from its own Singularity test data (request.json,
 * deployhistory.json; see test/helpers/original-world.js): the real `sous`
 * binary plans no change, `sous rectify` pins the digests in one commit and
 * deploys nothing; a version whose image is gone is reported, the others
 * adopted.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ReplayServer, type Recording } from '../helpers/replay-server';
import { pushImage, randomLayer, rmrf, startRegistry, type TestRegistry } from '../helpers/registries';
import { makeSousEnv, requireBuilt, sous, type SousEnv } from '../helpers/sous';
import { commitCount, FIXTURES, git, tempDir } from '../helpers/state-repo';
// eslint-disable-next-line @typescript-eslint/no-require-imports
const world = require('../helpers/original-world.js') as typeof import('../helpers/original-world.js');

const ORIGINAL_GDM = path.join(FIXTURES, 'original/ext/storage/testdata/in');
const REV_SOUS = 'deadbeef0123456789abcdef0123456789abcdef';
const DIGEST = (c: string) => `sha256:${c.repeat(64)}`;

let replay: ReplayServer | undefined;
let registry: TestRegistry | undefined;
beforeAll(() => requireBuilt());
afterEach(async () => {
  await replay?.close();
  replay = undefined;
});
afterAll(async () => {
  if (registry) {
    await registry.stop();
    rmrf(registry.dir);
  }
});

/** The original's GDM as a git state repository, its clusters' BaseURLs (and, when given, DockerRepo) pointed at the test's servers. */
function originalState(e: SousEnv, url: string, dockerRepo?: string): void {
  fs.cpSync(ORIGINAL_GDM, e.state, { recursive: true });
  const defs = path.join(e.state, 'defs.yaml');
  let text = fs.readFileSync(defs, 'utf8').replace('http://singularity.example.com', `${url}/cluster-1`).replace('http://some.singularity.cluster', `${url}/other-cluster`);
  if (dockerRepo) text = text.replace('docker.somewhere.horse', dockerRepo);
  fs.writeFileSync(defs, text);
  git(e.state, 'init', '-q', '-b', 'main');
  git(e.state, 'add', '-A');
  git(e.state, '-c', 'user.name=Original', '-c', 'user.email=o@example.com', 'commit', '-q', '-m', 'The original Sous state');
}

/** What the original deployed for github.com/opentable/sous from that GDM (1.0.0-rc.1+deadbeef). */
function sousOn(cluster: string, requestId: string, instances: number, failureStatuses?: number[], n = 1) {
  return world.originalDeployment({
    requestId,
    cluster,
    repo: 'github.com/opentable/sous',
    tag: '1.0.0-rc.1',
    revision: REV_SOUS,
    image: `docker.somewhere.horse/sous@${DIGEST(String(n))}`,
    cpus: 0.1,
    memoryMb: 2048,
    numPorts: 1,
    env: { SOME_DB_URL: 'https://some.database' },
    instances,
    owners: ['Judson', 'Sam'],
    startup: { CheckReadyProtocol: 'HTTPS', CheckReadyURIPath: '/health', CheckReadyFailureStatuses: failureStatuses },
    n,
  });
}

function recording(description: string, exchanges: Recording['exchanges']): Recording {
  return { description, api: 'Singularity REST API (GET /api/requests, /api/history/request/{id}/deploys, /api/history/request/{id}/deploy/{deployId})', source: 'test/helpers/original-world.js: the original Sous\'s ext/singularity/testdata, modelled', exchanges };
}

const originalCluster = () =>
  world.readExchanges({
    '/cluster-1': [sousOn('cluster-1', 'service1-cluster1', 6)],
    '/other-cluster': [sousOn('other-cluster', 'service1-other-cluster', 3, [500, 503], 2)],
  });

describe('adopting what the original Sous runs on Singularity', () => {
  it('plans no change for the original GDM, and a rectify pins the running digests in one commit without deploying', async () => {
    replay = await ReplayServer.start(recording('the original GDM against what it deployed', originalCluster()));
    const e = makeSousEnv(tempDir('sous-adopt18-'));
    originalState(e, replay.url);
    const before = commitCount(e.state);

    const planned = await sous(e, ['plan', '--all', '--json']);
    expect(planned.stderr).not.toMatch(/Error/);
    expect(planned.code).toBe(0);
    expect(planned.json.plan.actions).toEqual([]);
    expect(planned.json.plan.errors).toEqual([]);
    expect(planned.json.plan.unchanged).toEqual(['cluster-1:github.com/opentable/sous', 'cluster-1:github.com/user/project', 'other-cluster:github.com/opentable/sous', 'other-cluster:github.com/user/project']);
    expect(planned.json.plan.pins).toEqual([
      { deploymentID: 'cluster-1:github.com/opentable/sous', cluster: 'cluster-1', manifestID: 'github.com/opentable/sous', version: '1.0.0-rc.1+deadbeef', digest: DIGEST('1'), image: 'docker.somewhere.horse/sous', from: 'running' },
      { deploymentID: 'other-cluster:github.com/opentable/sous', cluster: 'other-cluster', manifestID: 'github.com/opentable/sous', version: '1.0.0-rc.1+deadbeef', digest: DIGEST('2'), image: 'docker.somewhere.horse/sous', from: 'running' },
    ]);
    expect(commitCount(e.state)).toBe(before);
    replay.verify();
    await replay.close();

    // The rectify reads the same cluster again: nothing to deploy, one commit with the digests.
    replay = await ReplayServer.start(recording('the same, for the rectify', originalCluster()));
    fs.writeFileSync(path.join(e.state, 'defs.yaml'), fs.readFileSync(path.join(e.state, 'defs.yaml'), 'utf8').replace(/http:\/\/127\.0\.0\.1:\d+/g, replay.url));
    git(e.state, '-c', 'user.name=Original', '-c', 'user.email=o@example.com', 'commit', '-qam', 'The test\'s replay moved');
    const rectified = await sous(e, ['rectify', '--all', '--json']);
    expect(rectified.stderr).not.toMatch(/Error/);
    expect(rectified.code).toBe(0);
    expect(rectified.json.outcomes).toEqual([]);
    expect(commitCount(e.state)).toBe(before + 2);
    expect(git(e.state, 'log', '-1', '--format=%s')).toBe('Pin the image digests of 2 deployment(s) whose versions had none, found from the running deploys');
    const diff = git(e.state, 'diff', 'HEAD~1', 'HEAD', '--unified=0', '--', 'manifests');
    expect(diff.split('\n').filter((l) => /^[-+] /.test(l))).toEqual([`+    Digest: ${DIGEST('1')}`, '+    Image: docker.somewhere.horse/sous', `+    Digest: ${DIGEST('2')}`, '+    Image: docker.somewhere.horse/sous']);
    replay.verify();
  });

  it('takes the request of the original\'s request.json as the GDM\'s X+revision, and the GDM\'s Metadata (never sent by the original) forces no redeploy', async () => {
    const settled = world.originalDeployment({
      requestId: world.REQUEST.request.id,
      cluster: 'dev-ci-sf',
      repo: 'github.com/opentable/sous-demo',
      tag: '0.1.78',
      revision: 'a52eb9c11829c94f4baebb7eaa8e5de0aaa53b43',
      image: world.HISTORY.deploy.containerInfo.docker.image,
      cpus: 0.1,
      memoryMb: 100,
      numPorts: 1,
      env: world.HISTORY.deploy.env,
      instances: 1,
      deployId: world.HISTORY.deploy.id,
      startup: { ConnectDelay: 60, Timeout: 10, ConnectInterval: 1, CheckReadyInterval: 1, CheckReadyURITimeout: 5, CheckReadyRetries: 120, CheckReadyFailureStatuses: [500, 503] },
    });
    // The deploy is the original's deployhistory.json one, field for field, only settled.
    expect(settled.history.deploy).toEqual(world.HISTORY.deploy);
    replay = await ReplayServer.start(recording('sous-demo as the original left it', world.readExchanges({ '/sf': [settled] })));
    const e = makeSousEnv(tempDir('sous-adopt18-'));
    fs.mkdirSync(path.join(e.state, 'manifests/github.com/opentable'), { recursive: true });
    fs.writeFileSync(
      path.join(e.state, 'defs.yaml'),
      `DockerRepo: docker.otenv.com\nClusters:\n  dev-ci-sf:\n    Kind: singularity\n    BaseURL: ${replay.url}/sf\n    Env:\n      OT_DISCO_INIT_URL: discovery-ci-sf.otenv.com\n      OT_ENV: dev-ci-sf\n      OT_ENV_LOCATION: sf\n      OT_ENV_TYPE: ci\n    Startup:\n      ConnectDelay: 60\n      Timeout: 10\n      ConnectInterval: 1\n      CheckReadyProtocol: HTTP\n      CheckReadyURIPath: /health\n      CheckReadyFailureStatuses:\n      - 500\n      - 503\n      CheckReadyURITimeout: 5\n      CheckReadyInterval: 1\n      CheckReadyRetries: 120\n    AllowedAdvisories: []\n`,
    );
    fs.writeFileSync(
      path.join(e.state, 'manifests/github.com/opentable/sous-demo.yaml'),
      `Source: github.com/opentable/sous-demo\nOwners: []\nKind: http-service\nDeployments:\n  dev-ci-sf:\n    Resources:\n      cpus: "0.1"\n      memory: "100"\n      ports: "1"\n    Metadata:\n      team: demo\n    Env: {}\n    NumInstances: 1\n    Volumes: []\n    Startup: {}\n    Schedule: ""\n    SingularityRequestID: ${world.REQUEST.request.id}\n    Version: 0.1.78+a52eb9c11829c94f4baebb7eaa8e5de0aaa53b43\n`,
    );
    git(e.state, 'init', '-q', '-b', 'main');
    git(e.state, 'add', '-A');
    git(e.state, '-c', 'user.name=Original', '-c', 'user.email=o@example.com', 'commit', '-q', '-m', 'The original Sous state');
    const planned = await sous(e, ['plan', '--all', '--json']);
    expect(planned.stderr).not.toMatch(/Error/);
    expect(planned.json.plan).toMatchObject({ actions: [], unchanged: ['dev-ci-sf:github.com/opentable/sous-demo'], errors: [] });
    expect(planned.json.plan.pins).toMatchObject([{ from: 'running', digest: world.HISTORY.deploy.containerInfo.docker.image.split('@')[1], image: 'docker.otenv.com/sous-demo' }]);
    replay.verify();
  });

  it('finds a missing digest in the registry by the version tag, checks the revision label, and reports a version whose image is gone while adopting the rest', async () => {
    registry = await startRegistry(tempDir('sous-adopt18-reg-'));
    // project 0.3.1-beta+b4d455ee is to run on cluster-1 (an instance more than the original GDM asks), its image under the original's name.
    const good = await pushImage(registry.addr, 'user/project', [randomLayer(64)], { tag: '0.3.1-beta', labels: { 'com.opentable.sous.revision': 'b4d455ee99887766554433221100ffeeddccbbaa' } });
    replay = await ReplayServer.start(recording('the original GDM, project not running yet', originalCluster()));
    const e = makeSousEnv(tempDir('sous-adopt18-'));
    originalState(e, replay.url, registry.addr);
    const project = path.join(e.state, 'manifests/github.com/user/project.yaml');
    // Both deployments of project get an instance; other-cluster's names a version whose image is gone.
    fs.writeFileSync(project, fs.readFileSync(project, 'utf8').replace(/NumInstances: 0/g, 'NumInstances: 1').replace(/(other-cluster:[\s\S]*)0\.3\.1-beta\+b4d455ee/, '$10.3.2+0badc0de'));
    git(e.state, '-c', 'user.name=Original', '-c', 'user.email=o@example.com', 'commit', '-qam', 'project: one instance');
    const head = git(e.state, 'rev-parse', 'HEAD');

    const planned = await sous(e, ['plan', '--all', '--json']);
    // The plan is incomplete (exit 1, PLAN_INCOMPLETE) for the one deployment; the rest is planned.
    expect(planned.code).toBe(1);
    expect(planned.json.error).toMatchObject({ code: 'PLAN_INCOMPLETE', message: expect.stringContaining('other-cluster:github.com/user/project') });
    const plan = planned.json.plan;
    expect(plan.actions.map((a: { kind: string; deploymentID: string }) => [a.kind, a.deploymentID])).toEqual([['create', 'cluster-1:github.com/user/project']]);
    expect(plan.actions[0].post.spec).toMatchObject({ Digest: good.digest, Image: `${registry.addr}/user/project`, Version: '0.3.1-beta+b4d455ee' });
    expect(plan.pins.map((p: { deploymentID: string; from: string }) => [p.deploymentID, p.from])).toEqual([
      ['cluster-1:github.com/opentable/sous', 'running'],
      ['cluster-1:github.com/user/project', 'registry'],
      ['other-cluster:github.com/opentable/sous', 'running'],
    ]);
    expect(plan.errors).toEqual([
      expect.objectContaining({ cluster: 'other-cluster', deploymentID: 'other-cluster:github.com/user/project', code: 'IMAGE_NOT_FOUND', message: expect.stringContaining(`${registry.addr}/user/project:0.3.2 does not exist`) }),
    ]);
    expect(git(e.state, 'rev-parse', 'HEAD')).toBe(head);
    replay.verify();

    // An image of that tag built from another revision is not taken for it.
    await pushImage(registry.addr, 'user/project', [randomLayer(64)], { tag: '0.3.2', labels: { 'com.opentable.sous.revision': '1111111111111111111111111111111111111111' } });
    await replay.close();
    replay = await ReplayServer.start(recording('again', originalCluster()));
    fs.writeFileSync(path.join(e.state, 'defs.yaml'), fs.readFileSync(path.join(e.state, 'defs.yaml'), 'utf8').replace(/http:\/\/127\.0\.0\.1:\d+/g, replay.url));
    git(e.state, '-c', 'user.name=Original', '-c', 'user.email=o@example.com', 'commit', '-qam', 'The test\'s replay moved');
    const again = await sous(e, ['plan', '--all']);
    expect(again.code).toBe(1);
    expect(again.stdout).toContain('other-cluster:github.com/user/project: no image of version 0.3.2+0badc0de found');
    expect(again.stdout).toContain('was built from revision 1111111111111111111111111111111111111111, not 0badc0de');
    expect(again.stdout).toContain('[IMAGE_NOT_FOUND]');
    replay.verify();
  });
});
