import { SousError, usageError } from '../errors';
import type { State } from '../gdm/state';
import { unreadableError } from './manifests';
import type { User } from '../gdm/store';
import { checkBaseURL, checkClusterName } from '../model/defs';
import { clone } from '../model/manifest';
import type { Cluster, Defs } from '../model/types';
import { ADVISORIES } from '../pipeline/types';
import { closest } from '../util/text';
import type { StateBackend } from './backend';

export interface ClusterSpec {
  name: string;
  kind: string;
  baseURL?: string;
  registry?: string;
  env?: Record<string, string>;
  allowedAdvisories?: string[];
  requireSignature?: boolean;
  trustedKeys?: string[];
  allowPrune?: boolean;
  allowAutoDeploy?: boolean;
}

const KNOWN_ADVISORIES = Object.values(ADVISORIES) as string[];

/** `sous cluster add`: defines (or with replace, redefines) a cluster in defs.yaml. */
export async function addCluster(backend: StateBackend, spec: ClusterSpec, user: User, opts: { replace?: boolean } = {}): Promise<{ cluster: Cluster; revision: string; changed: boolean }> {
  checkClusterName(spec.name);
  if (!/^[a-z][a-z0-9-]*$/.test(spec.kind)) {
    throw usageError('INVALID_CLUSTER_KIND', `cluster kind ${JSON.stringify(spec.kind)} is not a scheduler kind`, { hints: ['Kinds are lowercase words: docker, swarm, kubernetes, singularity'] });
  }
  if (spec.baseURL) checkBaseURL(spec.baseURL, '--base-url');
  for (const a of spec.allowedAdvisories ?? []) {
    if (!KNOWN_ADVISORIES.includes(a)) {
      const near = closest(a, KNOWN_ADVISORIES);
      throw usageError('UNKNOWN_ADVISORY', `${JSON.stringify(a)} is not an advisory`, {
        hints: [near ? `did you mean ${JSON.stringify(near)}?` : `advisories: ${KNOWN_ADVISORIES.join(', ')}`],
      });
    }
  }
  const r = await backend.update((state) => {
    const defs = clone(state.defs) as Defs;
    const clusters = (defs.Clusters ??= {});
    if (clusters[spec.name] && !opts.replace) {
      throw usageError('CLUSTER_EXISTS', `cluster ${JSON.stringify(spec.name)} is already defined`, { hints: ['Use --replace to redefine it'] });
    }
    const cluster: Cluster = {
      ...(opts.replace ? clusters[spec.name] : {}),
      Name: spec.name,
      Kind: spec.kind,
      BaseURL: spec.baseURL ?? clusters[spec.name]?.BaseURL ?? '',
      Env: spec.env ?? clusters[spec.name]?.Env ?? {},
      AllowedAdvisories: spec.allowedAdvisories ?? clusters[spec.name]?.AllowedAdvisories ?? [],
    };
    if (spec.registry !== undefined) cluster.Registry = spec.registry;
    if (spec.requireSignature !== undefined) cluster.RequireSignature = spec.requireSignature;
    if (spec.trustedKeys !== undefined) cluster.TrustedKeys = spec.trustedKeys;
    if (spec.allowPrune !== undefined) cluster.AllowPrune = spec.allowPrune;
    if (spec.allowAutoDeploy !== undefined) cluster.AllowAutoDeploy = spec.allowAutoDeploy;
    clusters[spec.name] = cluster;
    return { change: { message: `${opts.replace ? 'Redefine' : 'Add'} cluster ${spec.name} (${spec.kind})`, defs }, result: cluster };
  }, user);
  return { cluster: r.result, revision: r.revision, changed: r.changed };
}

/** `sous cluster remove`: refuses while manifests still deploy to the cluster, unless forced. */
export async function removeCluster(backend: StateBackend, name: string, user: User, opts: { force?: boolean } = {}): Promise<{ revision: string; changed: boolean }> {
  const r = await backend.update((state) => {
    const defs = clone(state.defs) as Defs;
    if (!defs.Clusters?.[name]) {
      const near = closest(name, Object.keys(defs.Clusters ?? {}));
      throw usageError('UNKNOWN_CLUSTER', `cluster ${JSON.stringify(name)} is not defined`, { hints: near ? [`did you mean ${JSON.stringify(near)}?`] : ['List them with: sous cluster list'] });
    }
    checkAllReadable(state, `whether it deploys to cluster ${JSON.stringify(name)}`);
    const users = [...state.manifests.values()].filter((m) => m.manifest.Deployments?.[name]);
    if (users.length && !opts.force) {
      throw usageError('CLUSTER_IN_USE', `cluster ${JSON.stringify(name)} is used by ${users.length} manifest(s): ${users.slice(0, 5).map((m) => m.key).join(', ')}${users.length > 5 ? ', ...' : ''}`, {
        hints: ['Remove those deployments first, or use --force to remove them with the cluster'],
      });
    }
    delete defs.Clusters[name];
    const setManifests = users.map((m) => {
      const copy = clone(m.manifest);
      delete copy.Deployments![name];
      return copy;
    });
    return { change: { message: `Remove cluster ${name}${users.length ? ` and its ${users.length} deployment(s)` : ''}`, defs, setManifests }, result: undefined };
  }, user);
  return { revision: r.revision, changed: r.changed };
}

/**
 * MANIFEST_UNREADABLE when some manifest does not read: a change that depends on
 * every manifest (removing a cluster they may deploy to) cannot be checked.
 */
export function checkAllReadable(state: Pick<State, 'flaws'>, what: string): void {
  const f = state.flaws.find((x) => x.manifest);
  if (!f) return;
  const e = unreadableError(f);
  throw new SousError(e.code, `manifest ${f.manifest} cannot be read, so there is no telling ${what}; nothing was changed: ${f.message}`, { exit: e.exit, file: e.file, hints: e.hints, details: e.details });
}

export async function listClusters(backend: StateBackend): Promise<{ name: string; cluster: Cluster }[]> {
  const state = await backend.read();
  return Object.entries(state.defs.Clusters ?? {}).map(([name, cluster]) => ({ name, cluster }));
}
