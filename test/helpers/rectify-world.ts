/**
 * The real rectifier as the CLI builds it, for scheduler tests: a git-backed
 * GDM in a temp dir with clusters and artifact records, a Sous with the
 * given scheduler plugins, and Rectifiers over it.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Gdm, loadConfig, Rectifier, Sous, type Cluster, type Manifest, type SousEvent, type SousPlugin, type Startup } from '@sous/core';
import type { AppImage } from './sched-images';

export const USER = { name: 'Scheduler Test', email: 'sched@example.com' };

export interface World {
  dir: string;
  gdm: Gdm;
  sous: Sous;
  events: SousEvent[];
  rectifier: Rectifier;
  /** A Rectifier with its own Sous and status dir: another process's, as far as the GDM and cluster know. */
  another(plugins: SousPlugin[]): Promise<Rectifier>;
}

export async function makeWorld(clusters: Record<string, Cluster>, plugins: SousPlugin[], rectify: Record<string, number> = {}): Promise<World> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sous-sched-'));
  const gdm = await Gdm.open(path.join(dir, 'state'), { user: USER });
  await gdm.update((s) => ({ change: { message: 'clusters', defs: { ...s.defs, Clusters: clusters } }, result: undefined }), USER);
  const makeSous = async () => {
    const base = await loadConfig({ cwd: dir, env: { XDG_CONFIG_HOME: path.join(dir, 'cfg') }, repoConfig: false });
    const config = Object.freeze({ ...base, rectify: { ...base.rectify, retries: 3, ...rectify } });
    return Sous.create(config);
  };
  const sous = (await makeSous()).use(...plugins);
  const events: SousEvent[] = [];
  sous.hooks.event.tapPromise('test', async (e) => {
    events.push(e);
  });
  let n = 0;
  return {
    dir,
    gdm,
    sous,
    events,
    rectifier: new Rectifier(sous, gdm, path.join(dir, 'status')),
    async another(more) {
      return new Rectifier((await makeSous()).use(...more), gdm, path.join(dir, `status-${++n}`));
    },
  };
}

export function cluster(kind: string, baseURL: string, extra: Partial<Cluster> = {}): Cluster {
  return { Kind: kind, BaseURL: baseURL, Env: { CLUSTER_ENV: 'from-cluster' }, AllowedAdvisories: [], ...extra };
}

export interface AppSpec {
  repo: string;
  version: string;
  app: AppImage;
  instances?: number;
  env?: Record<string, string>;
  startup?: Startup;
  resources?: Record<string, string>;
  volumes?: { Host: string; Container: string; Mode?: 'RO' | 'RW' }[];
  kind?: Manifest['Kind'];
  owners?: string[];
}

/** Records the artifact for the version (as `sous build` would) and points the manifest's deployment in `clusterName` at it. */
export async function deployApp(w: World, clusterName: string, a: AppSpec): Promise<void> {
  await w.gdm.update(
    (s) => {
      const existing = s.manifests.get(a.repo)?.manifest;
      const m: Manifest = existing ? JSON.parse(JSON.stringify(existing)) : { Source: a.repo, Owners: a.owners ?? ['team@example.com'], Kind: a.kind ?? 'http-service', Deployments: {} };
      if (a.owners) m.Owners = a.owners;
      m.Deployments = m.Deployments ?? {};
      m.Deployments[clusterName] = {
        Resources: a.resources ?? { cpus: '0.1', memory: '64', ports: '1' },
        Env: a.env ?? {},
        NumInstances: a.instances ?? 1,
        Volumes: a.volumes ?? [],
        ...(a.startup ? { Startup: a.startup } : {}),
        Version: a.version,
        Digest: a.app.digest,
        Image: a.app.image,
      };
      return {
        change: {
          message: `deploy ${a.repo} ${a.version}`,
          setManifests: [m],
          artifacts: [{ Source: a.repo, Version: a.version, Image: a.app.image, Digest: a.app.digest, Advisories: [], Deployable: true, BuiltAt: new Date().toISOString() }],
        },
        result: undefined,
      };
    },
    USER,
  );
}

/** Removes a manifest's deployment from a cluster. */
export async function undeployApp(w: World, clusterName: string, repo: string): Promise<void> {
  await w.gdm.update((s) => {
    const m = JSON.parse(JSON.stringify(s.manifests.get(repo)!.manifest)) as Manifest;
    delete m.Deployments![clusterName];
    return { change: { message: `undeploy ${repo}`, setManifests: [m] }, result: undefined };
  }, USER);
}

/** GET http://host:port/path, resolving status and body (status 0 when nothing answers). */
export async function httpGet(url: string, timeoutMs = 3000): Promise<{ status: number; body: string }> {
  try {
    const r = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    return { status: r.status, body: await r.text() };
  } catch {
    return { status: 0, body: '' };
  }
}
