import { usageError } from '../errors';
import { checkPart, parseSourceLocation, type ManifestID } from '../model/ids';

/** The original's filter flags: --repo --offset --flavor --cluster (and --source repo,offset). */
export interface Filters {
  repo?: string;
  offset?: string;
  flavor?: string;
  cluster?: string;
  source?: string;
}

export interface ResolvedFilters {
  repo?: string;
  offset?: string;
  flavor?: string;
  cluster?: string;
}

export function resolveFilters(f: Filters): ResolvedFilters {
  const out: ResolvedFilters = { repo: f.repo, offset: f.offset, flavor: f.flavor, cluster: f.cluster };
  if (f.source) {
    if (f.repo || f.offset !== undefined) {
      throw usageError('FLAG_CONFLICT', '--source cannot be used together with --repo or --offset', { hints: ['--source repo,offset is shorthand for --repo repo --offset offset'] });
    }
    const sl = parseSourceLocation(f.source);
    out.repo = sl.repo;
    out.offset = sl.dir;
  }
  // A filter that no ID could hold is a mistake, not an empty result.
  if (out.repo !== undefined) checkPart('--repo', out.repo, out.repo);
  if (out.offset !== undefined) checkPart('--offset', out.offset, out.offset);
  if (out.flavor !== undefined) checkPart('--flavor', out.flavor, out.flavor);
  if (out.cluster !== undefined) checkPart('--cluster', out.cluster, out.cluster);
  return out;
}

export function matchesManifest(f: ResolvedFilters, id: ManifestID): boolean {
  if (f.repo !== undefined && f.repo !== id.source.repo) return false;
  if (f.offset !== undefined && f.offset !== id.source.dir) return false;
  if (f.flavor !== undefined && f.flavor !== id.flavor) return false;
  return true;
}

export function matchesDeployment(f: ResolvedFilters, id: ManifestID, cluster: string): boolean {
  return matchesManifest(f, id) && (f.cluster === undefined || f.cluster === cluster);
}
