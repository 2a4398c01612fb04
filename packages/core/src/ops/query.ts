import { intendedDeployments } from '../gdm/state';
import { formatManifestID, parseSourceLocation } from '../model/ids';
import { parseVersion } from '../model/version';
import type { ArtifactRecord, DeploySpec } from '../model/types';
import type { StateBackend } from './backend';
import { matchesDeployment, matchesManifest, resolveFilters, type Filters } from './filters';

export interface GdmRow {
  deploymentID: string;
  cluster: string;
  manifestID: string;
  repo: string;
  offset: string;
  flavor: string;
  kind: string;
  owners: string[];
  version: string;
  digest?: string;
  instances: number;
  spec: DeploySpec;
}

/** `sous query gdm`: every intended deployment (expanded with cluster defaults) that matches the filters. */
export async function queryGdm(backend: StateBackend, filters: Filters): Promise<{ revision: string; rows: GdmRow[]; flaws: { path: string; code: string; message: string }[] }> {
  const f = resolveFilters(filters);
  const state = await backend.read();
  const rows = intendedDeployments(state)
    .filter((d) => matchesDeployment(f, d.manifestID, d.cluster))
    .map((d) => ({
      deploymentID: d.id,
      cluster: d.cluster,
      manifestID: formatManifestID(d.manifestID),
      repo: d.manifestID.source.repo,
      offset: d.manifestID.source.dir,
      flavor: d.manifestID.flavor,
      kind: d.kind,
      owners: d.owners,
      version: d.spec.Version ?? '',
      digest: d.spec.Digest,
      instances: d.spec.NumInstances ?? 0,
      spec: d.spec,
    }))
    .sort((a, b) => a.deploymentID.localeCompare(b.deploymentID));
  return { revision: state.revision, rows, flaws: [...state.flaws] };
}

/** `sous query artifacts`: built images in the artifact index. */
export async function queryArtifacts(backend: StateBackend, filters: Filters & { version?: string }): Promise<ArtifactRecord[]> {
  const f = resolveFilters(filters);
  if (filters.version !== undefined) parseVersion(filters.version);
  const records =
    f.repo !== undefined && f.offset !== undefined ? await backend.artifacts({ repo: f.repo, dir: f.offset }) : await backend.allArtifacts();
  return records
    .filter((a) => {
      const sl = parseSourceLocation(a.Source);
      return matchesManifest({ repo: f.repo, offset: f.offset }, { source: sl, flavor: '' }) && (!filters.version || a.Version === filters.version);
    })
    .sort((a, b) => a.Source.localeCompare(b.Source) || a.Version.localeCompare(b.Version));
}
