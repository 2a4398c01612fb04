import { SemVer, parse } from 'semver';
import { usageError } from '../errors';

export interface Version {
  /** The version as written (without a leading `v`). */
  readonly raw: string;
  /** `M.m.p[-pre]`: the version without build metadata, used as the image tag. */
  readonly tag: string;
  /** The build metadata (`+abc123`), which carries a git revision in Sous. */
  readonly meta: string;
  readonly semver: SemVer;
}

/**
 * Parses a semver version. A leading `v` is accepted (git tags are often
 * written `v1.2.3`) and dropped.
 */
export function parseVersion(input: string): Version {
  const raw = input.startsWith('v') || input.startsWith('V') ? input.slice(1) : input;
  const sv = parse(raw, { loose: false });
  if (!sv) {
    throw usageError('NOT_SEMVER', `${JSON.stringify(input)} is not a semantic version`, {
      hints: ['Versions look like 1.2.3, 1.2.3-rc.1 or 1.2.3+abc123 (see https://semver.org)'],
    });
  }
  return { raw, tag: sv.version, meta: sv.build.join('.'), semver: sv };
}

export function isSemver(input: string): boolean {
  try {
    parseVersion(input);
    return true;
  } catch {
    return false;
  }
}
