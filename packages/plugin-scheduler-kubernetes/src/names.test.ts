import type { V1Deployment } from '@kubernetes/client-node';
import { labelValue, leaseName, objectName } from './names';
import { quantity, rolloutOf } from './read';

const LABEL = /^([A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?)?$/;
const DNS_LABEL = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;

describe('Kubernetes names', () => {
  it('makes object names that are DNS labels, readable and distinct per deployment', () => {
    const a = objectName({ source: { repo: 'github.com/Acme/Shop_Front', dir: 'services/API' }, flavor: 'canary' }, 'prod:github.com/Acme/Shop_Front,services/API~canary');
    expect(a).toMatch(/^shop-front-services-api-canary-[0-9a-f]{8}$/);
    const long = objectName({ source: { repo: `github.com/acme/${'x'.repeat(80)}`, dir: '' }, flavor: '' }, 'prod:long');
    expect(long.length).toBeLessThanOrEqual(63);
    expect(long).toMatch(DNS_LABEL);
    expect(objectName({ source: { repo: 'github.com/acme/9lives', dir: '' }, flavor: '' }, 'a:x')).toMatch(/^app-9lives-/);
    expect(objectName({ source: { repo: 'github.com/acme/shop', dir: '' }, flavor: '' }, 'east:github.com/acme/shop')).not.toBe(objectName({ source: { repo: 'github.com/acme/shop', dir: '' }, flavor: '' }, 'west:github.com/acme/shop'));
    expect(leaseName('Prod EU')).toMatch(/^sous-rectifier-prod-eu-[0-9a-f]{8}$/);
  });

  it('keeps valid label values and turns others into valid, distinct ones', () => {
    expect(labelValue('1.2.0')).toBe('1.2.0');
    for (const s of ['1.2.0+build.7', 'prod eu', '-x-', 'a'.repeat(80)]) expect(labelValue(s)).toMatch(LABEL);
    expect(labelValue('1.2.0+a')).not.toBe(labelValue('1.2.0+b'));
  });

  it('reads quantities as the API server writes them', () => {
    expect([quantity('500m'), quantity('2'), quantity('1.5'), quantity(3)]).toEqual([0.5, 2, 1.5, 3]);
    expect([quantity('256Mi') / 1024 ** 2, quantity('1Gi') / 1024 ** 2, quantity('268435456') / 1024 ** 2]).toEqual([256, 1024, 256]);
    expect(quantity('12Zz')).toBeNaN();
  });
});

describe('rollout status', () => {
  const dep = (status: NonNullable<V1Deployment['status']>, generation = 2, replicas = 2): V1Deployment => ({ metadata: { generation }, spec: { replicas, selector: {}, template: {} }, status });
  it('waits for the new spec to be observed, for updated, old and available replicas, as kubectl does', () => {
    expect(rolloutOf(dep({ observedGeneration: 1, replicas: 2, updatedReplicas: 2, availableReplicas: 2 })).state).toBe('progressing');
    expect(rolloutOf(dep({ observedGeneration: 2, replicas: 3, updatedReplicas: 1, availableReplicas: 3 })).message).toBe('1 of 2 replicas updated');
    expect(rolloutOf(dep({ observedGeneration: 2, replicas: 3, updatedReplicas: 2, availableReplicas: 3 })).message).toBe('1 old replica(s) pending termination');
    expect(rolloutOf(dep({ observedGeneration: 2, replicas: 2, updatedReplicas: 2, availableReplicas: 1 })).message).toBe('1 of 2 updated replicas available');
    expect(rolloutOf(dep({ observedGeneration: 2, replicas: 2, updatedReplicas: 2, availableReplicas: 2 })).state).toBe('done');
    expect(rolloutOf(dep({ observedGeneration: 2 }, 2, 0)).state).toBe('done');
  });

  it('fails when the Progressing condition says the deadline was exceeded, with its message', () => {
    const r = rolloutOf(dep({ observedGeneration: 2, replicas: 2, updatedReplicas: 1, conditions: [{ type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded', message: 'ReplicaSet "x" has timed out progressing.' }] }));
    expect(r).toEqual({ state: 'failed', message: 'ReplicaSet "x" has timed out progressing.' });
  });
});
