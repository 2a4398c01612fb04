import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseYaml } from '../gdm/codec';
import type { SousError } from '../errors';
import { canonicalDeploySpec, canonicalManifest, checkClustersKnown, defaultDeploySpec, expandDeploySpec, unexpandDeploySpec, validateManifest, manifestIDOf } from './manifest';
import { canonicalDefs, validateDefs, checkBaseURL, checkClusterName, emptyDefs } from './defs';
import type { Cluster, DeploySpec, Manifest } from './types';

const FIXTURES = path.resolve(__dirname, '../../../../test/fixtures/original-state');
const read = (p: string) => parseYaml(fs.readFileSync(path.join(FIXTURES, p), 'utf8'), p).value;

function err(f: () => unknown): SousError {
  try {
    f();
  } catch (e) {
    return e as SousError;
  }
  throw new Error('expected an error');
}

const base = (): Manifest => ({
  Source: 'github.com/acme/shop',
  Owners: [],
  Kind: 'http-service',
  Deployments: { prod: { Resources: { cpus: '0.1', memory: '100', ports: '1' }, NumInstances: 1, Volumes: [], Schedule: '', Version: '1.0.0' } },
});

describe('validateManifest', () => {
  it("accepts the original Sous's test manifests", () => {
    const m = validateManifest(read('manifests/github.com/opentable/sous.yaml'), 'sous.yaml');
    expect(m.Deployments!['other-cluster'].Startup!.CheckReadyFailureStatuses).toEqual([500, 503]);
    expect(m.Deployments!['cluster-1'].SingularityRequestID).toBe('service1-cluster1');
    expect(manifestIDOf(m)).toEqual({ source: { repo: 'github.com/opentable/sous', dir: '' }, flavor: '' });
    validateManifest(read('manifests/github.com/user/project.yaml'));
  });

  it('accepts every known kind', () => {
    for (const Kind of ['http-service', 'worker', 'on-demand', 'scheduled', 'once', 'scheduled-job'] as const) {
      expect(validateManifest({ ...base(), Kind }).Kind).toBe(Kind);
    }
  });

  it('refuses an unknown kind, with a did-you-mean hint', () => {
    const e = err(() => validateManifest({ ...base(), Kind: 'http-servise' }, 'm.yaml'));
    expect(e.code).toBe('MANIFEST_INVALID');
    expect(e.field).toBe('Kind');
    expect(e.message).toContain('m.yaml');
    expect(e.hints.join(' ')).toContain('http-service');
    expect(e.exit).toBe(2);
  });

  it('refuses a missing Source or Kind', () => {
    const { Source: _s, ...noSource } = base();
    expect(err(() => validateManifest(noSource)).field).toBe('Source');
    const { Kind: _k, ...noKind } = base();
    expect(err(() => validateManifest(noKind)).field).toBe('Kind');
  });

  it('refuses an unknown key with a did-you-mean hint', () => {
    const m = base() as unknown as Record<string, unknown>;
    (m.Deployments as Record<string, Record<string, unknown>>).prod.NumInstance = 3;
    const e = err(() => validateManifest(m, 'm.yaml'));
    expect(e.code).toBe('MANIFEST_UNKNOWN_KEY');
    expect(e.field).toBe('Deployments.prod.NumInstance');
    expect(e.hints[0]).toBe('did you mean "NumInstances"?');
  });

  it.each(['ConnectDelay', 'Timeout', 'ConnectInterval', 'CheckReadyPortIndex', 'CheckReadyURITimeout', 'CheckReadyInterval', 'CheckReadyRetries'])('refuses a negative Startup.%s', (f) => {
    const m = base();
    m.Deployments!.prod.Startup = { [f]: -1 };
    const e = err(() => validateManifest(m, 'm.yaml'));
    expect(e.code).toBe('MANIFEST_INVALID');
    expect(e.field).toBe(`Deployments.prod.Startup.${f}`);
    expect(e.message).toContain('must not be negative');
  });

  it('refuses negative instances and failure statuses', () => {
    const m = base();
    m.Deployments!.prod.NumInstances = -2;
    expect(err(() => validateManifest(m)).field).toBe('Deployments.prod.NumInstances');
    const m2 = base();
    m2.Deployments!.prod.Startup = { CheckReadyFailureStatuses: [500, -1] };
    expect(err(() => validateManifest(m2)).field).toBe('Deployments.prod.Startup.CheckReadyFailureStatuses.1');
  });

  it('keeps resources as strings: numbers written without quotes are read as their text', () => {
    const m = validateManifest({ ...base(), Deployments: { prod: { Resources: { cpus: 0.5, memory: 256, ports: 2 } } } });
    expect(m.Deployments!.prod.Resources).toEqual({ cpus: '0.5', memory: '256', ports: '2' });
  });

  it.each([
    ['cpus', 'lots'],
    ['cpus', '-1'],
    ['memory', '1.5'],
    ['memory', '2GB'],
    ['ports', '-1'],
  ])('refuses Resources.%s %j', (k, v) => {
    const m = base();
    m.Deployments!.prod.Resources = { [k]: v };
    const e = err(() => validateManifest(m, 'm.yaml'));
    expect(e.code).toBe('MANIFEST_INVALID_RESOURCE');
    expect(e.field).toBe(`Deployments.prod.Resources.${k}`);
    expect(e.hints.length).toBeGreaterThan(0);
  });

  it('refuses a version that is not semver, naming file and field', () => {
    const m = base();
    m.Deployments!.prod.Version = 'latest';
    const e = err(() => validateManifest(m, 'manifests/github.com/acme/shop.yaml'));
    expect(e.code).toBe('MANIFEST_INVALID_VERSION');
    expect(e.file).toBe('manifests/github.com/acme/shop.yaml');
    expect(e.field).toBe('Deployments.prod.Version');
    expect(e.message).toContain('manifests/github.com/acme/shop.yaml');
  });

  it('refuses a bad protocol, volume mode, digest, and a non-cron schedule for scheduled kinds', () => {
    const m = base();
    m.Deployments!.prod.Startup = { CheckReadyProtocol: 'FTP' as never };
    expect(err(() => validateManifest(m)).field).toBe('Deployments.prod.Startup.CheckReadyProtocol');
    const v = base();
    v.Deployments!.prod.Volumes = [{ Host: '/a', Container: '/b', Mode: 'XX' as never }];
    expect(err(() => validateManifest(v)).field).toBe('Deployments.prod.Volumes.0.Mode');
    const d = base();
    d.Deployments!.prod.Digest = 'sha256:xyz';
    expect(err(() => validateManifest(d)).field).toBe('Deployments.prod.Digest');
    const s = { ...base(), Kind: 'scheduled' as const };
    s.Deployments!.prod.Schedule = 'every day';
    expect(err(() => validateManifest(s)).code).toBe('MANIFEST_INVALID_SCHEDULE');
    s.Deployments!.prod.Schedule = '*/5 * * * *';
    expect(validateManifest(s).Deployments!.prod.Schedule).toBe('*/5 * * * *');
  });

  it('upper-cases a lower-case protocol', () => {
    const m = base();
    m.Deployments!.prod.Startup = { CheckReadyProtocol: 'https' };
    expect(validateManifest(m).Deployments!.prod.Startup!.CheckReadyProtocol).toBe('HTTPS');
  });

  it('refuses a Source that is not a source location', () => {
    expect(err(() => validateManifest({ ...base(), Source: 'github.com/a/b,c,d' })).code).toBe('INVALID_SOURCE_LOCATION');
  });
});

describe('checkClustersKnown', () => {
  it('names the unknown cluster and the known ones', () => {
    const e = err(() => checkClustersKnown(base(), { staging: { Kind: 'docker' } as Cluster }, 'm.yaml'));
    expect(e.code).toBe('UNKNOWN_CLUSTER');
    expect(e.field).toBe('Deployments.prod');
    expect(e.hints[0]).toContain('staging');
    expect(() => checkClustersKnown(base(), { prod: { Kind: 'docker' } as Cluster })).not.toThrow();
  });
});

describe('canonical forms', () => {
  it('orders fields as the original and leaves out empty optional ones', () => {
    const spec = canonicalDeploySpec({ Version: '1.0.0', Env: {}, Resources: { ports: '1', cpus: '1' }, Metadata: {}, Args: [], Startup: { CheckReadyURIPath: '' } });
    expect(Object.keys(spec)).toEqual(['Resources', 'NumInstances', 'Volumes', 'Schedule', 'Version']);
    expect(Object.keys(spec.Resources!)).toEqual(['cpus', 'ports']);
    const m = canonicalManifest({ Kind: 'worker', Deployments: { b: {}, a: {} }, Source: 'x/y', Flavor: '' } as Manifest);
    expect(Object.keys(m)).toEqual(['Source', 'Owners', 'Kind', 'Deployments']);
    expect(Object.keys(m.Deployments!)).toEqual(['a', 'b']);
  });

  it('keeps an AutoDeploy pause after AutoDeploy, and leaves it out when there is none', () => {
    const paused = canonicalDeploySpec({ Version: '1.0.0', AutoDeployPaused: { At: '2030-01-01T00:00:00Z', Reason: 'rollback of 1.1.0 to 1.0.0', By: 'Alice' }, AutoDeploy: '^1.0.0' });
    expect(Object.keys(paused).slice(-2)).toEqual(['AutoDeploy', 'AutoDeployPaused']);
    expect(Object.keys(paused.AutoDeployPaused!)).toEqual(['Reason', 'By', 'At']);
    expect(validateManifest({ Source: 'x/y', Kind: 'worker', Deployments: { a: paused } }).Deployments!.a.AutoDeployPaused!.Reason).toBe('rollback of 1.1.0 to 1.0.0');
    expect(canonicalDeploySpec({ Version: '1.0.0', AutoDeploy: '^1.0.0' })).not.toHaveProperty('AutoDeployPaused');
    expect(() => validateManifest({ Source: 'x/y', Kind: 'worker', Deployments: { a: { AutoDeployPaused: { By: 'Alice' } } } })).toThrow(expect.objectContaining({ code: 'MANIFEST_INVALID' }));
  });
});

describe('defs and clusters', () => {
  it("reads the original's defs.yaml", () => {
    const d = canonicalDefs(validateDefs(read('defs.yaml')));
    expect(d.DockerRepo).toBe('docker.somewhere.horse');
    expect(Object.keys(d.Clusters!)).toEqual(['cluster-1', 'other-cluster']);
    expect(d.Clusters!['cluster-1']).toEqual({ Name: '', Kind: 'singularity', BaseURL: 'http://singularity.example.com', Env: {}, AllowedAdvisories: [] });
  });

  it('refuses bad cluster names and base URLs', () => {
    expect(err(() => checkClusterName('a:b')).code).toBe('INVALID_CLUSTER_NAME');
    expect(err(() => checkClusterName('')).code).toBe('INVALID_CLUSTER_NAME');
    expect(err(() => checkBaseURL('ftp://x', 'where')).code).toBe('INVALID_BASE_URL');
    expect(err(() => checkBaseURL('not a url', 'where')).code).toBe('INVALID_BASE_URL');
    expect(() => checkBaseURL('unix:///var/run/docker.sock', 'where')).not.toThrow();
    const e = err(() => validateDefs({ Clusters: { prod: { Kind: 'docker', BaseURL: 'nope' } } }, 'defs.yaml'));
    expect(e.code).toBe('INVALID_BASE_URL');
    expect(e.message).toContain('defs.yaml');
  });

  it('refuses unknown keys, a cluster without a Kind, and negative cluster startup values', () => {
    const e = err(() => validateDefs({ Clusterz: {} }, 'defs.yaml'));
    expect(e.code).toBe('DEFS_UNKNOWN_KEY');
    expect(e.hints[0]).toBe('did you mean "Clusters"?');
    expect(err(() => validateDefs({ Clusters: { prod: { BaseURL: 'http://x' } } })).field).toBe('Clusters.prod.Kind');
    expect(err(() => validateDefs({ Clusters: { prod: { Kind: 'docker', Startup: { Timeout: -5 } } } })).field).toBe('Clusters.prod.Startup.Timeout');
  });

  it('an empty defs is valid', () => {
    expect(canonicalDefs(validateDefs(emptyDefs()))).toEqual(emptyDefs());
    expect(canonicalDefs(validateDefs(undefined))).toEqual(emptyDefs());
  });
});

describe('expansion with cluster defaults and the reverse', () => {
  const cluster: Cluster = {
    Kind: 'docker',
    BaseURL: 'http://x',
    Env: { REGION: 'eu', LOG_LEVEL: 'info' },
    Startup: { Timeout: 30, CheckReadyURIPath: '/ready', CheckReadyRetries: 5 },
    AllowedAdvisories: [],
  } as Cluster;

  it("fills unset Env keys and zero Startup fields from the cluster, and Sous's default resources", () => {
    const spec: DeploySpec = { Env: { LOG_LEVEL: 'debug' }, Startup: { CheckReadyRetries: 2 }, NumInstances: 2, Version: '1.0.0' };
    const e = expandDeploySpec(spec, cluster);
    expect(e.Env).toEqual({ REGION: 'eu', LOG_LEVEL: 'debug' });
    expect(e.Startup).toEqual({ Timeout: 30, CheckReadyURIPath: '/ready', CheckReadyRetries: 2, CheckReadyProtocol: 'HTTP' });
    expect(e.Resources).toEqual({ cpus: '0.1', memory: '100', ports: '1' });
    expect(e.Volumes).toEqual([]);
    // The input is not changed.
    expect(spec.Env).toEqual({ LOG_LEVEL: 'debug' });
  });

  it('defaults the readiness path and protocol without a cluster Startup', () => {
    const e = expandDeploySpec({}, undefined);
    expect(e.Startup).toEqual({ CheckReadyURIPath: '/health', CheckReadyProtocol: 'HTTP' });
    expect(e.NumInstances).toBe(0);
  });

  it('unexpanding takes back only what was inherited', () => {
    const stored: DeploySpec = { Env: { LOG_LEVEL: 'debug', REGION: 'eu' }, Startup: { Timeout: 30 }, NumInstances: 2, Version: '1.0.0' };
    const e = expandDeploySpec(stored, cluster);
    e.NumInstances = 4;
    const back = unexpandDeploySpec(e, cluster, stored);
    // REGION and Timeout were written in the stored spec, so they stay; the rest came from the cluster.
    expect(back.Env).toEqual({ LOG_LEVEL: 'debug', REGION: 'eu' });
    expect(back.Startup).toEqual({ Timeout: 30 });
    expect(back.NumInstances).toBe(4);
    expect(back.Resources).toEqual({});
  });

  it("round-trips the original's manifests through expand and unexpand", () => {
    const defs = canonicalDefs(validateDefs(read('defs.yaml')));
    for (const p of ['manifests/github.com/opentable/sous.yaml', 'manifests/github.com/user/project.yaml']) {
      const m = validateManifest(read(p));
      for (const [c, spec] of Object.entries(m.Deployments!)) {
        const cl = { ...defs.Clusters![c], Env: { EXTRA: '1' }, Startup: { Timeout: 10 } };
        const back = unexpandDeploySpec(expandDeploySpec(spec, cl), cl, spec);
        expect(canonicalDeploySpec(back)).toEqual(canonicalDeploySpec(spec));
      }
    }
  });

  it('a new deploy spec has the defaults sous init writes', () => {
    expect(defaultDeploySpec()).toEqual({ Resources: { cpus: '0.1', memory: '100', ports: '1' }, Env: {}, NumInstances: 1, Volumes: [], Schedule: '', Version: '' });
  });
});
