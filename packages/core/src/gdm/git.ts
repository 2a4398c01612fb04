import execa from 'execa';
import { failure } from '../errors';

/** Environment for every git call: no prompts, no pager, messages in English. */
const GIT_ENV = { GIT_TERMINAL_PROMPT: '0', GIT_PAGER: 'cat', LC_ALL: 'C', GIT_OPTIONAL_LOCKS: '0' };

export interface GitOptions {
  input?: string | Buffer;
  env?: Record<string, string>;
  /** Return the result instead of throwing on a non-zero exit. */
  reject?: boolean;
  /** Keep stdout exactly as git wrote it (no trailing newline stripped). */
  raw?: boolean;
}

export interface GitResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

export async function git(cwd: string, args: string[], opts: GitOptions = {}): Promise<GitResult> {
  const r = await execa('git', args, {
    cwd,
    env: { ...GIT_ENV, ...(opts.env ?? {}) },
    input: opts.input,
    reject: false,
    stripFinalNewline: !opts.raw,
  });
  if (r.exitCode !== 0 && opts.reject !== false) {
    throw failure('GIT_FAILED', `git ${args[0]} failed in ${cwd}: ${(r.stderr || r.stdout).trim().split('\n').slice(-3).join(' ')}`, {
      details: { args, exitCode: r.exitCode },
      hints: ['Check that the directory is a healthy git repository: git -C DIR fsck'],
    });
  }
  return { stdout: r.stdout, stderr: r.stderr, exitCode: r.exitCode };
}

/** Reads many blobs with one `git cat-file --batch`. */
export async function readBlobs(cwd: string, shas: string[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  if (shas.length === 0) return out;
  const r = await execa('git', ['cat-file', '--batch'], {
    cwd,
    env: GIT_ENV,
    input: shas.join('\n') + '\n',
    encoding: null,
    maxBuffer: 1024 * 1024 * 1024,
  });
  const buf = r.stdout as unknown as Buffer;
  let pos = 0;
  while (pos < buf.length) {
    const nl = buf.indexOf(0x0a, pos);
    if (nl < 0) break;
    const header = buf.toString('utf8', pos, nl);
    const [sha, type, sizeText] = header.split(' ');
    if (type === 'missing' || sizeText === undefined) {
      pos = nl + 1;
      continue;
    }
    const size = Number(sizeText);
    out.set(sha, buf.toString('utf8', nl + 1, nl + 1 + size));
    pos = nl + 1 + size + 1;
  }
  return out;
}

export interface TreeEntry {
  path: string;
  sha: string;
}

/** Lists the blobs under `paths` at `rev`. */
export async function lsTree(cwd: string, rev: string, paths: string[]): Promise<TreeEntry[]> {
  const r = await git(cwd, ['ls-tree', '-r', '-z', '--full-tree', rev, '--', ...paths]);
  const out: TreeEntry[] = [];
  for (const rec of r.stdout.split('\0')) {
    if (!rec) continue;
    const tab = rec.indexOf('\t');
    const [, type, sha] = rec.slice(0, tab).split(' ');
    if (type === 'blob') out.push({ path: rec.slice(tab + 1), sha });
  }
  return out;
}
