import type { Hook } from '@oclif/core';
import { levenshtein } from '@sous/core/dist/util/text';

/**
 * Accepts Go-style single-dash long flags, as the original Sous and its
 * workflow document write them (`sous update -cluster prod -tag 1.2.0`):
 * `-name` and `-name=value` become `--name` when `name` is one of the
 * command's long flags (or their aliases). A near miss (`-clustr`) is
 * reported as an unknown flag rather than read as `-c lustr`.
 */
const hook: Hook<'preparse'> = async function ({ argv, options }) {
  const names = new Set<string>();
  for (const [name, flag] of Object.entries(options.flags ?? {})) {
    names.add(name);
    for (const a of (flag as { aliases?: string[] }).aliases ?? []) names.add(a);
  }
  const nearMiss = (w: string) => w.length > 3 && [...names].some((n) => n.length > 2 && levenshtein(w, n) <= 2);
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') {
      out.push(...argv.slice(i));
      break;
    }
    const m = /^-([A-Za-z][A-Za-z0-9-]+)(=.*)?$/.exec(a);
    // Thrown with an exit code, so oclif passes it on to the command's error handling.
    if (m && !names.has(m[1]) && nearMiss(m[1])) this.error(`Nonexistent flag: -${m[1]}`, { exit: 2 });
    out.push(m && names.has(m[1]) ? `-${a}` : a);
  }
  return out;
};

export default hook;
