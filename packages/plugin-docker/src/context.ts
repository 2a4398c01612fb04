import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Readable } from 'node:stream';
import * as tarFs from 'tar-fs';
import type { BuildPlan } from '@sous/core';
import { IgnoreMatcher, readDockerignore } from './dockerignore';

/** The build context, ready to stream to the engine. */
export interface BuildContext {
  /** The tar stream; read it once. */
  stream: Readable;
  /** The name the plan's Dockerfile has inside the context. */
  dockerfile: string;
  /** Paths taken from the context directory, in tar order. */
  entries: string[];
}

/** The name a plan's Dockerfile gets when it is not the application's own `Dockerfile`. */
export const GENERATED_DOCKERFILE = '.sous.Dockerfile';

/**
 * Lists the context: one `readdir` per directory walked, nothing stat'ed; ignored
 * directories are not entered unless a `!` line names something inside them.
 * `skip` paths are left out because the plan supplies them from memory.
 */
export async function listContext(dir: string, matcher: IgnoreMatcher, skip: ReadonlySet<string> = new Set()): Promise<string[]> {
  const out: string[] = [];
  const walk = async (rel: string): Promise<void> => {
    const dirents = await fs.promises.readdir(rel ? path.join(dir, rel) : dir, { withFileTypes: true });
    dirents.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const d of dirents) {
      const p = rel ? `${rel}/${d.name}` : d.name;
      if (skip.has(p)) continue;
      const isDir = d.isDirectory();
      if (!isDir && !d.isFile() && !d.isSymbolicLink()) continue;
      if (!matcher.empty && matcher.ignores(p)) {
        if (isDir && matcher.mayTakeBackBelow(p)) await walk(p);
        continue;
      }
      out.push(p);
      if (isDir) await walk(p);
    }
  };
  await walk('');
  return out;
}

/** Whether `contextDir/Dockerfile` is exactly the plan's Dockerfile. */
export async function isOwnDockerfile(contextDir: string, dockerfile: string): Promise<boolean> {
  try {
    const own = await fs.promises.readFile(path.join(contextDir, 'Dockerfile'), 'utf8');
    return own === dockerfile;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw e;
  }
}

function freeName(taken: (name: string) => boolean): string {
  if (!taken(GENERATED_DOCKERFILE)) return GENERATED_DOCKERFILE;
  for (let i = 1; ; i++) {
    const n = `.sous.${i}.Dockerfile`;
    if (!taken(n)) return n;
  }
}

// tar-fs walks directories it is given; the entries are already listed, so it must not list them again.
const noReaddirFs = {
  lstat: fs.lstat,
  stat: fs.stat,
  readlink: fs.readlink,
  createReadStream: fs.createReadStream,
  readdir: (_p: string, cb: (err: null, files: string[]) => void) => process.nextTick(cb, null, []),
};

/**
 * Makes the build context for a plan: `plan.contextDir` without what
 * `.dockerignore` and `plan.ignore` exclude, plus `plan.extraFiles`, plus the
 * plan's Dockerfile (as `Dockerfile` when it is the application's own, else
 * under a name no application file has). Files are streamed, each read once;
 * owners are root, as `docker build` sends them; `opts.mtime` (the commit's
 * time) replaces every file's time when given.
 */
export async function makeContext(plan: Pick<BuildPlan, 'contextDir' | 'dockerfile' | 'extraFiles' | 'ignore'>, opts: { mtime?: Date } = {}): Promise<BuildContext> {
  const dir = plan.contextDir;
  const matcher = new IgnoreMatcher([...readDockerignore(dir), ...plan.ignore]);
  const extra = new Map<string, string | Buffer>(Object.entries(plan.extraFiles).map(([p, c]) => [p.replace(/^\.?\/+/, ''), c]));
  const own = await isOwnDockerfile(dir, plan.dockerfile);
  const skip = new Set(extra.keys());
  if (own) skip.add('Dockerfile');
  const entries = await listContext(dir, matcher, skip);
  const listed = new Set(entries);
  const dockerfile = own ? 'Dockerfile' : freeName((n) => listed.has(n) || extra.has(n));
  extra.set(dockerfile, plan.dockerfile);
  // With one time for every file, the same sources make the same tar, and the engine keeps its copy of the
  // context cached across clean checkouts (whose files are all new).
  const mtime = opts.mtime && !Number.isNaN(opts.mtime.getTime()) ? opts.mtime : undefined;

  const stream = tarFs.pack(dir, {
    entries,
    fs: noReaddirFs,
    strict: false,
    map: (h) => Object.assign(h, { uid: 0, gid: 0, uname: '', gname: '' }, mtime ? { mtime } : {}),
    finalize: false,
    finish: (pack) => {
      for (const [name, content] of extra) pack.entry({ name, mode: 0o644, mtime: mtime ?? new Date(0), uid: 0, gid: 0 }, content);
      pack.finalize();
    },
  } as tarFs.PackOptions);
  return { stream, dockerfile, entries };
}
