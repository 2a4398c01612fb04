import { failure, usageError, type SousError } from '../errors';
import { manifestKey, parseManifestText, unreadableManifest, type State, type StateFlaw } from '../gdm/state';
import { renderYaml } from '../gdm/codec';
import type { User } from '../gdm/store';
import { formatManifestID, formatSourceLocation, type ManifestID } from '../model/ids';
import { canonicalManifest, checkSecretProviders, clone, defaultDeploySpec, manifestIDOf } from '../model/manifest';
import { MANIFEST_KINDS, type AutoDeployPause, type DeploySpec, type Manifest } from '../model/types';
import { closest } from '../util/text';
import type { StateBackend } from './backend';

/** What a command that needs a manifest says when its file is in the GDM but does not read. */
export function unreadableError(f: StateFlaw): SousError {
  return failure('MANIFEST_UNREADABLE', `manifest ${f.manifest} cannot be read, so nothing of it was changed: ${f.message}`, {
    file: f.path,
    hints: [`Fix ${f.path} in the state repository and commit (git log -p -- ${f.path} shows how it changed)`, 'or replace the whole manifest: sous manifest set --repo REPO < manifest.yaml'],
    details: { manifest: f.manifest, file: f.path, cause: f.code },
  });
}

/** MANIFEST_UNREADABLE when the manifest's file is in the GDM but could not be read. */
export function checkReadable(state: Pick<State, 'flaws'>, id: ManifestID): void {
  const flaw = unreadableManifest(state, manifestKey(id));
  if (flaw) throw unreadableError(flaw);
}

/** The stored manifest (a copy), MANIFEST_UNREADABLE when its file does not read, or MANIFEST_NOT_FOUND with the nearest ID. */
export function findManifest(state: State, id: ManifestID): Manifest {
  const m = state.manifests.get(manifestKey(id));
  if (!m) {
    checkReadable(state, id);
    const known = [...state.manifests.keys()];
    const near = closest(manifestKey(id), known);
    throw usageError('MANIFEST_NOT_FOUND', `no manifest ${manifestKey(id)} in the GDM`, {
      hints: [near ? `did you mean ${near}?` : 'List them with: sous query gdm', 'Register an application with: sous init --kind http-service'],
    });
  }
  return clone(m.manifest);
}

/** UNKNOWN_CLUSTER (with the nearest name) unless defs.yaml defines the cluster. */
export function checkCluster(state: State, cluster: string, file?: string): void {
  const clusters = Object.keys(state.defs.Clusters ?? {});
  if (!clusters.includes(cluster)) {
    const near = closest(cluster, clusters);
    throw usageError('UNKNOWN_CLUSTER', `${file ? `${file}: Deployments.${cluster}: ` : ''}cluster ${JSON.stringify(cluster)} is not defined`, {
      ...(file ? { file, field: `Deployments.${cluster}` } : {}),
      hints: [near ? `did you mean ${JSON.stringify(near)}?` : clusters.length ? `known clusters: ${clusters.join(', ')}` : 'No clusters are defined yet', 'Add one with: sous cluster add --name NAME --kind docker --base-url unix:///var/run/docker.sock'],
    });
  }
}

/** A manifest's deployment in a cluster, or DEPLOYMENT_NOT_FOUND naming the ones it has. */
export function specFor(m: Manifest, id: ManifestID, cluster: string): DeploySpec {
  const spec = m.Deployments?.[cluster];
  if (!spec) {
    throw usageError('DEPLOYMENT_NOT_FOUND', `manifest ${manifestKey(id)} has no deployment in cluster ${JSON.stringify(cluster)}`, {
      hints: [`Its clusters: ${Object.keys(m.Deployments ?? {}).join(', ') || '(none)'}`, 'Add one with: sous manifest edit'],
    });
  }
  return spec;
}

export interface InitRequest {
  id: ManifestID;
  kind: string;
  /** Only this cluster; all known clusters when unset. */
  cluster?: string;
  owners?: string[];
  user: User;
}

/** `sous init`: a manifest with Sous's defaults for every known cluster, or the named one. */
export async function initManifest(backend: StateBackend, req: InitRequest): Promise<{ manifest: Manifest; revision: string }> {
  if (!(MANIFEST_KINDS as readonly string[]).includes(req.kind)) {
    const near = closest(req.kind, MANIFEST_KINDS);
    throw usageError('INVALID_KIND', `${JSON.stringify(req.kind)} is not a kind of application Sous knows`, {
      hints: [near ? `did you mean ${JSON.stringify(near)}?` : `kinds: ${MANIFEST_KINDS.join(', ')}`],
    });
  }
  const r = await backend.update((state) => {
    checkReadable(state, req.id);
    if (state.manifests.has(manifestKey(req.id))) {
      throw usageError('MANIFEST_EXISTS', `manifest ${manifestKey(req.id)} already exists`, {
        hints: ['Change it with: sous manifest edit (or sous manifest get / sous manifest set)'],
      });
    }
    const clusters = req.cluster ? [req.cluster] : Object.keys(state.defs.Clusters ?? {}).sort();
    if (req.cluster) checkCluster(state, req.cluster);
    if (clusters.length === 0) {
      throw usageError('NO_CLUSTERS', 'no clusters are defined, so there is nowhere to deploy to', {
        hints: ['Add one first: sous cluster add --name local --kind docker --base-url unix:///var/run/docker.sock'],
      });
    }
    const manifest: Manifest = {
      Source: formatSourceLocation(req.id.source),
      ...(req.id.flavor ? { Flavor: req.id.flavor } : {}),
      Owners: req.owners ?? [],
      Kind: req.kind as Manifest['Kind'],
      Deployments: Object.fromEntries(clusters.map((c) => [c, defaultDeploySpec()])),
    };
    return { change: { message: `Register ${manifestKey(req.id)} (${req.kind}) in ${clusters.join(', ')}`, setManifests: [manifest] }, result: canonicalManifest(manifest) };
  }, req.user);
  return { manifest: r.result, revision: r.revision };
}

export async function getManifest(backend: StateBackend, id: ManifestID): Promise<{ manifest: Manifest; yaml: string; revision: string }> {
  const state = await backend.read();
  findManifest(state, id);
  const stored = state.manifests.get(manifestKey(id))!;
  return { manifest: clone(stored.manifest), yaml: stored.text, revision: state.revision };
}

/**
 * `sous manifest set`: replaces a manifest with the YAML given. With
 * `expected` (the text an edit started from), refuses when the stored manifest
 * changed meanwhile: an edit must not overwrite someone else's change unseen.
 */
export async function setManifest(
  backend: StateBackend,
  id: ManifestID,
  yaml: string,
  user: User,
  opts: { expected?: string; file?: string; secretProviders?: readonly string[] } = {},
): Promise<{ manifest: Manifest; revision: string; changed: boolean }> {
  const file = opts.file ?? '<stdin>';
  const parsed = parseManifestText(yaml, file);
  if (opts.secretProviders) checkSecretProviders(parsed, opts.secretProviders, file);
  const parsedKey = formatManifestID(manifestIDOf(parsed));
  if (parsedKey !== manifestKey(id)) {
    throw usageError('MANIFEST_ID_MISMATCH', `${file}: the manifest is for ${parsedKey}, not ${manifestKey(id)}`, {
      file,
      field: 'Source',
      hints: ['Keep Source and Flavor as they are, or choose the manifest with --repo/--offset/--flavor'],
    });
  }
  const r = await backend.update((state) => {
    if (opts.expected !== undefined) {
      const now = state.manifests.get(manifestKey(id));
      if ((now?.text ?? '') !== opts.expected) {
        throw usageError('MANIFEST_CHANGED', `manifest ${manifestKey(id)} changed while it was being edited; nothing was written`, {
          hints: ['Run the edit again to start from the current manifest'],
        });
      }
    }
    for (const c of Object.keys(parsed.Deployments ?? {})) checkCluster(state, c, file);
    return { change: { message: `Set manifest ${manifestKey(id)}`, setManifests: [parsed] }, result: canonicalManifest(parsed) };
  }, user);
  return { manifest: r.result, revision: r.revision, changed: r.changed };
}

/** Applies `edit` to one deployment's spec and writes the manifest back. */
export async function updateDeploySpec(
  backend: StateBackend,
  id: ManifestID,
  cluster: string,
  user: User,
  message: string,
  edit: (spec: DeploySpec) => void,
): Promise<{ spec: DeploySpec; revision: string; changed: boolean }> {
  const r = await backend.update((state) => {
    checkCluster(state, cluster);
    const m = findManifest(state, id);
    const spec = specFor(m, id, cluster);
    edit(spec);
    return { change: { message, setManifests: [m] }, result: clone(spec) };
  }, user);
  return { spec: r.result, revision: r.revision, changed: r.changed };
}

export async function getMetadata(backend: StateBackend, id: ManifestID, cluster?: string): Promise<Record<string, Record<string, string>>> {
  const state = await backend.read();
  const m = findManifest(state, id);
  if (cluster) {
    checkCluster(state, cluster);
    return { [cluster]: specFor(m, id, cluster).Metadata ?? {} };
  }
  return Object.fromEntries(Object.entries(m.Deployments ?? {}).map(([c, s]) => [c, s.Metadata ?? {}]));
}

export async function setMetadata(backend: StateBackend, id: ManifestID, clusters: string[] | undefined, key: string, value: string | undefined, user: User): Promise<{ revision: string; changed: boolean; clusters: string[] }> {
  if (!/^[A-Za-z0-9_.-]+$/.test(key)) {
    throw usageError('INVALID_METADATA_KEY', `metadata key ${JSON.stringify(key)} is not allowed`, { hints: ['Keys are letters, digits, ".", "_" and "-"'] });
  }
  const r = await backend.update((state) => {
    const m = findManifest(state, id);
    const targets = clusters ?? Object.keys(m.Deployments ?? {});
    for (const c of targets) {
      checkCluster(state, c);
      const spec = specFor(m, id, c);
      const md = { ...(spec.Metadata ?? {}) };
      if (value === undefined) delete md[key];
      else md[key] = value;
      spec.Metadata = md;
    }
    const what = value === undefined ? `Unset metadata ${key}` : `Set metadata ${key}=${value}`;
    return { change: { message: `${what} on ${manifestKey(id)} in ${targets.join(', ')}`, setManifests: [m] }, result: targets };
  }, user);
  return { revision: r.revision, changed: r.changed, clusters: r.result };
}

export async function scale(backend: StateBackend, id: ManifestID, cluster: string, instances: number, user: User): Promise<{ spec: DeploySpec; revision: string; changed: boolean }> {
  if (!Number.isInteger(instances) || instances < 0) {
    throw usageError('INVALID_INSTANCES', `${instances} is not a number of instances`, { hints: ['Give a whole number, 0 or more: sous scale --cluster prod --instances 3'] });
  }
  return updateDeploySpec(backend, id, cluster, user, `Scale ${manifestKey(id)} in ${cluster} to ${instances}`, (spec) => {
    spec.NumInstances = instances;
  });
}

/**
 * Lifts the AutoDeploy pause a rollback left on a deployment, so new builds
 * in its range deploy themselves again. A deployment that is not paused is
 * left as it is (changed: false); one without AutoDeploy is refused.
 */
export async function resumeAutoDeploy(backend: StateBackend, id: ManifestID, cluster: string, user: User): Promise<{ spec: DeploySpec; revision: string; changed: boolean; wasPaused?: AutoDeployPause }> {
  let was: AutoDeployPause | undefined;
  const r = await updateDeploySpec(backend, id, cluster, user, `Resume AutoDeploy of ${manifestKey(id)} in ${cluster}\n\nSous-Change: resume`, (spec) => {
    if (!spec.AutoDeploy) {
      throw usageError('NO_AUTODEPLOY', `${cluster}:${manifestKey(id)} has no AutoDeploy range, so there is nothing to resume`, { hints: ['Set one in the manifest: Deployments.<cluster>.AutoDeploy: "^1.2.0" (sous manifest edit)'] });
    }
    was = spec.AutoDeployPaused;
    delete spec.AutoDeployPaused;
  });
  return { ...r, ...(was ? { wasPaused: was } : {}) };
}
