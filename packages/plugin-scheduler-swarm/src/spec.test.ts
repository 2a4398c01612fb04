import { isSousError, type DeployState } from '@sous/core';
import { LABELS } from '@sous/plugin-scheduler-docker';
import { serviceState } from './actual';
import { swarmSettings } from './options';
import { serviceName, serviceSpec } from './spec';
import type { Service, Task } from './swarm';

const DIGEST = `sha256:${'c'.repeat(64)}`;
const post: DeployState = {
  id: 'prod:github.com/acme/shop',
  manifestID: { source: { repo: 'github.com/acme/shop', dir: '' }, flavor: '' },
  cluster: 'prod',
  kind: 'http-service',
  owners: ['a@x'],
  spec: { Version: '1.2.0', Digest: DIGEST, Image: 'reg.example/acme/shop', NumInstances: 3, Resources: { cpus: '0.5', memory: '64', ports: '2' }, Env: { A: '1' }, Volumes: [{ Host: '/srv', Container: '/data', Mode: 'RO' }], Startup: { CheckReadyURIPath: '/ready', ConnectDelay: 1, Timeout: 20 } },
  status: 'Active',
};

describe('service spec', () => {
  it('describes replicas, env, limits, host-mode ports, start-first updates with rollback, and labels', () => {
    const s = serviceSpec(post, swarmSettings('prod', { Kind: 'swarm', BaseURL: 'unix:///s', Registry: 'cache.prod:5000' }, { updateMonitorSeconds: 2 }));
    expect(s.Name).toBe(serviceName(post.id));
    expect(s.Name.length).toBeLessThanOrEqual(63);
    expect(s.Mode).toEqual({ Replicated: { Replicas: 3 } });
    expect(s.TaskTemplate.ContainerSpec.Image).toBe(`cache.prod:5000/acme/shop@${DIGEST}`);
    expect(s.TaskTemplate.ContainerSpec.Env).toEqual(['A=1', 'PORT0=8080', 'PORT1=8081', 'PORT=8080', 'TASK_HOST={{.Node.Hostname}}']);
    expect(s.TaskTemplate.ContainerSpec.Mounts).toEqual([{ Type: 'bind', Source: '/srv', Target: '/data', ReadOnly: true }]);
    expect(s.TaskTemplate.Resources).toEqual({ Limits: { NanoCPUs: 500_000_000, MemoryBytes: 64 * 1048576 } });
    expect(s.EndpointSpec!.Ports).toEqual([
      { Protocol: 'tcp', TargetPort: 8080, PublishMode: 'host' },
      { Protocol: 'tcp', TargetPort: 8081, PublishMode: 'host' },
    ]);
    expect(s.UpdateConfig).toEqual({ Parallelism: 1, Delay: 0, FailureAction: 'rollback', Monitor: 2e9, MaxFailureRatio: 0, Order: 'start-first' });
    expect(s.Labels[LABELS.deployment]).toBe(post.id);
    expect(s.TaskTemplate.ContainerSpec.Labels![LABELS.config]).toBe(s.Labels[LABELS.config]);
    expect(s.TaskTemplate.ContainerSpec.Healthcheck).toBeUndefined();
  });

  it('health-checks inside the container from the Startup settings when asked', () => {
    const s = serviceSpec(post, swarmSettings('prod', { Kind: 'swarm' }, { healthcheck: 'curl' }));
    expect(s.TaskTemplate.ContainerSpec.Healthcheck).toEqual({ Test: ['CMD', 'curl', '-fsS', '-o', '/dev/null', 'http://127.0.0.1:8080/ready'], Interval: 5e8, Timeout: 5e9, StartPeriod: 21e9, Retries: 3 });
    const custom = serviceSpec(post, swarmSettings('prod', { Kind: 'swarm' }, { healthcheck: ['/bin/check', '{url}'] }));
    expect(custom.TaskTemplate.ContainerSpec.Healthcheck!.Test).toEqual(['CMD', '/bin/check', 'http://127.0.0.1:8080/ready']);
  });

  it('refuses options it cannot use', () => {
    let e: unknown;
    try {
      swarmSettings('prod', { Kind: 'swarm' }, { healthcheck: 'telnet' as never });
    } catch (x) {
      e = x;
    }
    expect(isSousError(e) && e.code).toBe('INVALID_PLUGIN_OPTION');
  });
});

describe('service state', () => {
  const spec = serviceSpec(post, swarmSettings('prod', { Kind: 'swarm' }, {}));
  const svc = (over: Partial<Service> = {}): Service => ({ ID: 's1', Version: { Index: 3 }, CreatedAt: '', UpdatedAt: '', Spec: spec, ...over });
  const task = (id: string, state: string, config = spec.Labels[LABELS.config]): Task => ({ ID: id, ServiceID: 's1', CreatedAt: '', DesiredState: 'running', Spec: { ContainerSpec: { Labels: { [LABELS.config]: config } } }, Status: { State: state } });

  it('is Active with every replica of the current configuration running', () => {
    const d = serviceState('prod', svc(), [task('a', 'running'), task('b', 'running'), task('c', 'running')], 'unix:///s')!;
    expect([d.id, d.status, d.spec.NumInstances, d.spec.Version, d.owners]).toEqual([post.id, 'Active', 3, '1.2.0', ['a@x']]);
  });

  it('is Pending while updating or short of replicas, Failed when an update paused', () => {
    expect(serviceState('prod', svc({ UpdateStatus: { State: 'updating' } }), [], '')!.status).toBe('Pending');
    expect(serviceState('prod', svc(), [task('a', 'running'), task('b', 'running'), task('c', 'running', 'old')], '')).toMatchObject({ status: 'Pending', message: '2 of 3 task(s) running, 1 of an earlier configuration' });
    expect(serviceState('prod', svc({ UpdateStatus: { State: 'paused', Message: 'update paused due to failure' } }), [], '')).toMatchObject({ status: 'Failed', message: 'update paused due to failure' });
  });

  it('reports the digest the service really runs', () => {
    const other = `sha256:${'d'.repeat(64)}`;
    const changed = { ...spec, TaskTemplate: { ...spec.TaskTemplate, ContainerSpec: { ...spec.TaskTemplate.ContainerSpec, Image: `reg.example/acme/shop@${other}` } } };
    expect(serviceState('prod', svc({ Spec: changed }), [], '')!.spec.Digest).toBe(other);
  });
});
