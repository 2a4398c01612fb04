import { isSousError, type DeployState } from '@sous/core';
import { clusterSettings } from './options';
import { checkKind, containerPorts, imageReference, instanceEnv, limits, repositoryPath } from './instance';
import { configHash, deploymentLabels, LABELS, slug, stateFromLabels } from './labels';

const DIGEST = `sha256:${'b'.repeat(64)}`;

function state(spec: DeployState['spec'] = {}, over: Partial<DeployState> = {}): DeployState {
  return { id: 'prod:github.com/acme/shop', manifestID: { source: { repo: 'github.com/acme/shop', dir: '' }, flavor: '' }, cluster: 'prod', kind: 'http-service', owners: ['b@x', 'a@x'], spec: { Version: '1.2.0', Digest: DIGEST, Image: '127.0.0.1:5000/acme/shop', NumInstances: 2, ...spec }, status: 'Active', ...over };
}

function caught(f: () => unknown) {
  try {
    f();
  } catch (e) {
    return e;
  }
  throw new Error('expected an error');
}

describe('image reference', () => {
  it('strips the registry host from a repository name', () => {
    expect(repositoryPath('127.0.0.1:5000/acme/shop')).toBe('acme/shop');
    expect(repositoryPath('registry.example.com/acme/shop:1.2')).toBe('acme/shop');
    expect(repositoryPath('localhost/shop')).toBe('shop');
    expect(repositoryPath('acme/shop')).toBe('acme/shop');
  });

  it("pins the digest, from the cluster's registry when it has one", () => {
    expect(imageReference(state(), { Kind: 'docker' })).toBe(`127.0.0.1:5000/acme/shop@${DIGEST}`);
    expect(imageReference(state(), { Kind: 'docker', Registry: 'cache.prod:5000/' })).toBe(`cache.prod:5000/acme/shop@${DIGEST}`);
    expect(imageReference(state({ Digest: undefined }), { Kind: 'docker' })).toBe('127.0.0.1:5000/acme/shop:1.2.0');
  });

  it('refuses a deployment that names no image', () => {
    const e = caught(() => imageReference(state({ Image: undefined }), { Kind: 'docker' }));
    expect(isSousError(e) && [e.code, e.details?.retryable]).toEqual(['IMAGE_UNKNOWN', false]);
  });
});

describe('instances', () => {
  it('gets PORT0..n, PORT and TASK_HOST after the spec env', () => {
    const spec = { Resources: { ports: '3' }, Env: { A: '1', PORT0: 'mine' } };
    const ports = containerPorts(spec, 9000);
    expect(ports).toEqual([9000, 9001, 9002]);
    expect(instanceEnv(spec, ports, '10.0.0.5')).toEqual({ A: '1', PORT0: '9000', PORT1: '9001', PORT2: '9002', PORT: '9000', TASK_HOST: '10.0.0.5' });
    expect(containerPorts({ Resources: { ports: '0' } }, 9000)).toEqual([]);
  });

  it('turns cpus and memory (MB) into engine units, zero meaning no limit', () => {
    expect(limits({ Resources: { cpus: '0.5', memory: '100' } })).toEqual({ nanoCpus: 500_000_000, memoryBytes: 104_857_600 });
    expect(limits({ Resources: { cpus: '0', memory: '0' } })).toEqual({ nanoCpus: undefined, memoryBytes: undefined });
  });

  it('runs long-lived kinds only', () => {
    expect(() => checkKind(state(), 'docker')).not.toThrow();
    const e = caught(() => checkKind(state({}, { kind: 'once' }), 'docker'));
    expect(isSousError(e) && e.code).toBe('KIND_UNSUPPORTED');
  });
});

describe('labels', () => {
  it('round-trip the intended deployment', () => {
    const d = state();
    const labels = deploymentLabels(d, configHash(d, true));
    expect(labels[LABELS.deployment]).toBe('prod:github.com/acme/shop');
    expect(stateFromLabels(labels)).toEqual({ manifestID: d.manifestID, kind: 'http-service', owners: ['a@x', 'b@x'], spec: d.spec });
    expect(stateFromLabels({ [LABELS.state]: '{not json' })).toBeUndefined();
    expect(stateFromLabels({})).toBeUndefined();
  });

  it('hash the configuration without the instance count, with owners only when asked', () => {
    const a = state();
    expect(configHash(state({ NumInstances: 5 }), true)).toBe(configHash(a, true));
    expect(configHash(state({ Version: '1.3.0' }), true)).not.toBe(configHash(a, true));
    const owners = state({}, { owners: ['c@x'] });
    expect(configHash(owners, false)).toBe(configHash(a, false));
    expect(configHash(owners, true)).not.toBe(configHash(a, true));
    expect(configHash(state({ Env: { B: '2', A: '1' } }), true)).toBe(configHash(state({ Env: { A: '1', B: '2' } }), true));
  });

  it('slugs names', () => {
    expect(slug('prod:github.com/acme/Shop~canary')).toBe('prod-github-com-acme-shop-canary');
    expect(slug('---')).toBe('x');
  });
});

describe('cluster settings', () => {
  it('bind to 127.0.0.1 on a local engine and to every address on a remote one', () => {
    expect(clusterSettings('l', { Kind: 'docker', BaseURL: 'unix:///run/docker.sock' }, {})).toMatchObject({ bindAddress: '127.0.0.1', taskHost: '127.0.0.1', probeHost: '127.0.0.1' });
    expect(clusterSettings('r', { Kind: 'docker', BaseURL: 'tcp://10.0.0.7:2375' }, {})).toMatchObject({ bindAddress: '0.0.0.0', taskHost: '10.0.0.7', probeHost: '10.0.0.7' });
  });

  it('take BaseURL query parameters over per-cluster options over plugin options', () => {
    const opts = { bindAddress: '10.1.1.1', stopGraceSeconds: 3, clusters: { b: { bindAddress: '10.2.2.2' } } };
    expect(clusterSettings('a', { Kind: 'docker', BaseURL: 'unix:///s' }, opts)).toMatchObject({ bindAddress: '10.1.1.1', stopGraceSeconds: 3 });
    expect(clusterSettings('b', { Kind: 'docker', BaseURL: 'unix:///s' }, opts)).toMatchObject({ bindAddress: '10.2.2.2' });
    expect(clusterSettings('b', { Kind: 'docker', BaseURL: 'unix:///s?bind=0.0.0.0&taskHost=box.example' }, opts)).toMatchObject({ bindAddress: '0.0.0.0', taskHost: 'box.example', probeHost: '127.0.0.1' });
  });

  it('refuse an engine address they cannot use', () => {
    const e = caught(() => clusterSettings('x', { Kind: 'docker', BaseURL: 'ftp://nope' }, {}));
    expect(isSousError(e) && [e.code, e.field]).toEqual(['INVALID_BASE_URL', 'Clusters.x.BaseURL']);
  });
});
