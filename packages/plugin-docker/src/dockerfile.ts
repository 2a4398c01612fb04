/** One instruction of a Dockerfile, continuation lines joined. */
export interface Instruction {
  /** The keyword, upper-cased. */
  keyword: string;
  /** Everything after the keyword. */
  rest: string;
  /** 1-based line the instruction starts on. */
  line: number;
}

/** Splits a Dockerfile into instructions, honouring the `# escape=` directive, comments and line continuations. */
export function instructions(dockerfile: string): Instruction[] {
  const lines = dockerfile.split(/\r?\n/);
  let escape = '\\';
  // Parser directives: `# key=value` lines before anything else.
  for (const l of lines) {
    const m = /^#\s*([a-z]+)\s*=\s*(\S+)\s*$/i.exec(l);
    if (!m) break;
    if (m[1].toLowerCase() === 'escape' && (m[2] === '`' || m[2] === '\\')) escape = m[2];
  }
  const out: Instruction[] = [];
  let buf = '';
  let start = 0;
  for (let i = 0; i < lines.length; i++) {
    const trimmed = lines[i].trim();
    if (trimmed.startsWith('#') || (!buf && !trimmed)) continue;
    if (!buf) start = i + 1;
    const body = lines[i].replace(/\s+$/, '');
    if (body.endsWith(escape)) {
      buf += `${body.slice(0, -1)} `;
      continue;
    }
    buf += body;
    const m = /^\s*(\S+)\s*(.*)$/s.exec(buf);
    if (m) out.push({ keyword: m[1].toUpperCase(), rest: m[2].trim(), line: start });
    buf = '';
  }
  if (buf.trim()) {
    const m = /^\s*(\S+)\s*(.*)$/s.exec(buf);
    if (m) out.push({ keyword: m[1].toUpperCase(), rest: m[2].trim(), line: start });
  }
  return out;
}

/** Expands `$X`, `${X}`, `${X:-default}` and `${X:+alt}`; undefined when a variable has no value. */
export function expand(text: string, vars: ReadonlyMap<string, string | undefined>): string | undefined {
  let missing = false;
  const out = text.replace(/\$(?:\{([A-Za-z_][A-Za-z0-9_]*)(?:(:[-+])([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))/g, (_m, braced, op, word, bare) => {
    const v = vars.get(braced ?? bare);
    if (op === ':-') return v ? v : word;
    if (op === ':+') return v ? word : '';
    if (v === undefined) missing = true;
    return v ?? '';
  });
  return missing ? undefined : out;
}

function flagsAndArgs(rest: string): { flags: Map<string, string>; args: string[] } {
  const flags = new Map<string, string>();
  const args: string[] = [];
  for (const tok of rest.split(/\s+/).filter(Boolean)) {
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(tok);
    if (m && !args.length) flags.set(m[1], m[2] ?? '');
    else args.push(tok);
  }
  return { flags, args };
}

/**
 * The images a Dockerfile takes from outside: every `FROM` and `COPY --from`
 * that names neither an earlier stage nor `scratch`, with global `ARG`s
 * expanded (`buildArgs` over the declared defaults). References that still
 * hold a variable cannot be known before the build and are left out.
 */
export function externalImages(dockerfile: string, buildArgs: Readonly<Record<string, string>> = {}): string[] {
  const globals = new Map<string, string | undefined>();
  const stages = new Set<string>();
  const refs = new Set<string>();
  let seenFrom = false;
  const add = (raw: string) => {
    const ref = expand(raw, globals);
    if (!ref || ref.includes('$')) return;
    const lower = ref.toLowerCase();
    if (lower === 'scratch' || stages.has(lower) || /^\d+$/.test(ref)) return;
    refs.add(ref);
  };
  for (const ins of instructions(dockerfile)) {
    if (ins.keyword === 'ARG' && !seenFrom) {
      for (const decl of ins.rest.split(/\s+/).filter(Boolean)) {
        const eq = decl.indexOf('=');
        const name = eq < 0 ? decl : decl.slice(0, eq);
        const def = eq < 0 ? undefined : decl.slice(eq + 1).replace(/^(["'])(.*)\1$/, '$2');
        globals.set(name, name in buildArgs ? buildArgs[name] : def);
      }
    } else if (ins.keyword === 'FROM') {
      seenFrom = true;
      const { args } = flagsAndArgs(ins.rest);
      if (args[0]) add(args[0]);
      if (args.length >= 3 && args[1].toLowerCase() === 'as') stages.add(args[2].toLowerCase());
    } else if (ins.keyword === 'COPY') {
      const from = flagsAndArgs(ins.rest).flags.get('from');
      if (from) add(from);
    }
  }
  return [...refs];
}
