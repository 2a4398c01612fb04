/**
 * The application, cluster and Sous the Singularity scheduler tests share,
 * matching the modelled exchanges in test/fixtures/modelled/singularity.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { expandDeploySpec, formatManifestID, intendedState, loadConfig, manifestIDOf, planActions, Sous, type Cluster, type DeploySpec, type DeployState, type Manifest, type Scheduler } from '@sous/core';
import { singularityScheduler, type SingularityOptions } from '@sous/plugin-scheduler-singularity';

export const DIGEST_A = `sha256:${'a'.repeat(64)}`;
export const DIGEST_B = `sha256:${'b'.repeat(64)}`;
/** The request ID the original Sous derives for github.com/acme/shop on cluster east. */
export const SHOP_RID = 'shop---east-87297e6cb13f3e960b8bc994e56d4706';
export const USER = { name: 'Tester', email: 'tester@example.com' };

export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export function eastCluster(url: string): Cluster {
  return {
    Name: 'east',
    Kind: 'singularity',
    BaseURL: `${url}/singularity`,
    Env: { REGION: 'east' },
    Startup: { ConnectDelay: 5, CheckReadyRetries: 3 },
    Registry: 'registry.example.com',
    AllowedAdvisories: [],
  };
}

export function shopSpec(over: Partial<DeploySpec> = {}): DeploySpec {
  return {
    Resources: { cpus: '0.5', memory: '256', ports: '1' },
    Env: { LOG_LEVEL: 'info' },
    NumInstances: 2,
    Volumes: [],
    Startup: { CheckReadyURIPath: '/ready', Timeout: 30, CheckReadyInterval: 5 },
    Version: '1.2.0',
    Digest: DIGEST_A,
    ...over,
  };
}

export function manifest(source: string, kind: Manifest['Kind'], spec: DeploySpec, owners = ['ops@acme.example']): Manifest {
  return { Source: source, Owners: owners, Kind: kind, Deployments: { east: spec } };
}

/** The intended DeployState of a manifest on a cluster, as the rectifier builds it. */
export function intended(m: Manifest, cluster: string, def: Cluster): DeployState {
  const mid = manifestIDOf(m);
  return intendedState({ id: `${cluster}:${formatManifestID(mid)}`, manifestID: mid, cluster, clusterDef: def, kind: m.Kind, owners: m.Owners ?? [], spec: expandDeploySpec(m.Deployments![cluster], def) });
}

export async function makeSous(dir: string): Promise<Sous> {
  const base = await loadConfig({ cwd: dir, env: { XDG_CONFIG_HOME: path.join(dir, 'cfg') }, repoConfig: false });
  return Sous.create(Object.freeze({ ...base, user: USER }));
}

/** A Singularity scheduler for cluster east, got the way the rectifier gets it: through the plugin's hook. */
export async function schedulerFor(url: string, opts: SingularityOptions = {}): Promise<{ scheduler: Scheduler; def: Cluster; sous: Sous }> {
  const sous = await makeSous(tempDir('sous-sing-'));
  sous.use(singularityScheduler({ pollMs: 5, ...opts }));
  const def = eastCluster(url);
  const scheduler = sous.hooks.scheduler.for('singularity').call({ name: 'east', def });
  if (!scheduler) throw new Error('the Singularity plugin did not offer a scheduler');
  return { scheduler, def, sous };
}

export function plan(intendedStates: DeployState[], actual: DeployState[], prune = false) {
  return planActions(intendedStates, actual, { clustersRead: new Set(['east']), prune: () => prune, revision: 'test' });
}
