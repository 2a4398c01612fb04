import type { Hook } from '@oclif/core';

/**
 * Accepts Go-style single-dash long flags, as the original Sous and its
 * workflow document write them (`sous update -cluster prod -tag 1.2.0`):
 * `-name` and `-name=value` become `--name` when `name` is one of the
 * command's long flags (or their aliases).
 */
const hook: Hook<'preparse'> = async function ({ argv, options }) {
  const names = new Set<string>();
  for (const [name, flag] of Object.entries(options.flags ?? {})) {
    names.add(name);
    for (const a of (flag as { aliases?: string[] }).aliases ?? []) names.add(a);
  }
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') {
      out.push(...argv.slice(i));
      break;
    }
    const m = /^-([A-Za-z][A-Za-z0-9-]+)(=.*)?$/.exec(a);
    out.push(m && names.has(m[1]) ? `-${a}` : a);
  }
  return out;
};

export default hook;
