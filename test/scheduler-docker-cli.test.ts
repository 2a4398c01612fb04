/**
 * The docker scheduler end to end through the real, built `sous` binary:
 * cluster add, init, deploy (waits for readiness), status, query ads and
 * rectify, with temp state and config directories. Artifacts are recorded in
 * the GDM's artifact index directly, as `sous build` would.
 */
import * as fs from 'node:fs';
import { Gdm } from '@sous/core';
import { LABELS } from '@sous/plugin-scheduler-docker';
import { httpGet, USER } from './helpers/rectify-world';
import { appImage, type AppImage } from './helpers/sched-images';
import { makeSousEnv, requireBuilt, sous, type SousEnv } from './helpers/sous';
import { tempDir } from './helpers/state-repo';
import { startTestEngine, type TestEngine } from './helpers/test-engine';

jest.setTimeout(240_000);

const REPO = 'github.com/acme/web';
let engine: TestEngine;
let env: SousEnv;
let dir: string;

async function ok(args: string[]) {
  const r = await sous(env, [...args, '--json']);
  if (r.code !== 0) throw new Error(`sous ${args.join(' ')} exited ${r.code}:\n${r.stdout}\n${r.stderr}`);
  return r.json;
}

async function record(version: string, app: AppImage): Promise<void> {
  const gdm = await Gdm.open(env.state, { user: USER });
  await gdm.update(() => ({ change: { message: `build ${version}`, artifacts: [{ Source: REPO, Version: version, Image: app.image, Digest: app.digest, Advisories: [], Deployable: true, BuiltAt: new Date().toISOString() }] }, result: undefined }), USER);
}

async function served(): Promise<string[]> {
  const ids = engine.docker(['ps', '-q', '--filter', `label=${LABELS.deployment}=local:${REPO}`]).split('\n').filter(Boolean);
  const out: string[] = [];
  for (const id of ids) {
    const port = engine.docker(['port', id, '8080/tcp']).split('\n')[0].split(':').pop();
    out.push((await httpGet(`http://127.0.0.1:${port}/`)).body.trim());
  }
  return out.sort();
}

beforeAll(async () => {
  requireBuilt();
  engine = await startTestEngine('sc', 13);
  dir = tempDir('sous-sched-cli-');
  env = makeSousEnv(dir);
});

afterAll(async () => {
  if (engine) {
    engine.removeLabelled(LABELS.cluster);
    await engine.destroy();
  }
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe('sous deploy and rectify on a docker cluster', () => {
  it('deploys a version and waits until it is ready; status and query ads show it', async () => {
    await ok(['cluster', 'add', '--name', 'local', '--kind', 'docker', '--base-url', engine.address, '--env', 'REGION=test']);
    await ok(['init', '--repo', REPO, '--owner', 'web@example.com']);
    await record('1.0.0', appImage('v1'));
    await record('1.1.0', appImage('crash'));
    await record('2.0.0', appImage('v2'));
    const d = await ok(['deploy', '--cluster', 'local', '--tag', '1.0.0', '--repo', REPO]);
    expect(d).toMatchObject({ deploymentID: `local:${REPO}`, version: '1.0.0', status: 'live', outcome: { status: 'Active', resolution: 'created' } });
    expect(await served()).toEqual(['app 1.0.0']);
    const status = await ok(['status', '--repo', REPO]);
    expect(status.deployments).toEqual([expect.objectContaining({ deploymentID: `local:${REPO}`, intended: { version: '1.0.0', instances: 1 }, actual: { version: '1.0.0', instances: 1, status: 'Active' }, pending: null })]);
    const ads = await ok(['query', 'ads', '--cluster', 'local']);
    // The labels keep Env values as keyed hashes; the instance itself has the value.
    expect(ads.deployments).toEqual([expect.objectContaining({ id: `local:${REPO}`, status: 'Active', spec: expect.objectContaining({ Version: '1.0.0', Env: expect.objectContaining({ REGION: expect.stringMatching(/^hmac-sha256:[0-9a-f]{32}$/) }) }) })]);
    const [container] = engine.docker(['ps', '-q', '--filter', `label=${LABELS.deployment}=local:${REPO}`]).split('\n');
    expect(JSON.parse(engine.docker(['inspect', '--format', '{{json .Config.Env}}', container]))).toContain('REGION=test');
    expect(engine.docker(['inspect', '--format', '{{json .Config.Labels}}', container])).not.toMatch(/REGION[^,]*test/);
  });

  it('a version that crashes fails the deploy (exit 1) with its logs; the old version keeps serving', async () => {
    const r = await sous(env, ['deploy', '--cluster', 'local', '--tag', '1.1.0', '--repo', REPO, '--json']);
    expect(r.code).toBe(1);
    expect(r.json.error.code).toBe('DEPLOY_FAILED');
    expect(r.json.error.message).toMatch(/exited with code 3/);
    expect(r.json.error.message).toContain('boom: the app cannot start');
    expect(await served()).toEqual(['app 1.0.0']);
  });

  it('rectify reports a cluster of an unknown kind, still deploys the others, and exits 1', async () => {
    await ok(['cluster', 'add', '--name', 'mystery', '--kind', 'nomad', '--base-url', 'http://127.0.0.1:4646', '--force']);
    const gdm = await Gdm.open(env.state, { user: USER });
    await gdm.update(
      (s) => {
        const m = JSON.parse(JSON.stringify(s.manifests.get(REPO)!.manifest));
        const a = { Image: appImage('v2').image, Digest: appImage('v2').digest };
        m.Deployments.local = { ...m.Deployments.local, Version: '2.0.0', ...a };
        m.Deployments.mystery = { ...m.Deployments.local };
        return { change: { message: 'intend 2.0.0 everywhere', setManifests: [m] }, result: undefined };
      },
      USER,
    );
    const r = await sous(env, ['rectify', '--all']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/RECTIFY_INCOMPLETE/);
    expect(r.stderr).toMatch(/no scheduler plugin handles clusters of kind "nomad" \(cluster mystery\) \[UNKNOWN_CLUSTER_KIND\]/);
    expect(r.stdout).toMatch(new RegExp(`Active +local:${REPO.replace(/\./g, '\\.')}: updated`));
    expect(await served()).toEqual(['app 2.0.0']);
    const again = await sous(env, ['rectify', '--cluster', 'local']);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('Nothing to do: 1 deployment(s) match.');
  });
});
