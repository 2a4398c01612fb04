import type { Hook } from '@oclif/core';
import { levenshtein } from '@sous/core/dist/util/text';

/**
 * Accepts Go-style single-dash long flags, as the original Sous and its
 * workflow document write them (`sous update -cluster prod -tag 1.2.0`):
 * `-name` and `-name=value` become `--name` when `name` is one of the
 * command's long flags (or their aliases). A near miss (`-clustr`) is
 * reported as an unknown flag rather than read as `-c lustr`. A boolean
 * flag takes a value as Go's flag package allowed (`-wait-stable=false`,
 * `--force=true`): true sets it, false unsets it (`--no-<name>` where the
 * flag has one). The original's global `-s` (silent), `-q` (quiet) and `-d`
 * (debug) are `--silent`, `--quiet` and `--debug`.
 */
const hook: Hook<'preparse'> = async function ({ argv, options }) {
  const names = new Set<string>();
  const booleans = new Map<string, { name: string; allowNo: boolean }>();
  const chars = new Set<string>();
  for (const [name, flag] of Object.entries(options.flags ?? {})) {
    const f = flag as { aliases?: string[]; type?: string; allowNo?: boolean; char?: string };
    names.add(name);
    if (f.char) chars.add(f.char);
    for (const a of [name, ...(f.aliases ?? [])]) {
      names.add(a);
      if (f.type === 'boolean') booleans.set(a, { name, allowNo: Boolean(f.allowNo) });
    }
  }
  const GLOBAL_CHARS: Record<string, string> = { s: '--silent', q: '--quiet', d: '--debug' };
  const nearMiss = (w: string) => w.length > 3 && [...names].some((n) => n.length > 2 && levenshtein(w, n) <= 2);
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') {
      out.push(...argv.slice(i));
      break;
    }
    const short = /^-([sqd])$/.exec(a)?.[1];
    if (short && !chars.has(short) && names.has(GLOBAL_CHARS[short].slice(2))) {
      out.push(GLOBAL_CHARS[short]);
      continue;
    }
    // A bare --dry-run (the boolean it once was) is the original's "both".
    if ((a === '--dry-run' || a === '-dry-run') && names.has('dry-run') && !booleans.has('dry-run') && !['none', 'scheduler', 'registry', 'both'].includes(argv[i + 1] ?? '')) {
      out.push('--dry-run=both');
      continue;
    }
    const b = /^--?([A-Za-z][A-Za-z0-9-]+)=(.*)$/.exec(a);
    if (b && booleans.has(b[1])) {
      const { name, allowNo } = booleans.get(b[1])!;
      const v = b[2].toLowerCase();
      if (['true', 't', '1'].includes(v)) out.push(`--${name}`);
      else if (['false', 'f', '0'].includes(v)) {
        if (allowNo) out.push(`--no-${name}`);
      } else this.error(`-${b[1]} takes true or false, not ${JSON.stringify(b[2])}`, { exit: 2 });
      continue;
    }
    const m = /^-([A-Za-z][A-Za-z0-9-]+)(=.*)?$/.exec(a);
    // Thrown with an exit code, so oclif passes it on to the command's error handling.
    if (m && !names.has(m[1]) && nearMiss(m[1])) this.error(`Nonexistent flag: -${m[1]}`, { exit: 2 });
    out.push(m && names.has(m[1]) ? `-${a}` : a);
  }
  return out;
};

export default hook;
