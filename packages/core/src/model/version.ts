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

/**
 * Whether two versions name the same build: the same `M.m.p[-pre]`, and
 * build metadata (the revision) that agrees where both carry it. The original
 * Sous wrote `0.0.51+618536…` into the GDM while Singularity ran `0.0.51`
 * labelled with revision `618536…`: one build. A short revision matches the
 * full one it abbreviates. Versions that do not parse are compared as written.
 */
export function sameBuild(a: string, b: string): boolean {
  if (a === b) return true;
  const pa = splitBuild(a);
  const pb = splitBuild(b);
  if (!pa || !pb || pa.tag !== pb.tag) return false;
  if (!pa.meta || !pb.meta) return true;
  const [x, y] = pa.meta.length <= pb.meta.length ? [pa.meta, pb.meta] : [pb.meta, pa.meta];
  return y.toLowerCase().startsWith(x.toLowerCase());
}

function splitBuild(v: string): { tag: string; meta: string } | undefined {
  const raw = v.startsWith('v') || v.startsWith('V') ? v.slice(1) : v;
  const plus = raw.indexOf('+');
  const tag = plus < 0 ? raw : raw.slice(0, plus);
  const sv = parse(tag, { loose: false });
  return sv ? { tag: sv.version, meta: plus < 0 ? '' : raw.slice(plus + 1) } : undefined;
}
