/**
 * Pushing a semver tag to the hosted remote (git daemon on 127.0.0.1, whose
 * post-receive hook sends GitHub's signed push and create webhooks) is all it
 * takes: the real `sous server` builds the tag with the real engine, pushes
 * and signs the image in the registry, records it, tells the tagger through
 * a webhook notifier, and auto-deploys where a manifest and its cluster allow.
 */
import { Gdm, parseSourceLocation } from '@sous/core';
import { verifyImageSignature } from '@sous/plugin-sign';
import { api, realArtifact } from './helpers/server';
import { sous } from './helpers/sous';
import { makeWorld, until, USER, type World } from './helpers/tag-world';

jest.setTimeout(300_000);

const TAGGER = { name: 'Tess Tagger', email: 'tess@example.com' };
let w: World;

beforeAll(async () => {
  w = await makeWorld({
    name: 'hook',
    clusters: {
      staging: { Kind: 'memory', AllowAutoDeploy: true, deploy: { AutoDeploy: '>=1.0.0-0' } },
      prod: { Kind: 'memory', deploy: { AutoDeploy: '>=1.0.0' } },
    },
  });
  await w.start();
}, 180_000);

afterAll(async () => {
  if (w) await w.destroy();
});

const ready = (version: string) => until(() => w.events.find((e) => e.type === 'artifact.ready' && e.version === version), 180_000, `artifact.ready ${version}`);

describe('a pushed semver tag', () => {
  let job: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  let commit: string;

  it('becomes a signed image in the registry and an artifact.ready for its tagger, with nothing else done', async () => {
    commit = w.tag('1.0.0', TAGGER);
    w.push('1.0.0');
    const event = await ready('1.0.0');

    expect(event.user).toEqual(TAGGER);
    const started = w.events.find((e) => e.type === 'build.started' && e.version === '1.0.0');
    expect(started?.user).toEqual(TAGGER);
    expect(w.forged).toBe(0);

    const digest = event.digest as string;
    expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(await w.digestOf('1.0.0')).toBe(digest);
    const sig = await verifyImageSignature({ image: `${w.eng.registry}/${w.imageRepo}@${digest}`, keys: [w.keys.publicKey] });
    expect(sig.digest).toBe(digest);
    expect(sig.signatures.map((x) => x.keyId)).toContain(w.keys.keyId);

    const gdm = await Gdm.open(w.env.state, { user: USER });
    const record = await gdm.artifact(parseSourceLocation(w.repo), '1.0.0');
    expect(record).toMatchObject({ Digest: digest, Revision: commit, Deployable: true });

    // GitHub sent both a push and a create for the tag: one job.
    const deliveries = w.remote.deliveries('shop').filter((d) => d.ref === 'refs/tags/1.0.0');
    expect(deliveries.map((d) => [d.event, d.status])).toEqual([
      ['push', 202],
      ['create', 202],
    ]);
    const jobs = await until(async () => {
      const js = (await w.builds()).filter((j) => j.version === '1.0.0');
      return js.every((j) => j.state !== 'running') && js;
    }, 60_000, 'the job to finish');
    expect(jobs).toHaveLength(1);
    job = jobs[0];
    expect(job).toMatchObject({ state: 'built', trigger: 'webhook', commit, tag: '1.0.0', source: w.repo, author: TAGGER, attempts: 1, interruptions: 0 });
    expect(job.result).toMatchObject({ status: 'built', digest, reference: `${w.eng.registry}/${w.imageRepo}@${digest}` });
  });

  it('deploys itself where the manifest and the cluster allow it, and nowhere else', async () => {
    expect(job).toBeDefined();
    const byCluster = Object.fromEntries((job.autoDeploy as { cluster: string }[]).map((a) => [a.cluster, a]));
    expect(byCluster.staging).toMatchObject({ status: 'deployed', range: '>=1.0.0-0' });
    expect(byCluster.prod).toMatchObject({ status: 'refused', code: 'AUTODEPLOY_NOT_ALLOWED' });
    const gdm = await Gdm.open(w.env.state, { user: USER });
    const m = (await gdm.read()).manifests.get(w.repo)!.manifest;
    expect(m.Deployments!.staging).toMatchObject({ Version: '1.0.0', Digest: job.result.digest });
    expect(m.Deployments!.prod.Version ?? '').toBe('');
    const requested = await until(() => w.events.find((e) => e.type === 'deploy.requested' && e.cluster === 'staging'), 30_000, 'deploy.requested');
    expect(requested.user).toEqual(TAGGER);
    const q = await api(w.server!.url, w.server!.tokens.read, 'GET', `/deploy-queue-item?id=${byCluster.staging.queueItem}`);
    expect(q.status).toBe(200);
    expect(q.body.deploymentID).toBe(`staging:${w.repo}`);
  });

  it('is one job however often it is announced, and a version built before is skipped', async () => {
    expect(job).toBeDefined();
    // The same tag announced again under a new delivery (GitHub's create event for it, re-sent by hand).
    const again = await postHook('create', { ref: '1.0.0', ref_type: 'tag', repository: { html_url: `https://${w.repo}` } });
    expect(again.status).toBe(202);
    expect(again.body.jobs).toEqual([expect.objectContaining({ id: job.id, state: 'built' })]);

    // v1.0.0 on the same commit is the same version: still one job.
    w.tag('v1.0.0');
    w.push('v1.0.0');
    expect((await w.builds('?version=1.0.0')).map((j: { id: string }) => j.id)).toEqual([job.id]);

    // 1.1.0 was built (and recorded) before its tag reached the server.
    const gdm = await Gdm.open(w.env.state, { user: USER });
    const record = await realArtifact(w.repo, '1.1.0');
    await gdm.update(() => ({ change: { message: 'built by hand', artifacts: [record as never] }, result: undefined }), USER);
    w.commit('www/index.html', 'hello again\n');
    w.tag('1.1.0');
    w.push('main', '1.1.0');
    const skipped = await w.builds('?version=1.1.0');
    expect(skipped).toEqual([expect.objectContaining({ state: 'skipped', reason: expect.stringMatching(/already built/) })]);
    expect(w.events.filter((e) => e.type === 'build.started' && e.version === '1.1.0')).toEqual([]);
  });

  it('ignores a tag that is not semver, and says so once', async () => {
    const before = (await w.builds()).length;
    w.tag('release-candidate');
    w.push('release-candidate');
    w.push('--delete', 'release-candidate');
    w.push('release-candidate');
    const answers = w.remote.deliveries('shop').filter((d) => d.ref === 'refs/tags/release-candidate' && d.event === 'push');
    expect(answers.map((d) => d.status)).toEqual([202, 202, 202]);
    expect(JSON.parse(answers[0].answer)).toEqual({ ignored: 'release-candidate is not a semver version' });
    expect((await w.builds()).length).toBe(before);
    expect(w.server!.log().match(/tag release-candidate of \S+ is not a semver version/g)).toHaveLength(1);
  });

  it('answers sous builds list, show and log through the server', async () => {
    expect(job).toBeDefined();
    const env = { SOUS_SERVER: w.server!.url, SOUS_TOKEN: w.server!.tokens.read };
    const list = await sous(w.env, ['builds', 'list', '--repo', w.repo, '--json'], { env });
    expect(list.code).toBe(0);
    expect(list.json.builds.map((b: { id: string }) => b.id)).toContain(job.id);
    const text = await sous(w.env, ['builds', 'list', '--state', 'built'], { env });
    expect(text.stdout).toMatch(new RegExp(`${job.id} +${w.repo.replace(/\./g, '\\.')} +1\\.0\\.0 +built`));
    const show = await sous(w.env, ['builds', 'show', job.id], { env });
    expect(show.code).toBe(0);
    expect(show.stdout).toMatch(/state +built/);
    expect(show.stdout).toContain(job.result.reference);
    expect(show.stdout).toMatch(/deploy staging +deployed/);
    const log = await sous(w.env, ['builds', 'log', job.id], { env });
    expect(log.code).toBe(0);
    for (const phase of ['source', 'build', 'test', 'publish', 'sign', 'record']) expect(log.stdout).toMatch(new RegExp(`${phase} done`));
    expect(log.stdout).toMatch(/job built/);
    const missing = await sous(w.env, ['builds', 'show', '000000000-000000', '--json'], { env });
    expect([missing.code, missing.json.error.code]).toEqual([2, 'BUILD_NOT_FOUND']);
    const noToken = await sous(w.env, ['builds', 'list'], { env: { SOUS_SERVER: w.server!.url } });
    expect(noToken.code).toBe(2);
    expect(noToken.stderr).toMatch(/NO_TOKEN/);
  });
});

/** A webhook delivery signed with the server's secret, as GitHub would send it. */
async function postHook(event: string, payload: unknown) {
  const crypto = await import('node:crypto');
  const body = JSON.stringify(payload);
  const signature = 'sha256=' + crypto.createHmac('sha256', w.secret).update(body).digest('hex');
  return api(w.server!.url, undefined, 'POST', '/hooks/github', {
    body,
    headers: { 'x-github-event': event, 'x-github-delivery': crypto.randomUUID(), 'x-hub-signature-256': signature },
  });
}
