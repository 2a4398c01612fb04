/**
 * The Singularity scheduler against modelled Singularity exchanges (no
 * Singularity can run here): test/fixtures/modelled/singularity/*.json,
 * served by a replay server that checks every request it gets.
 */
import { isSousError, type Action, type DeployState, type Progress, type SousError } from '@sous/core';
import { requestIDFor } from '@sous/plugin-scheduler-singularity';
import { refusedURL, ReplayServer } from './helpers/replay-server';
import { DIGEST_A, DIGEST_B, eastCluster, intended, manifest, plan, schedulerFor, SHOP_RID, shopSpec } from './scheduler-singularity-world';

const OPTS = { timeoutMs: 20_000 };
let replay: ReplayServer | undefined;

afterEach(async () => {
  await replay?.close();
  replay = undefined;
});

async function rejection(p: Promise<unknown>): Promise<SousError> {
  try {
    await p;
  } catch (e) {
    if (isSousError(e)) return e;
    throw e;
  }
  throw new Error('expected a SousError, but it resolved');
}

/** What Singularity runs now for shop, as actual() would have read it. */
function running(url: string, over: Partial<DeployState> = {}): DeployState {
  const s = intended(manifest('github.com/acme/shop', 'http-service', shopSpec()), 'east', eastCluster(url));
  return { ...s, status: 'Active', ref: { requestId: SHOP_RID, deployId: '1_2_0_5d1f0c2e9a7b4c1d8e3f6a2b9c0d1e2f' }, ...over };
}

describe('Singularity scheduler (modelled exchanges)', () => {
  it('derives request IDs exactly as the original Sous did', () => {
    // The original's own test data: ext/singularity/testdata/request.json.
    expect(requestIDFor({ source: { repo: 'github.com/opentable/sous-demo', dir: '' }, flavor: '' }, 'dev-ci-sf')).toBe('sous_demo---dev_ci_sf-5d44a1d1d9b70dcfa342154f47ffd2be');
    expect(requestIDFor({ source: { repo: 'github.com/acme/shop', dir: '' }, flavor: '' }, 'east')).toBe(SHOP_RID);
    const long = requestIDFor({ source: { repo: 'github.com/acme/a-very-long-repository-name-indeed', dir: 'services/payments/api' }, flavor: 'canary-eu' }, 'production-eu-west');
    expect(long.length).toBeLessThanOrEqual(99);
    expect(long).toMatch(/^[a-zA-Z0-9_-]+$/);
  });

  it('creates a new deployment on an empty cluster, waits for it to be active, and reads back what it applied', async () => {
    replay = await ReplayServer.start('singularity/create');
    const { scheduler, def } = await schedulerFor(replay.url);
    const want = intended(manifest('github.com/acme/shop', 'http-service', shopSpec()), 'east', def);

    const before = await scheduler.actual();
    expect(before).toEqual([]);
    const p = plan([want], before);
    expect(p.actions.map((a) => a.kind)).toEqual(['create']);

    const phases: string[] = [];
    const outcome = await scheduler.apply(p.actions[0], { ...OPTS, onProgress: (x: Progress) => phases.push(x.phase) });
    expect(outcome).toMatchObject({ resolution: 'created', status: 'Active' });
    expect(phases).toEqual(['request', 'deploy', 'waiting']);

    const after = await scheduler.actual();
    expect(after).toHaveLength(1);
    expect(after[0]).toMatchObject({ id: 'east:github.com/acme/shop', kind: 'http-service', owners: ['ops@acme.example'], status: 'Active', ref: { requestId: SHOP_RID } });
    expect(after[0].spec).toEqual(want.spec);
    expect(plan([want], after).actions).toEqual([]);

    const posted = replay.received.find((r) => r.path.endsWith('/api/deploys'))!.body as { deploy: { metadata: Record<string, string> } };
    // Driven without the rectifier's stored view, the metadata keeps the Env's names only; the deploy's env has the values.
    expect(JSON.parse(posted.deploy.metadata['dev.sous.spec'])).toEqual({ ...want.spec, Env: { LOG_LEVEL: '', REGION: '' } });
    replay.verify();
  });

  it('only scales when only the instance count changed, and waits for the new tasks to be healthy', async () => {
    replay = await ReplayServer.start('singularity/scale');
    const { scheduler, def } = await schedulerFor(replay.url);
    const want = intended(manifest('github.com/acme/shop', 'http-service', shopSpec({ NumInstances: 3 })), 'east', def);
    const p = plan([want], [running(replay.url)]);
    expect(p.actions.map((a) => [a.kind, a.reason])).toEqual([['scale', 'instances 2 → 3']]);
    const waits: string[] = [];
    const outcome = await scheduler.apply(p.actions[0], { ...OPTS, onProgress: (x) => x.phase === 'waiting' && waits.push(x.message) });
    expect(outcome).toMatchObject({ resolution: 'updated', status: 'Active' });
    expect(waits).toEqual(['2/3 healthy']);
    replay.verify();
  });

  it('deploys a new version on the existing request without touching the request', async () => {
    replay = await ReplayServer.start('singularity/update');
    const { scheduler, def } = await schedulerFor(replay.url);
    const want = intended(manifest('github.com/acme/shop', 'http-service', shopSpec({ Version: '1.3.0', Digest: DIGEST_B })), 'east', def);
    const p = plan([want], [running(replay.url)]);
    expect(p.actions.map((a) => [a.kind, a.reason])).toEqual([['update', 'version 1.2.0 → 1.3.0']]);
    const outcome = await scheduler.apply(p.actions[0], OPTS);
    expect(outcome).toMatchObject({ resolution: 'updated', status: 'Active' });
    expect(replay.received.map((r) => r.method)).toEqual(['POST', 'GET', 'GET']);
    replay.verify();
  });

  it('reports a deploy still pending when the wait is over as coming, not failed', async () => {
    replay = await ReplayServer.start('singularity/slow');
    const { scheduler, def } = await schedulerFor(replay.url, { pollMs: 20 });
    const want = intended(manifest('github.com/acme/shop', 'http-service', shopSpec({ Version: '1.3.0', Digest: DIGEST_B })), 'east', def);
    const outcome = await scheduler.apply(plan([want], [running(replay.url)]).actions[0], { timeoutMs: 200 });
    expect(outcome).toMatchObject({ resolution: 'coming', status: 'Pending' });
    expect(outcome.message).toMatch(/^deploy 1_3_0_[0-9a-f]{32} still pending after 200 ms$/);
    replay.verify();
  });

  it('updates only the request when only the owners changed', async () => {
    replay = await ReplayServer.start('singularity/update-owners');
    const { scheduler, def } = await schedulerFor(replay.url);
    const want = intended(manifest('github.com/acme/shop', 'http-service', shopSpec(), ['ops@acme.example', 'dev@acme.example']), 'east', def);
    const p = plan([want], [running(replay.url)]);
    expect(p.actions.map((a) => [a.kind, a.reason])).toEqual([['update', 'owners']]);
    expect(await scheduler.apply(p.actions[0], OPTS)).toMatchObject({ resolution: 'updated', status: 'Active' });
    replay.verify();
  });

  it('reports a failed deploy with Singularity\'s own message, and reads it back as Failed so the next plan redeploys', async () => {
    replay = await ReplayServer.start('singularity/failing');
    const { scheduler, def } = await schedulerFor(replay.url);
    const want = intended(manifest('github.com/acme/shop', 'http-service', shopSpec()), 'east', def);
    const [create] = plan([want], []).actions;
    const outcome = await scheduler.apply(create, OPTS);
    expect(outcome.status).toBe('Failed');
    expect(outcome.resolution).toBe('not created');
    expect(outcome.message).toContain('Instance 1 failed 4 healthchecks, the max for the deploy. Last check returned with status code 503');
    expect(outcome.message).toContain(`/singularity/request/${SHOP_RID}/deploy/`);

    const [actual] = await scheduler.actual();
    expect(actual).toMatchObject({ status: 'Failed', message: 'FAILED: Instance 1 failed 4 healthchecks, the max for the deploy. Last check returned with status code 503' });
    const next = plan([want], [actual]);
    expect(next.actions.map((a) => a.kind)).toEqual(['update']);
    expect(next.actions[0].reason).toContain('the current deploy failed');
    replay.verify();
  });

  it('rebuilds what the original Sous deployed from Singularity alone, and leaves other clusters\' and foreign requests out', async () => {
    replay = await ReplayServer.start('singularity/adopt');
    const { scheduler, def } = await schedulerFor(replay.url);
    const states = await scheduler.actual();
    expect(states.map((s) => [s.id, s.kind, s.status])).toEqual([
      ['east:github.com/acme/legacy', 'http-service', 'Active'],
      ['east:github.com/acme/report', 'scheduled-job', 'Pending'],
    ]);
    const legacy = states[0];
    expect(legacy.spec).toEqual({
      Resources: { cpus: '0.1', memory: '100', ports: '1' },
      Env: { OT_ENV: 'east', OT_ENV_TYPE: 'prod' },
      NumInstances: 1,
      Volumes: [],
      Startup: { ConnectDelay: 60, Timeout: 10, ConnectInterval: 1, CheckReadyProtocol: 'HTTP', CheckReadyURIPath: '/health', CheckReadyFailureStatuses: [500, 503], CheckReadyURITimeout: 5, CheckReadyInterval: 1, CheckReadyRetries: 120 },
      Schedule: '',
      // The original's deploy metadata are the image's labels: the revision makes the version the GDM wrote.
      Version: '0.0.51+618536ade78b9a30de9d0a67d34f9c03bad8ca84',
      Digest: `sha256:${'c'.repeat(64)}`,
      Image: 'registry.example.com/github.com/acme/legacy',
    });
    expect(legacy.unobserved).toEqual(['Metadata']);
    expect(states[1].spec).toMatchObject({ Schedule: '0 3 * * *', NumInstances: 1, Volumes: [{ Host: '/srv/report', Container: '/data', Mode: 'RW' }], Startup: { SkipCheck: true } });

    // The same application in the GDM (without cluster defaults to expand) plans nothing: Sous converges from Singularity's data.
    const legacyManifest = manifest('github.com/acme/legacy', 'http-service', { ...legacy.spec, Env: { OT_ENV_TYPE: 'prod' } }, []);
    const want = intended(legacyManifest, 'east', { ...def, Env: { OT_ENV: 'east' }, Startup: {} });
    expect(plan([want], [legacy]).actions).toEqual([]);
    replay.verify();
  });

  it('answers a failing or throttling Singularity with retryable errors, and a refusal with its message', async () => {
    replay = await ReplayServer.start('singularity/errors');
    const { scheduler, def } = await schedulerFor(replay.url);
    const unavailable = await rejection(scheduler.actual());
    expect(unavailable).toMatchObject({ code: 'SINGULARITY_UNAVAILABLE', details: expect.objectContaining({ retryable: true, status: 503 }) });
    const throttled = await rejection(scheduler.actual());
    expect(throttled).toMatchObject({ code: 'SINGULARITY_THROTTLED', details: expect.objectContaining({ retryable: true, status: 429, apiMessage: 'Rate limit exceeded' }) });

    const job = intended(manifest('github.com/acme/report', 'scheduled', { ...shopSpec({ Version: '2.0.0', Digest: DIGEST_B }), Schedule: '0 3 * * 9' }), 'east', def);
    const [create] = plan([job], []).actions;
    const refused = await rejection(scheduler.apply(create, OPTS));
    expect(refused.code).toBe('SINGULARITY_BAD_REQUEST');
    expect(refused.details?.retryable).toBeUndefined();
    expect(refused.message).toContain('Schedule 0 3 * * 9 is invalid, day of week (9) is not 0-7');
    expect(refused.hints.length).toBeGreaterThan(0);
    replay.verify();
  });

  it('reports an unreachable Singularity as retryable, for reads and for actions', async () => {
    const url = await refusedURL();
    const { scheduler, def } = await schedulerFor(url);
    const read = await rejection(scheduler.actual());
    expect(read).toMatchObject({ code: 'SINGULARITY_UNREACHABLE', details: expect.objectContaining({ retryable: true, errno: 'ECONNREFUSED' }) });
    expect(read.message).toContain(`${url}/singularity/api/requests`);
    const want = intended(manifest('github.com/acme/shop', 'http-service', shopSpec()), 'east', def);
    const write = await rejection(scheduler.apply(plan([want], []).actions[0], OPTS));
    expect(write).toMatchObject({ code: 'SINGULARITY_UNREACHABLE', details: expect.objectContaining({ retryable: true }) });
  });

  it('refuses to deploy a version without a digest, and a cluster without a URL, in words the user can act on', async () => {
    const url = await refusedURL();
    const { scheduler, def } = await schedulerFor(url);
    const unpinned = intended(manifest('github.com/acme/shop', 'http-service', shopSpec({ Digest: undefined })), 'east', def);
    const noDigest = await rejection(scheduler.apply(plan([unpinned], []).actions[0], OPTS));
    expect(noDigest.code).toBe('SINGULARITY_NO_DIGEST');
    expect(noDigest.hints.join(' ')).toContain('sous update --cluster east --tag 1.2.0');

    const { sous } = await schedulerFor(url);
    const noURL = sous.hooks.scheduler.for('singularity').call({ name: 'west', def: { Kind: 'singularity' } })!;
    const err = await rejection(noURL.actual());
    expect(err.code).toBe('SINGULARITY_NO_BASE_URL');
    expect(err.exit).toBe(2);
  });

  it('does not call Singularity for a removed deployment it only reports', async () => {
    const url = await refusedURL();
    const { scheduler } = await schedulerFor(url);
    const action: Action = { kind: 'report-removed', deploymentID: 'east:github.com/acme/shop', cluster: 'east', reason: 'not intended any more', prior: running(url) };
    expect(await scheduler.apply(action, OPTS)).toMatchObject({ resolution: 'not deleted', status: 'Active' });
  });
});
