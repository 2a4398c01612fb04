import * as fs from 'node:fs';
import * as path from 'node:path';
import { Gdm } from '../gdm/state';
import type { Manifest } from '../model/types';
import type { OutcomeRecord } from '../rectify/outcomes';
import { chooseRollback, planRollback } from '../deploy/rollback';
import { OutcomeLog } from '../rectify/outcomes';
import { readHistory, type HistoryEntry } from './history';
import { makeStateRepo, tempDir } from '../../../../test/helpers/state-repo';

const alice = { name: 'Alice Example', email: 'alice@example.com' };
const bob = { name: 'Bob Example', email: 'bob@example.com' };
const ID = { source: { repo: 'github.com/acme/shop', dir: '' }, flavor: '' };
const digest = (c: string) => `sha256:${c.repeat(64)}`;
let tmp: string;

beforeEach(() => {
  tmp = tempDir('sous-history-');
});
afterEach(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

async function world() {
  const gdm = await Gdm.open(path.join(tmp, 'state'), { remote: false, user: alice });
  await gdm.update((s) => ({ change: { message: 'clusters', defs: { ...s.defs, Clusters: { east: { Kind: 'memory', BaseURL: 'memory:' }, west: { Kind: 'memory', BaseURL: 'memory:' } } } }, result: undefined }), alice);
  const revs: string[] = [];
  const change = async (who: typeof alice, message: string, edit: (m: Manifest) => void) => {
    const r = await gdm.update((s) => {
      const m: Manifest = JSON.parse(JSON.stringify(s.manifests.get('github.com/acme/shop')?.manifest ?? { Source: 'github.com/acme/shop', Kind: 'http-service', Owners: [], Deployments: {} }));
      edit(m);
      return { change: { message, setManifests: [m] }, result: undefined };
    }, who);
    revs.push(r.revision);
    return r.revision;
  };
  return { gdm, revs, change };
}

const spec = (over: Record<string, unknown> = {}) => ({ Resources: { cpus: '0.1', memory: '100', ports: '1' }, NumInstances: 1, Version: '', ...over });

describe('readHistory', () => {
  it('lists each change of each deployment newest first, says why, who, from and to, and how the rectifier carried it out', async () => {
    const { gdm, change } = await world();
    await change(alice, 'Register github.com/acme/shop', (m) => {
      m.Deployments = { east: spec(), west: spec() };
    });
    const d1 = await change(alice, 'Deploy github.com/acme/shop 1.0.0 to east', (m) => Object.assign(m.Deployments!.east, { Version: '1.0.0', Digest: digest('a') }));
    const scale = await change(bob, 'Scale github.com/acme/shop in east to 3', (m) => Object.assign(m.Deployments!.east, { NumInstances: 3 }));
    await change(bob, 'Set metadata team=web', (m) => {
      m.Deployments!.east.Metadata = { team: 'web' };
      m.Deployments!.west.Metadata = { team: 'web' };
    });
    const d2 = await change(alice, 'Auto-deploy github.com/acme/shop 1.1.0 to east\n\nSous-Change: auto-deploy', (m) => Object.assign(m.Deployments!.east, { Version: '1.1.0', Digest: digest('b'), AutoDeploy: '^1.0.0' }));
    const rb = await change(bob, 'Roll back github.com/acme/shop in east to 1.0.0 (from 1.1.0)\n\nSous-Change: rollback\nSous-Rollback-From: 1.1.0', (m) =>
      Object.assign(m.Deployments!.east, { Version: '1.0.0', Digest: digest('a'), AutoDeployPaused: { Reason: 'rollback of 1.1.0 to 1.0.0', By: 'Bob' } }),
    );
    await change(alice, 'Resume AutoDeploy\n\nSous-Change: resume', (m) => {
      delete m.Deployments!.east.AutoDeployPaused;
    });
    const outcomes: OutcomeRecord[] = [
      { id: 'east:github.com/acme/shop', cluster: 'east', revision: d1, kind: 'create', version: '1.0.0', intent: 'i1', status: 'Active', resolution: 'created', at: '2030-01-01T00:00:01.000Z', durationMs: 5 },
      { id: 'east:github.com/acme/shop', cluster: 'east', revision: scale, kind: 'scale', version: '1.0.0', intent: 'i2', status: 'Active', resolution: 'updated', at: '2030-01-01T00:00:02.000Z', durationMs: 5 },
      { id: 'east:github.com/acme/shop', cluster: 'east', revision: d2, kind: 'update', version: '1.1.0', intent: 'i3', status: 'Failed', resolution: 'not updated', message: 'boom', at: '2030-01-01T00:00:03.000Z', durationMs: 5 },
      // A later pass (the GDM moved on meanwhile) retried 1.1.0 and failed again: the same change, its last outcome.
      { id: 'east:github.com/acme/shop', cluster: 'east', revision: d2, kind: 'update', version: '1.1.0', intent: 'i3', status: 'Failed', resolution: 'not updated', message: 'boom again', at: '2030-01-01T00:00:04.000Z', durationMs: 5 },
      { id: 'east:github.com/acme/shop', cluster: 'east', revision: rb, kind: 'update', version: '1.0.0', intent: 'i4', status: 'Active', resolution: 'updated', at: '2030-01-01T00:00:05.000Z', durationMs: 5 },
    ];
    const h = await readHistory(gdm, outcomes, { manifest: ID, cluster: 'east', limit: 50 });
    expect(h.map((e) => [e.kind, e.from?.version ?? null, e.to?.version ?? null, e.who.name, e.outcome?.status ?? null])).toEqual([
      ['resume', '1.0.0', '1.0.0', 'Alice Example', null],
      ['rollback', '1.1.0', '1.0.0', 'Bob Example', 'Active'],
      ['auto-deploy', '1.0.0', '1.1.0', 'Alice Example', 'Failed'],
      ['metadata', '1.0.0', '1.0.0', 'Bob Example', null],
      ['scale', '1.0.0', '1.0.0', 'Bob Example', 'Active'],
      ['deploy', '', '1.0.0', 'Alice Example', 'Active'],
      ['register', null, '', 'Alice Example', null],
    ]);
    const auto = h.find((e) => e.kind === 'auto-deploy')!;
    expect(auto).toMatchObject({ deploymentID: 'east:github.com/acme/shop', cluster: 'east', revision: d2, message: 'Auto-deploy github.com/acme/shop 1.1.0 to east', from: { digest: digest('a') }, to: { version: '1.1.0', digest: digest('b'), instances: 3 }, outcome: { message: 'boom again' } });
    expect(auto.changed).toEqual(expect.arrayContaining(['version', 'digest', 'autodeploy']));
    expect(h.find((e) => e.kind === 'scale')!.changed).toEqual(['instances']);
    expect(Date.parse(h[0].at)).not.toBeNaN();

    // Without a cluster: every deployment of the manifest; west saw only its registration and the metadata.
    const all = await readHistory(gdm, outcomes, { manifest: ID });
    expect(all.filter((e) => e.cluster === 'west').map((e) => e.kind)).toEqual(['metadata', 'register']);
    expect((await readHistory(gdm, outcomes, { limit: 2 })).map((e) => e.kind)).toEqual(['resume', 'rollback']);
  });

  it('calls a digest found for a version that had none a pin, not a deploy', async () => {
    const { gdm, change } = await world();
    await change(alice, 'Register', (m) => {
      m.Deployments = { east: spec({ Version: '1.0.0' }) };
    });
    await change(bob, 'Pin the image digests of 1 deployment(s) whose versions had none, found from the running deploys', (m) => Object.assign(m.Deployments!.east, { Digest: digest('c'), Image: 'registry.example.com/acme/shop' }));
    const [pin] = await readHistory(gdm, [], { manifest: ID, cluster: 'east', limit: 1 });
    expect(pin).toMatchObject({ kind: 'pin', from: { version: '1.0.0' }, to: { version: '1.0.0', digest: digest('c') }, changed: ['digest', 'image'] });
  });

  it('reads the original Sous state as it is', async () => {
    const dir = makeStateRepo(path.join(tmp, 'original'));
    const gdm = await Gdm.open(dir, { remote: false });
    const h = await readHistory(gdm, []);
    expect(h.length).toBeGreaterThan(0);
    expect(new Set(h.map((e) => e.kind))).toEqual(new Set(['register']));
    expect(h.map((e) => e.deploymentID)).toContain('cluster-1:github.com/opentable/sous');
  });
});

describe('planRollback', () => {
  it('reads further back than the last changes when the version that ran is older than them', async () => {
    const { gdm, change } = await world();
    await change(alice, 'Register', (m) => {
      m.Deployments = { east: spec() };
    });
    const statusDir = path.join(tmp, 'status');
    const log = new OutcomeLog(path.join(statusDir, 'outcomes'));
    const deploy = async (v: string, status: 'Active' | 'Failed') => {
      const rev = await change(alice, `Deploy ${v}`, (m) => Object.assign(m.Deployments!.east, { Version: v, Digest: digest(v.endsWith('0') ? 'a' : 'b') }));
      await log.append({ id: 'east:github.com/acme/shop', cluster: 'east', revision: rev, kind: 'update', version: v, intent: v, status, resolution: status === 'Active' ? 'updated' : 'not updated', at: new Date().toISOString(), durationMs: 1 });
    };
    await deploy('1.0.0', 'Active');
    for (let i = 1; i <= 25; i++) await deploy(`1.0.${i}`, 'Failed');
    const plan = await planRollback(gdm, statusDir, { id: ID, cluster: 'east', user: bob });
    expect(plan).toMatchObject({ deploymentID: 'east:github.com/acme/shop', from: '1.0.25', version: '1.0.0', digest: digest('a') });
    expect(plan.message).toBe('Roll back github.com/acme/shop in east to 1.0.0 (from 1.0.25)\n\nSous-Change: rollback\nSous-Rollback-From: 1.0.25');
  });
});

describe('chooseRollback', () => {
  const entry = (version: string, status: 'Active' | 'Failed' | null, d = 'a'): HistoryEntry => ({
    deploymentID: 'east:github.com/acme/shop',
    manifestID: 'github.com/acme/shop',
    cluster: 'east',
    revision: version,
    at: '2030-01-01T00:00:00Z',
    who: alice,
    kind: 'deploy',
    message: '',
    to: { version, digest: digest(d), instances: 1 },
    changed: ['version'],
    outcome: status ? { status, resolution: status === 'Active' ? 'updated' : 'not updated', at: '2030-01-01T00:00:00Z' } : null,
  });
  const ID_ = 'east:github.com/acme/shop';
  const history = [entry('1.3.0', 'Failed', 'd'), entry('1.2.1', null, 'c'), entry('1.2.0', 'Active', 'b'), entry('1.1.0', 'Active', 'a')];

  it('goes back to the newest other version that ran successfully, pinned to the digest it ran as', () => {
    expect(chooseRollback(history, ID_, '1.3.0', {})).toEqual({ version: '1.2.0', digest: digest('b') });
    expect(chooseRollback(history, ID_, '1.2.0', {})).toEqual({ version: '1.1.0', digest: digest('a') });
  });

  it('takes --to a version that ran, and one that never did only with --force', () => {
    expect(chooseRollback(history, ID_, '1.3.0', { to: '1.1.0' })).toEqual({ version: '1.1.0', digest: digest('a') });
    expect(() => chooseRollback(history, ID_, '1.3.0', { to: '1.2.1' })).toThrow(expect.objectContaining({ code: 'VERSION_NEVER_SUCCEEDED', exit: 2 }));
    expect(chooseRollback(history, ID_, '1.3.0', { to: '1.2.1', force: true })).toEqual({ version: '1.2.1' });
    expect(() => chooseRollback(history, ID_, '1.3.0', { to: '1.3.0' })).toThrow(expect.objectContaining({ code: 'ROLLBACK_TO_CURRENT' }));
  });

  it('refuses with NO_EARLIER_VERSION, listing what there is, when nothing else ran', () => {
    let err: { code?: string; message?: string; exit?: number } = {};
    try {
      chooseRollback([entry('1.3.0', 'Active'), entry('1.2.1', 'Failed'), entry('1.0.0', null)], ID_, '1.3.0', {});
    } catch (e) {
      err = e as typeof err;
    }
    expect(err).toMatchObject({ code: 'NO_EARLIER_VERSION', exit: 2 });
    expect(err.message).toContain('1.3.0 (ran), 1.2.1 (failed), 1.0.0 (never rectified)');
  });
});
