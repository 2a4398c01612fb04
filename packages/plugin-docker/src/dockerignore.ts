import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * `.dockerignore` rules as Docker applies them: Go `filepath.Match` patterns
 * plus `**`, cleaned and relative to the context root; a pattern excludes the
 * paths it matches and everything below them; `!pattern` takes a path back;
 * the last matching line wins.
 */
export interface IgnorePattern {
  /** The cleaned pattern, without the leading `!`. */
  readonly pattern: string;
  readonly exclusion: boolean;
  readonly regexp: RegExp;
}

const REGEXP_SPECIAL = new Set(['.', '$', '^', '+', '(', ')', '{', '}', '|']);

function compile(pattern: string): RegExp {
  let re = '^';
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i];
    if (ch === '*') {
      if (pattern[i + 1] === '*') {
        i++;
        if (pattern[i + 1] === '/') i++;
        // `**` at the end takes anything; elsewhere it stands for any number of whole directories.
        re += i + 1 >= pattern.length ? '.*' : '(.*/)?';
      } else {
        re += '[^/]*';
      }
    } else if (ch === '?') {
      re += '[^/]';
    } else if (ch === '\\') {
      re += i + 1 < pattern.length ? `\\${pattern[++i]}` : '\\\\';
    } else if (ch === '[') {
      // filepath.Match negates a class with `[^` or `[!`.
      re += pattern[i + 1] === '!' ? (i++, '[^') : '[';
    } else {
      re += REGEXP_SPECIAL.has(ch) ? `\\${ch}` : ch;
    }
  }
  return new RegExp(`${re}$`);
}

/** Go's filepath.Clean for slash paths, plus Docker's stripping of a leading `/`. */
function clean(p: string): string {
  let c = path.posix.normalize(p);
  if (c.length > 1 && c.endsWith('/')) c = c.slice(0, -1);
  if (c.length > 1 && c.startsWith('/')) c = c.slice(1);
  return c === './' ? '.' : c;
}

/** Parses `.dockerignore` text (comments, blank lines and `!` exceptions). */
export function parseIgnore(text: string): string[] {
  const out: string[] = [];
  for (const raw of text.split(/\r?\n/)) {
    if (raw.startsWith('#')) continue;
    let line = raw.trim();
    if (!line) continue;
    const invert = line.startsWith('!');
    if (invert) line = line.slice(1).trim();
    if (line) line = clean(line);
    out.push(invert ? `!${line}` : line);
  }
  return out;
}

/** Decides which context paths (slash-separated, relative to the context root) are left out. */
export class IgnoreMatcher {
  readonly patterns: readonly IgnorePattern[];
  private readonly exclusions: readonly IgnorePattern[];

  constructor(lines: readonly string[]) {
    this.patterns = lines
      .map((l) => (l.startsWith('!') ? { pattern: clean(l.slice(1) || '.'), exclusion: true } : { pattern: clean(l), exclusion: false }))
      .filter((p) => p.pattern !== '.' || !p.exclusion)
      .map((p) => ({ ...p, regexp: compile(p.pattern) }));
    this.exclusions = this.patterns.filter((p) => p.exclusion);
  }

  /** True when nothing is ever excluded: the walk can skip matching altogether. */
  get empty(): boolean {
    return this.patterns.length === 0;
  }

  /** True when `rel` or one of its parent directories is excluded and no later `!` line takes it back. */
  ignores(rel: string): boolean {
    let excluded = false;
    let prefixes: string[] | undefined;
    for (const p of this.patterns) {
      if (p.exclusion !== excluded) continue;
      let hit = p.regexp.test(rel);
      if (!hit) {
        prefixes ??= parents(rel);
        hit = prefixes.some((d) => p.regexp.test(d));
      }
      if (hit) excluded = !p.exclusion;
    }
    return excluded;
  }

  /**
   * For an ignored directory: whether the walk must still look inside, because a
   * `!` line names something below it (Docker's rule: the exception's text starts
   * with the directory's path).
   */
  mayTakeBackBelow(dir: string): boolean {
    const prefix = `${dir}/`;
    return this.exclusions.some((p) => `${p.pattern}/`.startsWith(prefix));
  }
}

function parents(rel: string): string[] {
  const parts = rel.split('/');
  const out: string[] = [];
  for (let i = 1; i < parts.length; i++) out.push(parts.slice(0, i).join('/'));
  return out;
}

/** Reads `<dir>/.dockerignore` when there is one. */
export function readDockerignore(dir: string): string[] {
  try {
    return parseIgnore(fs.readFileSync(path.join(dir, '.dockerignore'), 'utf8'));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
}
