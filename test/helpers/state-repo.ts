/**
 * Temporary state repositories for tests: empty, or a copy of a fixture (the
 * original Sous's test data) committed as one git commit.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';

export const FIXTURES = path.resolve(__dirname, '../fixtures');
export const ORIGINAL_STATE = path.join(FIXTURES, 'original-state');
export const ORIGINAL_FILES = ['defs.yaml', 'manifests/github.com/opentable/sous.yaml', 'manifests/github.com/user/project.yaml'];

const GIT_ENV = { GIT_AUTHOR_NAME: 'Fixture', GIT_AUTHOR_EMAIL: 'fixture@example.com', GIT_COMMITTER_NAME: 'Fixture', GIT_COMMITTER_EMAIL: 'fixture@example.com', GIT_CONFIG_NOSYSTEM: '1' };

export function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd, encoding: 'utf8', env: { ...process.env, ...GIT_ENV }, stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

export function tempDir(prefix = 'sous-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** Copies `fixture` into `dir` (created) and commits it on branch main. */
export function makeStateRepo(dir: string, fixture: string = ORIGINAL_STATE): string {
  fs.mkdirSync(dir, { recursive: true });
  fs.cpSync(fixture, dir, { recursive: true });
  git(dir, 'init', '-q', '-b', 'main');
  git(dir, 'add', '-A');
  git(dir, 'commit', '-q', '-m', 'Original Sous state');
  return dir;
}

export function head(dir: string): string {
  return git(dir, 'rev-parse', 'HEAD');
}

export function commitCount(dir: string): number {
  return Number(git(dir, 'rev-list', '--count', 'HEAD'));
}

/** Runs `git fsck --full --strict`; returns its output, throwing when it fails. */
export function fsck(dir: string): string {
  return execFileSync('git', ['fsck', '--full', '--strict', '--no-progress'], { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** True when the working tree and index match HEAD exactly (nothing modified, nothing untracked). */
export function worktreeClean(dir: string): boolean {
  return git(dir, 'status', '--porcelain', '--untracked-files=all') === '';
}
