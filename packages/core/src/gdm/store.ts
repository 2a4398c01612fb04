import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import * as crypto from 'node:crypto';
import { failure, SousError, usageError } from '../errors';
import { git, lsTree, readBlobs } from './git';
import { checkRelativePath, DEFS_PATH } from './layout';
import { renderYaml } from './codec';
import { canonicalDefs, emptyDefs } from '../model/defs';

export interface User {
  name: string;
  email: string;
}

/** One file to write (content) or delete (null), relative to the state directory. */
export interface FileChange {
  path: string;
  content: string | null;
}

export interface WriteOptions {
  /** The revision the change was computed from. */
  base: string;
  user: User;
  message: string;
  /**
   * Files the change was computed from without changing them (defs.yaml for a
   * manifest write, say): a concurrent change to one of them is a conflict too.
   * A path ending in `/` stands for everything under it.
   */
  reads?: string[];
}

export interface StoreOptions {
  /** Pull before reading and push after writing when the repository has this remote (default: origin, when present). */
  remote?: string | false;
  /** The user recorded on the commit that creates a new state repository. */
  user?: User;
  /** Give up waiting for a contended lock after this long. */
  lockTimeoutMs?: number;
}

/** A path set to a blob, or removed (null), in a tree being built. */
interface TreeChange {
  path: string;
  sha: string | null;
}

const ZERO = '0000000000000000000000000000000000000000';
const STALE_LOCK_MS = 15_000;
const MAX_CAS_ATTEMPTS = 200;
const MAX_PUSH_ATTEMPTS = 20;

function authorEnv(u: User): Record<string, string> {
  return { GIT_AUTHOR_NAME: u.name, GIT_AUTHOR_EMAIL: u.email, GIT_COMMITTER_NAME: u.name, GIT_COMMITTER_EMAIL: u.email };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The message of a new state's first commit. Its random State-Id makes the
 * root commit, the GDM's identity, differ between states made at the same
 * second by the same user.
 */
const initialMessage = () => `Initialise Sous state\n\nState-Id: ${crypto.randomUUID()}`;

/**
 * The GDM on disk: a git repository. Reads come from a commit (a consistent
 * snapshot whose id is the ETag); writes build a new commit with git's
 * plumbing and move the branch with a compare-and-swap (`git update-ref NEW
 * OLD`), so concurrent writers never lose each other's changes and a killed
 * writer leaves at most unreferenced objects behind. The working tree is
 * brought up to date after each write for people who look at the files.
 */
export class GdmStore {
  /** Writes from one process go one at a time: they would only race each other's compare-and-swap. */
  private writeChain: Promise<unknown> = Promise.resolve();

  private constructor(
    readonly dir: string,
    readonly branch: string,
    private readonly remote: string | undefined,
    private readonly opts: StoreOptions,
  ) {}

  static async open(dir: string, opts: StoreOptions = {}): Promise<GdmStore> {
    const abs = path.resolve(dir);
    if (fs.existsSync(abs) && !fs.statSync(abs).isDirectory()) {
      throw usageError('STATE_NOT_A_DIRECTORY', `the state location ${abs} is a file, not a directory`, {
        hints: ['Point SOUS_STATE_LOCATION (or stateLocation in the config) at a directory'],
      });
    }
    if (!fs.existsSync(path.join(abs, '.git', 'HEAD'))) {
      await GdmStore.initialise(abs, opts);
    }
    const name = opts.remote === false ? undefined : (opts.remote ?? 'origin');
    const [head, url] = await Promise.all([git(abs, ['symbolic-ref', '-q', 'HEAD'], { reject: false }), name ? git(abs, ['remote', 'get-url', name], { reject: false }) : undefined]);
    const branch = head.exitCode === 0 ? head.stdout.trim() : 'refs/heads/main';
    let remote: string | undefined;
    if (name && url) {
      if (url.exitCode === 0) remote = name;
      else if (opts.remote) throw usageError('STATE_REMOTE_UNKNOWN', `the state repository ${abs} has no remote ${JSON.stringify(name)}`, { hints: [`Add it: git -C ${abs} remote add ${name} URL`] });
    }
    const store = new GdmStore(abs, branch, remote, opts);
    await store.recover();
    await store.ensureFirstCommit();
    return store;
  }

  /** A repository without commits (a clone of an empty remote, say) gets the remote's history or an empty defs.yaml. */
  private async ensureFirstCommit(): Promise<void> {
    if (await this.looseHead()) return;
    const head = await git(this.dir, ['rev-parse', '--verify', '-q', this.branch], { reject: false });
    if (head.exitCode === 0) return;
    // Only a repository without any branch is new. HEAD naming a branch that does not exist while others
    // do is a damaged or misconfigured state: starting an empty one there would hide the real state.
    const branches = (await git(this.dir, ['for-each-ref', '--format=%(refname)', 'refs/heads'])).stdout.split('\n').filter(Boolean);
    if (branches.length > 0) {
      throw failure('STATE_BRANCH_MISSING', `the state repository ${this.dir} is on ${this.branch.replace(/^refs\/heads\//, '')}, which has no commits, but has other branches (${branches.map((b) => b.replace(/^refs\/heads\//, '')).join(', ')})`, {
        hints: [`Switch it to the branch that holds the state: git -C ${this.dir} checkout ${branches[0].replace(/^refs\/heads\//, '')}`],
      });
    }
    await this.withLock(async () => {
      if ((await git(this.dir, ['rev-parse', '--verify', '-q', this.branch], { reject: false })).exitCode === 0) return;
      const remoteHead = this.remote ? await this.fetch() : undefined;
      let commit = remoteHead;
      if (!commit) {
        const blob = (await git(this.dir, ['hash-object', '-w', '--stdin'], { input: renderYaml(canonicalDefs(emptyDefs())) })).stdout.trim();
        const tree = (await git(this.dir, ['mktree'], { input: `100644 blob ${blob}\t${DEFS_PATH}\n` })).stdout.trim();
        commit = (await git(this.dir, ['commit-tree', tree, '-m', initialMessage()], { env: authorEnv(this.opts.user ?? { name: 'sous', email: 'sous@localhost' }) })).stdout.trim();
      }
      await git(this.dir, ['update-ref', this.branch, commit, ZERO]);
      if (this.remote && !remoteHead) await git(this.dir, ['push', '-q', this.remote, `${commit}:${this.branch}`], { reject: false });
      await this.syncWorktree(false);
    });
  }

  /** Creates an empty state repository: an empty defs.yaml in one commit. */
  private static async initialise(abs: string, opts: StoreOptions): Promise<void> {
    await fsp.mkdir(abs, { recursive: true });
    // Only Sous's own local files (.git/sous: tokens, outcomes) may be there already.
    const entries = (await fsp.readdir(abs)).filter((e) => !(e === '.git' && fs.readdirSync(path.join(abs, '.git')).every((f) => f === 'sous')));
    if (entries.length > 0) {
      throw usageError('STATE_NOT_A_REPOSITORY', `the state location ${abs} is not empty and not a git repository`, {
        hints: ['Use an empty directory, or run `git init` there if it already holds a Sous state'],
      });
    }
    await git(abs, ['init', '-q', '-b', 'main']);
    await fsp.writeFile(path.join(abs, DEFS_PATH), renderYaml(canonicalDefs(emptyDefs())));
    await git(abs, ['add', DEFS_PATH]);
    const u = opts.user ?? { name: 'sous', email: 'sous@localhost' };
    await git(abs, ['commit', '-q', '--no-verify', '-m', initialMessage()], { env: authorEnv(u) });
  }

  private get gitDir(): string {
    return path.join(this.dir, '.git');
  }

  /** Clears what a killed writer can leave behind, and brings the working tree to HEAD. */
  private async recover(): Promise<void> {
    const now = Date.now();
    const candidates = [path.join(this.gitDir, 'index.lock'), path.join(this.gitDir, `${this.branch}.lock`)];
    const tmp = path.join(this.gitDir, 'sous-tmp');
    if (fs.existsSync(tmp)) for (const f of await fsp.readdir(tmp)) candidates.push(path.join(tmp, f));
    for (const f of candidates) {
      try {
        const st = await fsp.stat(f);
        if (now - st.mtimeMs > STALE_LOCK_MS) await fsp.rm(f, { force: true });
      } catch {
        /* gone already */
      }
    }
    // The working tree follows every write; it only needs bringing up to date when the branch moved after the
    // index was last written (a writer stopped between its commit and its checkout, or a fetch moved it).
    if (await this.worktreeMayLag()) await this.syncWorktree(true);
  }

  private async worktreeMayLag(): Promise<boolean> {
    try {
      const [ref, index] = await Promise.all([fsp.stat(path.join(this.gitDir, this.branch)), fsp.stat(path.join(this.gitDir, 'index'))]);
      return ref.mtimeMs > index.mtimeMs;
    } catch {
      return true;
    }
  }

  private root?: string;

  /**
   * The GDM's identity: the root commit of the branch (its first-parent chain),
   * the same in every clone and never changing. Undefined for an empty repository.
   */
  async rootCommit(): Promise<string | undefined> {
    if (this.root) return this.root;
    const r = await git(this.dir, ['rev-list', '--max-parents=0', '--first-parent', this.branch], { reject: false });
    const roots = r.exitCode === 0 ? r.stdout.split('\n').filter(Boolean) : [];
    return (this.root = roots[roots.length - 1]);
  }

  /** The branch's commit from its loose ref file, or undefined (packed, missing, unreadable). */
  private async looseHead(): Promise<string | undefined> {
    try {
      const loose = (await fsp.readFile(path.join(this.gitDir, this.branch), 'utf8')).trim();
      return /^[0-9a-f]{40}$/.test(loose) ? loose : undefined;
    } catch {
      return undefined;
    }
  }

  async head(): Promise<string> {
    return (await git(this.dir, ['rev-parse', '--verify', '-q', this.branch])).stdout.trim();
  }

  /** The branch's commit read straight from git's ref files (no process), falling back to `head()`. */
  async headFast(): Promise<string> {
    return (await this.looseHead()) ?? this.head();
  }

  /** Whether reads pull from a remote first. */
  get hasRemote(): boolean {
    return this.remote !== undefined;
  }

  /** Pulls when there is a remote; returns the revision reads should use. */
  async refresh(): Promise<string> {
    if (this.remote) {
      await this.pull();
      return this.head();
    }
    return this.headFast();
  }

  async listFiles(rev: string, paths: string[]): Promise<{ path: string; sha: string }[]> {
    return lsTree(this.dir, rev, paths);
  }

  async readBlobs(shas: string[]): Promise<Map<string, string>> {
    return readBlobs(this.dir, shas);
  }

  async readFile(rev: string, file: string): Promise<string | undefined> {
    const r = await git(this.dir, ['cat-file', 'blob', `${rev}:${file}`], { reject: false, raw: true });
    return r.exitCode === 0 ? r.stdout : undefined;
  }

  async isClean(): Promise<boolean> {
    const r = await git(this.dir, ['status', '--porcelain', '--untracked-files=no'], { reject: false });
    return r.exitCode === 0 && r.stdout.trim() === '';
  }

  /** The commits that touched `paths` (all, when empty), newest first. */
  async history(paths: string[] = [], limit = 50): Promise<{ revision: string; author: string; email: string; date: string; message: string }[]> {
    const r = await git(this.dir, ['log', `-n${limit}`, '--format=%H%x1f%an%x1f%ae%x1f%aI%x1f%s%x1e', this.branch, '--', ...paths]);
    return r.stdout
      .split('\x1e')
      .map((s) => s.trim())
      .filter(Boolean)
      .map((rec) => {
        const [revision, author, email, date, message] = rec.split('\x1f');
        return { revision, author, email, date, message };
      });
  }

  /**
   * Writes `changes` as one commit on top of the current head. Fails with
   * GDM_CONFLICT when a file it writes (or lists in `reads`) changed since
   * `base`; otherwise concurrent writes to other files are merged.
   */
  async write(changes: FileChange[], opts: WriteOptions): Promise<{ revision: string; changed: boolean }> {
    if (changes.length === 0) return { revision: opts.base, changed: false };
    for (const c of changes) checkRelativePath(c.path, 'path');
    const run = async () => {
      if (this.remote) return this.withLock(() => this.writeAndPush(changes, opts));
      const r = await this.commitLocal(changes, opts);
      if (r.changed) await this.syncWorktree(false);
      return r;
    };
    const next = this.writeChain.then(run, run);
    this.writeChain = next.catch(() => undefined);
    return next;
  }

  private async commitLocal(changes: FileChange[], opts: WriteOptions): Promise<{ revision: string; changed: boolean }> {
    const entries = await this.hashObjects(changes);
    const touched = new Set([...changes.map((c) => c.path), ...(opts.reads ?? [])]);
    for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
      // First on the revision the change was read at (the swap below fails if the branch has moved since), then on the branch as it is.
      const head = attempt === 0 ? opts.base : await this.head();
      if (head !== opts.base) await this.checkConflict(opts.base, head, touched);
      const [tree, headTree] = await Promise.all([this.treeWith(head, entries), git(this.dir, ['rev-parse', `${head}^{tree}`]).then((r) => r.stdout.trim())]);
      if (tree === headTree) {
        if (attempt === 0 && (await this.head()) !== head) continue;
        return { revision: head, changed: false };
      }
      const commit = (await git(this.dir, ['commit-tree', tree, '-p', head, '-m', opts.message], { env: authorEnv(opts.user) })).stdout.trim();
      const cas = await git(this.dir, ['update-ref', '-m', 'sous: write', this.branch, commit, head], { reject: false });
      if (cas.exitCode === 0) return { revision: commit, changed: true };
      // Another writer moved the branch between our read and our swap: look again.
      await sleep(Math.floor(Math.random() * 5 * Math.min(attempt + 1, 10)));
    }
    throw failure('GDM_BUSY', `the state repository ${this.dir} stayed too busy to write (${MAX_CAS_ATTEMPTS} attempts)`, {
      hints: ['Retry; if it persists, look for a process writing in a loop'],
    });
  }

  private async checkConflict(base: string, head: string, touched: Set<string>): Promise<void> {
    const known = await git(this.dir, ['cat-file', '-e', `${base}^{commit}`], { reject: false });
    if (known.exitCode !== 0) {
      throw new SousError('GDM_CONFLICT', `the state changed since revision ${base.slice(0, 12)} (which this repository does not know)`, {
        hints: ['Read the state again and retry the change'],
        details: { base, head },
      });
    }
    const diff = await git(this.dir, ['diff', '--name-only', '-z', '--no-renames', base, head]);
    const prefixes = [...touched].filter((t) => t.endsWith('/'));
    const clash = diff.stdout.split('\0').filter((p) => p && (touched.has(p) || prefixes.some((pre) => p.startsWith(pre))));
    if (clash.length > 0) {
      throw new SousError('GDM_CONFLICT', `${clash.join(', ')} changed since revision ${base.slice(0, 12)}; the change was not written`, {
        hints: ['Read the state again and retry the change'],
        details: { base, head, paths: clash },
      });
    }
  }

  /** Stores the new contents as blobs: each change as the path and its blob (null for a deletion). */
  private async hashObjects(changes: FileChange[]): Promise<TreeChange[]> {
    const out: TreeChange[] = [];
    for (const c of changes) {
      const sha = c.content === null ? null : (await git(this.dir, ['hash-object', '-w', '--stdin'], { input: c.content })).stdout.trim();
      out.push({ path: c.path, sha });
    }
    return out;
  }

  /** The tree of `onto` with `entries` set to their blobs (null: removed), built on a private index. */
  private async treeWith(onto: string, entries: TreeChange[]): Promise<string> {
    const tmpDir = path.join(this.gitDir, 'sous-tmp');
    await fsp.mkdir(tmpDir, { recursive: true });
    const index = path.join(tmpDir, `index-${process.pid}-${crypto.randomBytes(6).toString('hex')}`);
    const env = { GIT_INDEX_FILE: index };
    try {
      await git(this.dir, ['read-tree', onto], { env });
      const info = entries.map((e) => (e.sha === null ? `0 ${ZERO}\t${e.path}` : `100644 ${e.sha}\t${e.path}`)).join('\n') + '\n';
      await git(this.dir, ['update-index', '--index-info'], { env, input: info });
      return (await git(this.dir, ['write-tree'], { env })).stdout.trim();
    } finally {
      await fsp.rm(index, { force: true });
    }
  }

  /**
   * Brings the index and working tree to HEAD, keeping (and warning about)
   * local edits it would overwrite. Best effort: the commit is the truth.
   */
  async syncWorktree(quiet: boolean): Promise<boolean> {
    let refreshed = false;
    for (let i = 0; i < 50; i++) {
      const r = await git(this.dir, ['read-tree', '-m', '-u', this.branch], { reject: false });
      if (r.exitCode === 0) return true;
      // A copied or touched checkout has stale stat data in its index: git calls such files modified until it looks again.
      if (/not uptodate/.test(r.stderr) && !refreshed) {
        refreshed = true;
        await git(this.dir, ['update-index', '-q', '--refresh'], { reject: false });
        continue;
      }
      if (!/index\.lock/.test(r.stderr)) {
        if (!quiet) process.emitWarning(`the working tree of ${this.dir} has local edits; it was left as it is (${r.stderr.trim().split('\n')[0]})`, { code: 'SOUS_STATE_DIRTY' });
        return false;
      }
      await sleep(10 + Math.random() * 20);
    }
    return false;
  }

  private async withLock<T>(fn: () => Promise<T>): Promise<T> {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const lockfile = require('proper-lockfile') as typeof import('proper-lockfile');
    const timeout = this.opts.lockTimeoutMs ?? 60_000;
    const release = await lockfile.lock(this.gitDir, {
      lockfilePath: path.join(this.gitDir, 'sous-write.lock'),
      stale: STALE_LOCK_MS,
      retries: { retries: Math.ceil(timeout / 100), factor: 1, minTimeout: 50, maxTimeout: 150, randomize: true },
    });
    try {
      return await fn();
    } finally {
      await release().catch(() => undefined);
    }
  }

  private remoteRef(): string {
    return `refs/remotes/${this.remote}/${this.branch.replace(/^refs\/heads\//, '')}`;
  }

  private async fetch(): Promise<string | undefined> {
    const r = await git(this.dir, ['fetch', '-q', this.remote!, `+${this.branch}:${this.remoteRef()}`], { reject: false });
    if (r.exitCode !== 0 && !/couldn't find remote ref/i.test(r.stderr)) {
      throw failure('STATE_REMOTE_UNREACHABLE', `cannot fetch the state from ${this.remote}: ${r.stderr.trim().split('\n').pop()}`, {
        hints: [`Check the remote: git -C ${this.dir} remote -v`],
      });
    }
    const rv = await git(this.dir, ['rev-parse', '--verify', '-q', this.remoteRef()], { reject: false });
    return rv.exitCode === 0 ? rv.stdout.trim() : undefined;
  }

  private async isAncestor(a: string, b: string): Promise<boolean> {
    return (await git(this.dir, ['merge-base', '--is-ancestor', a, b], { reject: false })).exitCode === 0;
  }

  /** Fetches and fast-forwards; local commits the remote lacks are replayed on top of it. */
  async pull(): Promise<void> {
    if (!this.remote) return;
    await this.withLock(async () => {
      const remoteHead = await this.fetch();
      if (!remoteHead) return;
      const local = await this.head();
      if (local === remoteHead || (await this.isAncestor(remoteHead, local))) return;
      if (await this.isAncestor(local, remoteHead)) {
        await git(this.dir, ['update-ref', this.branch, remoteHead, local]);
      } else {
        await this.replayOnto(local, remoteHead);
      }
      await this.syncWorktree(false);
    });
  }

  /** Replays the local-only commits onto `onto`; commits that clash with the remote are dropped and reported. */
  private async replayOnto(local: string, onto: string): Promise<void> {
    const mb = (await git(this.dir, ['merge-base', local, onto])).stdout.trim();
    const revs = (await git(this.dir, ['rev-list', '--reverse', `${mb}..${local}`])).stdout.split('\n').filter(Boolean);
    let head = onto;
    for (const rev of revs) {
      try {
        head = await this.rebaseCommit(rev, head, mb);
      } catch (e) {
        if (e instanceof SousError && e.code === 'GDM_CONFLICT') {
          process.emitWarning(`local state commit ${rev.slice(0, 12)} clashes with the remote and was dropped: ${e.message}`, { code: 'SOUS_STATE_DIVERGED' });
          continue;
        }
        throw e;
      }
    }
    await git(this.dir, ['update-ref', this.branch, head, local]);
  }

  /** Re-creates commit `rev` (its own changes, author and message) on top of `onto`. */
  private async rebaseCommit(rev: string, onto: string, base: string): Promise<string> {
    const parent = `${rev}^`;
    const diff = await git(this.dir, ['diff-tree', '-r', '-z', '--no-renames', '--no-commit-id', parent, rev]);
    const fields = diff.stdout.split('\0').filter((s) => s !== '');
    const changes: TreeChange[] = [];
    for (let i = 0; i + 1 < fields.length; i += 2) {
      const meta = fields[i].split(' ');
      const status = meta[4];
      changes.push({ path: fields[i + 1], sha: status === 'D' ? null : meta[3] });
    }
    await this.checkConflict(base, onto, new Set(changes.map((c) => c.path)));
    const tree = await this.treeWith(onto, changes);
    const meta = (await git(this.dir, ['log', '-1', '--format=%an%x1f%ae%x1f%aI%x1f%B', rev])).stdout.split('\x1f');
    const [name, email, date, message] = meta;
    return (
      await git(this.dir, ['commit-tree', tree, '-p', onto, '-m', message.trim()], {
        env: { ...authorEnv({ name, email }), GIT_AUTHOR_DATE: date },
      })
    ).stdout.trim();
  }

  /** With a remote: pull, commit, push; a rejected push is rebased and retried, a clash is a conflict and nothing stays behind. */
  private async writeAndPush(changes: FileChange[], opts: WriteOptions): Promise<{ revision: string; changed: boolean }> {
    let remoteHead = await this.fetch();
    const local = await this.head();
    if (remoteHead && remoteHead !== local && (await this.isAncestor(local, remoteHead))) {
      await git(this.dir, ['update-ref', this.branch, remoteHead, local]);
    }
    let result = await this.commitLocal(changes, opts);
    if (!result.changed) {
      await this.syncWorktree(false);
      return result;
    }
    for (let attempt = 0; attempt < MAX_PUSH_ATTEMPTS; attempt++) {
      const push = await git(this.dir, ['push', '-q', '--porcelain', this.remote!, `${result.revision}:${this.branch}`], { reject: false });
      if (push.exitCode === 0) {
        await git(this.dir, ['update-ref', this.remoteRef(), result.revision]);
        await this.syncWorktree(false);
        return result;
      }
      const rejected = /rejected|non-fast-forward|fetch first|stale info|failed to update ref|cannot lock ref/i.test(push.stderr + push.stdout);
      remoteHead = await this.fetch().catch(() => undefined);
      if (!rejected && remoteHead === undefined) {
        await this.rollback(result.revision, opts.base, remoteHead);
        throw failure('STATE_PUSH_FAILED', `cannot push the state to ${this.remote}: ${(push.stderr || push.stdout).trim().split('\n').pop()}`, {
          hints: [`Check the remote: git -C ${this.dir} remote -v`],
        });
      }
      if (!remoteHead) continue;
      try {
        const rebased = await this.rebaseCommit(result.revision, remoteHead, opts.base);
        await git(this.dir, ['update-ref', this.branch, rebased, result.revision]);
        result = { revision: rebased, changed: true };
      } catch (e) {
        await this.rollback(result.revision, opts.base, remoteHead);
        throw e;
      }
      await sleep(Math.random() * 20 * Math.min(attempt + 1, 5));
    }
    await this.rollback(result.revision, opts.base, remoteHead);
    throw failure('STATE_PUSH_FAILED', `the state remote ${this.remote} kept rejecting the push (${MAX_PUSH_ATTEMPTS} attempts)`, {
      hints: ['Retry the change'],
    });
  }

  /** Takes an unpushed commit back off the branch. */
  private async rollback(commit: string, base: string, remoteHead: string | undefined): Promise<void> {
    const to = remoteHead ?? base;
    await git(this.dir, ['update-ref', this.branch, to, commit], { reject: false });
    await this.syncWorktree(true);
  }
}
