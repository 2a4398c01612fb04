import { usageError } from '../errors';
import { checkPart, formatManifestID, formatSourceLocation, parseManifestID, type ManifestID, type SourceLocation } from '../model/ids';

/**
 * Where things live in a state directory, as the original laid it out:
 *   defs.yaml
 *   manifests/<repo>[,<dir>][~<flavor>].yaml   (the repo's slashes are folders)
 *   artifacts/<repo>[,<dir>]/<version>.yaml    (the artifact index)
 *   servers.yaml                               (cluster → server URL)
 */
export const DEFS_PATH = 'defs.yaml';
/** Cluster name → the Sous server that rectifies it (an addition to the original layout). */
export const SERVERS_PATH = 'servers.yaml';
export const MANIFESTS_DIR = 'manifests';
export const ARTIFACTS_DIR = 'artifacts';

/** Refuses anything that could step outside the state directory or confuse git. */
export function checkRelativePath(p: string, what: string): void {
  const bad =
    p.length === 0 ||
    p.includes('\0') ||
    p.includes('\\') ||
    p.startsWith('/') ||
    /^[A-Za-z]:/.test(p) ||
    p.split('/').some((seg) => seg === '' || seg === '.' || seg === '..' || seg === '.git' || seg.startsWith('.git'));
  if (bad) {
    throw usageError('UNSAFE_PATH', `${what} ${JSON.stringify(p)} would not be a plain path inside the state directory`, {
      hints: ['Repos look like github.com/owner/name and dirs like services/api: no "..", no absolute paths, no empty segments'],
    });
  }
}

export function manifestPath(mid: ManifestID): string {
  const id = formatManifestID(mid);
  checkRelativePath(id, 'manifest ID');
  // The file name must read back as the same ID (a flavor or dir holding "~" would not).
  const back = parseManifestID(id);
  if (back.source.repo !== mid.source.repo || back.source.dir !== mid.source.dir || back.flavor !== mid.flavor) {
    throw usageError('INVALID_MANIFEST_ID', `manifest ID ${JSON.stringify(id)} would not read back as the same repo, dir and flavor`, {
      hints: ['Repos, dirs and flavors cannot contain "~"'],
    });
  }
  return `${MANIFESTS_DIR}/${id}.yaml`;
}

/**
 * A ManifestID from its parts as flags or query parameters give them: each
 * checked as an ID part, the repo and dir as paths that stay inside the state
 * directory, and the whole as a file name that reads back as itself.
 */
export function makeManifestID(repo: string, offset = '', flavor = ''): ManifestID {
  checkPart('repo', repo, repo);
  checkPart('offset', offset, offset);
  checkPart('flavor', flavor, flavor);
  checkRelativePath(repo, 'repo');
  if (offset) checkRelativePath(offset, 'offset');
  const id: ManifestID = { source: { repo, dir: offset }, flavor };
  manifestPath(id);
  return id;
}

/** The ManifestID a file under manifests/ stands for, or undefined for anything else. */
export function manifestIDFromPath(p: string): ManifestID | undefined {
  if (!p.startsWith(MANIFESTS_DIR + '/') || !p.endsWith('.yaml')) return undefined;
  return parseManifestID(p.slice(MANIFESTS_DIR.length + 1, -'.yaml'.length));
}

export function artifactDir(sl: SourceLocation): string {
  const id = formatSourceLocation(sl);
  checkRelativePath(id, 'source location');
  return `${ARTIFACTS_DIR}/${id}`;
}

export function artifactPath(sl: SourceLocation, version: string): string {
  checkRelativePath(version, 'version');
  return `${artifactDir(sl)}/${version}.yaml`;
}
