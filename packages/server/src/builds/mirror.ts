import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { failure, tagAuthor, usageError, type ResolvedConfig } from '@sous/core';
import { mutex } from '../context';
import { fileNameFor } from './files';

/** A tag on a remote: the object it names (a tag object for annotated tags) and the commit under it. */
export interface RemoteTag {
  object: string;
  commit: string;
}

const URL_RE = /^((https?|git|ssh|file):\/\/\S+|[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:\S+)$/;

/** Runs git without ever asking anyone anything (no terminal prompts), within a time limit. */
export function runGit(cwd: string | undefined, args: string[], timeoutMs = 120_000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      'git',
      // ext:: runs arbitrary commands: no repository URL gets to use it.
      ['-c', 'protocol.ext.allow=never', ...args],
      { cwd, timeout: timeoutMs, maxBuffer: 64 << 20, env: { ...process.env, GIT_TERMINAL_PROMPT: '0', GIT_ASKPASS: 'true', SSH_ASKPASS: 'true' } },
      (err, stdout, stderr) => {
        if (err) {
          const e = err as NodeJS.ErrnoException & { killed?: boolean };
          reject(failure('GIT_FAILED', `git ${args.filter((a) => !a.includes('://') && !a.includes('@')).slice(0, 2).join(' ')} failed${e.killed ? ` (no answer in ${timeoutMs / 1000}s)` : ''}: ${(stderr || e.message).trim().split('\n').slice(-3).join(' ')}`, { details: { retryable: true } }));
        } else resolve(stdout);
      },
    );
  });
}

/** Parses `git ls-remote --tags` output into tag name → object and commit. */
export function parseLsRemote(out: string): Map<string, RemoteTag> {
  const tags = new Map<string, RemoteTag>();
  for (const line of out.split('\n')) {
    const m = /^([0-9a-f]{40,64})\trefs\/tags\/(.+?)(\^\{\})?$/.exec(line.trim());
    if (!m) continue;
    const [, sha, name, peeled] = m;
    const t = tags.get(name) ?? { object: sha, commit: sha };
    if (peeled) t.commit = sha;
    else {
      t.object = sha;
      if (!tags.has(name)) t.commit = sha;
    }
    tags.set(name, t);
  }
  return tags;
}

/**
 * One clone per repository under the state's `.git/sous/mirrors/`, fetched
 * before each build: builds check tags out of it into temporary worktrees,
 * so its own working tree stays empty.
 */
export class Mirrors {
  private readonly locks = new Map<string, <T>(fn: () => Promise<T>) => Promise<T>>();

  constructor(
    readonly root: string,
    private readonly config: Pick<ResolvedConfig, 'repositories'>,
  ) {}

  /** The clone URL of a repository: the configured one, or https://<repo>.git. */
  urlOf(repo: string): string {
    const url = this.config.repositories[repo]?.url ?? `https://${repo}.git`;
    if (!URL_RE.test(url) || url.startsWith('-')) {
      throw usageError('INVALID_REPOSITORY_URL', `the clone URL of ${repo} (${JSON.stringify(url)}) is not one Sous fetches from`, { hints: ['Use https://, git://, ssh://, file:// or user@host:path in repositories.<repo>.url'] });
    }
    return url;
  }

  dirOf(repo: string): string {
    return path.join(this.root, fileNameFor(repo));
  }

  private lock(repo: string): <T>(fn: () => Promise<T>) => Promise<T> {
    let l = this.locks.get(repo);
    if (!l) this.locks.set(repo, (l = mutex()));
    return l;
  }

  /** The remote's tags, straight from the remote. */
  async lsRemote(repo: string): Promise<Map<string, RemoteTag>> {
    return parseLsRemote(await runGit(undefined, ['ls-remote', '--tags', this.urlOf(repo)], 60_000));
  }

  /** Brings the clone up to the remote: branches as origin/*, tags as they are there (deleted ones go). */
  async fetch(repo: string): Promise<string> {
    return this.lock(repo)(async () => {
      const dir = this.dirOf(repo);
      const url = this.urlOf(repo);
      if (!fs.existsSync(path.join(dir, '.git'))) {
        fs.mkdirSync(dir, { recursive: true });
        await runGit(dir, ['init', '-q']);
        await runGit(dir, ['remote', 'add', 'origin', url]);
      } else if ((await runGit(dir, ['remote', 'get-url', 'origin'])).trim() !== url) {
        await runGit(dir, ['remote', 'set-url', 'origin', url]);
      }
      await runGit(dir, ['fetch', '-q', '--prune', '--force', '--no-auto-gc', 'origin', '+refs/heads/*:refs/remotes/origin/*', '+refs/tags/*:refs/tags/*']);
      // The build reads HEAD; a clone that never checks anything out points it at any fetched commit.
      const head = await runGit(dir, ['rev-parse', '-q', '--verify', 'HEAD^{commit}']).catch(() => '');
      if (!head.trim()) {
        const ref = (await runGit(dir, ['for-each-ref', '--count=1', '--format=%(refname)', 'refs/remotes', 'refs/tags'])).trim();
        if (ref) await runGit(dir, ['update-ref', '--no-deref', 'HEAD', (await runGit(dir, ['rev-parse', `${ref}^{commit}`])).trim()]);
      }
      return dir;
    });
  }

  /** The commit a tag names in the clone, or undefined when the clone has no such tag. */
  async tagCommit(repo: string, tag: string): Promise<string | undefined> {
    const out = await runGit(this.dirOf(repo), ['rev-parse', '-q', '--verify', `refs/tags/${tag}^{commit}`]).catch(() => '');
    return out.trim() || undefined;
  }

  /** The person a tag stands for: its tagger, else its commit's author. */
  async author(repo: string, tag: string): Promise<{ name: string; email: string } | undefined> {
    const dir = this.dirOf(repo);
    const tagger = await tagAuthor(dir, tag);
    if (tagger) return tagger;
    const out = (await runGit(dir, ['show', '-s', '--format=%an%x1f%ae', `refs/tags/${tag}^{commit}`]).catch(() => '')).trim();
    const [name, email] = out.split('\x1f');
    return name ? { name, email: email ?? '' } : undefined;
  }
}
