import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import * as crypto from 'node:crypto';
import { git } from '../gdm/git';
import type { SourceContext } from './types';

/**
 * A clean checkout of one commit in a temporary git worktree, so a build with
 * --tag sees exactly what the tag names and nothing of the working tree.
 */
export async function checkoutRevision(ctx: SourceContext): Promise<{ dir: string; dispose: () => Promise<void> }> {
  const parent = await fsp.mkdtemp(path.join(os.tmpdir(), 'sous-src-'));
  const dir = path.join(parent, 'tree');
  await git(ctx.rootDir, ['worktree', 'add', '--detach', '--force', dir, ctx.revision]);
  const dispose = async () => {
    await git(ctx.rootDir, ['worktree', 'remove', '--force', dir], { reject: false });
    await fsp.rm(parent, { recursive: true, force: true });
    await git(ctx.rootDir, ['worktree', 'prune'], { reject: false });
  };
  return { dir, dispose };
}

/**
 * The git tree id of the sources as they will be built: the committed tree at
 * the offset for a clean checkout, or the working tree as `git add -A` would
 * record it (ignored files left out) otherwise.
 */
export async function sourceTreeId(ctx: SourceContext): Promise<string> {
  const offset = ctx.offset;
  if (ctx.cleanCheckout || !ctx.dirty) {
    const r = await git(ctx.rootDir, ['rev-parse', `${ctx.revision}:${offset}`], { reject: false });
    if (r.exitCode === 0) return r.stdout.trim();
  }
  const index = path.join(os.tmpdir(), `sous-index-${process.pid}-${crypto.randomBytes(4).toString('hex')}`);
  const env = { GIT_INDEX_FILE: index };
  try {
    const gitIndex = path.resolve(ctx.rootDir, (await git(ctx.rootDir, ['rev-parse', '--git-path', 'index'])).stdout.trim());
    if (fs.existsSync(gitIndex)) await fsp.copyFile(gitIndex, index);
    await git(ctx.rootDir, ['add', '-A', '--', offset || '.'], { env });
    return (await git(ctx.rootDir, ['write-tree', ...(offset ? [`--prefix=${offset}/`] : [])], { env })).stdout.trim();
  } finally {
    await fsp.rm(index, { force: true });
  }
}
