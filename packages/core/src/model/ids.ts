import { usageError } from '../errors';
import { parseVersion } from './version';

/**
 * Identifiers, written as the original Sous wrote them:
 * - SourceLocation `repo[,dir]`
 * - SourceID `repo,version[,dir]`
 * - ManifestID `repo[,dir][~flavor]`
 * - DeploymentID `cluster:manifestID`
 * When the first character is not one of `A-Za-z0-9./`, that character is the
 * delimiter instead of `,` (so a repo or dir that contains a comma can still be written).
 */
export interface SourceLocation {
  readonly repo: string;
  readonly dir: string;
}

export interface SourceID {
  readonly location: SourceLocation;
  readonly version: string;
}

export interface ManifestID {
  readonly source: SourceLocation;
  readonly flavor: string;
}

export interface DeploymentID {
  readonly manifestID: ManifestID;
  readonly cluster: string;
}

export const DEFAULT_DELIM = ',';
export const FLAVOR_SEPARATOR = '~';
export const CLUSTER_SEPARATOR = ':';
const ALTERNATE_DELIMS = ['|', ';', '!', '#', '@', '%', '^', '&', '*', '+', '='];

function isPlainStart(c: string): boolean {
  return /^[A-Za-z0-9./]$/.test(c);
}

/** Splits an ID string into its chunks, honouring a leading custom delimiter. */
export function parseChunks(s: string): string[] {
  if (s.length === 0) return [];
  let source = s.normalize('NFC');
  let delim = DEFAULT_DELIM;
  if (!isPlainStart(source[0])) {
    delim = source[0];
    source = source.slice(1);
  }
  return source.split(delim);
}

/** Joins chunks, choosing a custom delimiter when a chunk contains a comma. */
export function formatChunks(chunks: string[]): string {
  const needsCustom = chunks.some((c) => c.includes(DEFAULT_DELIM)) || (chunks[0] !== undefined && chunks[0].length > 0 && !isPlainStart(chunks[0][0]));
  if (!needsCustom) return chunks.join(DEFAULT_DELIM);
  const delim = ALTERNATE_DELIMS.find((d) => chunks.every((c) => !c.includes(d)));
  if (!delim) throw usageError('ID_UNFORMATTABLE', `cannot write ${JSON.stringify(chunks)} as an ID: every delimiter appears in it`, { hints: ['Rename the repository directory so it has fewer punctuation characters'] });
  return delim + chunks.join(delim);
}

/** Refuses an ID part with whitespace or control characters (`input` is what the user wrote). */
export function checkPart(kind: string, value: string, input: string): void {
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f\s]/.test(value)) {
    throw usageError('INVALID_ID', `${kind} in ${JSON.stringify(input)} contains whitespace or control characters`, {
      hints: ['IDs are written repo[,dir][~flavor], e.g. github.com/acme/shop,api~canary'],
    });
  }
}

export function parseSourceLocation(s: string): SourceLocation {
  const chunks = parseChunks(s);
  if (chunks.length > 2) {
    throw usageError('INVALID_SOURCE_LOCATION', `three parts found (includes a version?) in source location ${JSON.stringify(s)}`, {
      hints: ['A source location is repo[,dir], e.g. github.com/acme/shop,api'],
    });
  }
  if (chunks.length === 0 || chunks[0].length === 0) {
    throw usageError('MISSING_REPO', `no repository found in ${JSON.stringify(s)}`, {
      hints: ['A source location is repo[,dir], e.g. github.com/acme/shop,api'],
    });
  }
  checkPart('repo', chunks[0], s);
  checkPart('dir', chunks[1] ?? '', s);
  return { repo: chunks[0], dir: chunks[1] ?? '' };
}

export function formatSourceLocation(sl: SourceLocation): string {
  return sl.dir ? formatChunks([sl.repo, sl.dir]) : formatChunks([sl.repo]);
}

export function parseSourceID(s: string): SourceID {
  const chunks = parseChunks(s);
  if (chunks.length === 0 || chunks[0].length === 0) {
    throw usageError('MISSING_REPO', `no repository found in source ID ${JSON.stringify(s)}`, {
      hints: ['A source ID is repo,version[,dir], e.g. github.com/acme/shop,1.2.0,api'],
    });
  }
  if (chunks.length < 2 || chunks[1].length === 0) {
    throw usageError('MISSING_VERSION', `no version found in source ID ${JSON.stringify(s)} (did find repo ${JSON.stringify(chunks[0])})`, {
      hints: ['A source ID is repo,version[,dir], e.g. github.com/acme/shop,1.2.0,api'],
    });
  }
  if (chunks.length > 3) {
    throw usageError('INVALID_SOURCE_ID', `too many parts in source ID ${JSON.stringify(s)}`, {
      hints: ['A source ID is repo,version[,dir]; write a dir that holds a comma with a custom delimiter: |repo|1.0.0|dir,x'],
    });
  }
  checkPart('repo', chunks[0], s);
  checkPart('dir', chunks[2] ?? '', s);
  const version = parseVersion(chunks[1]).raw;
  return { location: { repo: chunks[0], dir: chunks[2] ?? '' }, version };
}

export function formatSourceID(sid: SourceID): string {
  const parts = [sid.location.repo, sid.version];
  if (sid.location.dir) parts.push(sid.location.dir);
  return formatChunks(parts);
}

export function parseManifestID(s: string): ManifestID {
  const parts = s.split(FLAVOR_SEPARATOR);
  if (parts.length > 2) {
    throw usageError('INVALID_MANIFEST_ID', `illegal manifest ID ${JSON.stringify(s)} (contains more than one ${FLAVOR_SEPARATOR})`, {
      hints: ['A manifest ID is repo[,dir][~flavor], e.g. github.com/acme/shop,api~canary'],
    });
  }
  const source = parseSourceLocation(parts[0]);
  const flavor = parts[1] ?? '';
  checkPart('flavor', flavor, s);
  return { source, flavor };
}

export function formatManifestID(mid: ManifestID): string {
  return formatSourceLocation(mid.source) + (mid.flavor ? FLAVOR_SEPARATOR + mid.flavor : '');
}

export function parseDeploymentID(s: string): DeploymentID {
  const i = s.indexOf(CLUSTER_SEPARATOR);
  if (i <= 0) {
    throw usageError('INVALID_DEPLOYMENT_ID', `illegal deployment ID ${JSON.stringify(s)}: expected cluster:manifestID`, {
      hints: ['A deployment ID is cluster:repo[,dir][~flavor], e.g. prod:github.com/acme/shop,api'],
    });
  }
  const cluster = s.slice(0, i);
  checkPart('cluster', cluster, s);
  return { cluster, manifestID: parseManifestID(s.slice(i + 1)) };
}

export function formatDeploymentID(did: DeploymentID): string {
  return did.cluster + CLUSTER_SEPARATOR + formatManifestID(did.manifestID);
}

export function manifestIDEquals(a: ManifestID, b: ManifestID): boolean {
  return a.source.repo === b.source.repo && a.source.dir === b.source.dir && a.flavor === b.flavor;
}
