import type { DeployState } from '../pipeline/types';
import { planActions } from './diff';

const spec = { Resources: { cpus: '0.1', memory: '100', ports: '1' }, Env: {}, NumInstances: 2, Volumes: [], Version: '1.0.0', Digest: `sha256:${'a'.repeat(64)}`, Image: '127.0.0.1:5000/acme/shop' };

function state(over: Partial<DeployState> = {}, specOver: Record<string, unknown> = {}): DeployState {
  return { id: 'east:github.com/acme/shop', manifestID: { source: { repo: 'github.com/acme/shop', dir: '' }, flavor: '' }, cluster: 'east', kind: 'http-service', owners: ['a@example.com'], spec: { ...spec, ...specOver }, status: 'Active', ...over };
}

const opts = { clustersRead: new Set(['east']), prune: () => false, revision: 'r' };

describe('planActions with a Pending prior', () => {
  it('leaves an Active deployment that matches alone', () => {
    const plan = planActions([state()], [state()], opts);
    expect(plan.actions).toEqual([]);
    expect(plan.unchanged).toEqual(['east:github.com/acme/shop']);
  });

  it('finishes an unfinished rollout with an update even when the specs agree', () => {
    const plan = planActions([state()], [state({ status: 'Pending', message: '1 instance of an older version still runs' })], opts);
    expect(plan.actions.map((a) => [a.kind, a.reason])).toEqual([['update', 'the last rollout has not finished: 1 instance of an older version still runs']]);
  });

  it('keeps the usual reasons when a Pending deployment also differs', () => {
    const scale = planActions([state()], [state({ status: 'Pending' }, { NumInstances: 1 })], opts);
    expect(scale.actions.map((a) => [a.kind, a.reason])).toEqual([['scale', 'instances 1 → 2']]);
    const update = planActions([state()], [state({ status: 'Pending' }, { Version: '0.9.0' })], opts);
    expect(update.actions.map((a) => [a.kind, a.reason])).toEqual([['update', 'version 0.9.0 → 1.0.0']]);
  });
});
