import * as path from 'node:path';
import { failure, usageError } from '../errors';
import { git } from '../gdm/git';
import { parseVersion, isSemver } from '../model/version';
import { ADVISORIES, type SourceContext, type SourceRequest } from '../pipeline/types';
import { normalizeRepoURL } from './repo-url';

async function out(cwd: string, args: string[]): Promise<string | undefined> {
  const r = await git(cwd, args, { reject: false });
  return r.exitCode === 0 ? r.stdout.trim() : undefined;
}

/** Resolves a tag name as given, or with/without a leading v. */
export async function resolveTag(root: string, tag: string): Promise<{ name: string; commit: string } | undefined> {
  const candidates = [tag, tag.startsWith('v') ? tag.slice(1) : `v${tag}`];
  for (const name of candidates) {
    const commit = await out(root, ['rev-parse', '-q', '--verify', `refs/tags/${name}^{commit}`]);
    if (commit) return { name, commit };
  }
  return undefined;
}

const TAGGER_FORMAT = '%(objecttype)%1f%(taggername)%1f%(taggeremail)';

/** The tagger from TAGGER_FORMAT's fields: only an annotated tag has one. */
function taggerOf([type, name, email]: string[]): { name: string; email: string } | undefined {
  if (type !== 'tag' || !name) return undefined;
  return { name, email: (email ?? '').replace(/^<|>$/g, '') };
}

/**
 * Who made the tag: the tagger of an annotated tag, undefined for a
 * lightweight one (whose only author is its commit's).
 */
export async function tagAuthor(root: string, tag: string): Promise<{ name: string; email: string } | undefined> {
  const info = await out(root, ['for-each-ref', `--format=${TAGGER_FORMAT}`, `refs/tags/${tag}`]);
  return taggerOf((info ?? '').split('\x1f'));
}

/** The tags that point at `revision` (annotated ones through their commit), in name order, each with its tagger. */
async function tagsAt(root: string, revision: string): Promise<{ name: string; tagger?: { name: string; email: string } }[]> {
  const listing = await out(root, ['for-each-ref', '--points-at', revision, `--format=%(refname:lstrip=2)%1f${TAGGER_FORMAT}`, 'refs/tags']);
  return (listing ?? '')
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [name, ...fields] = line.split('\x1f');
      return { name, tagger: taggerOf(fields) };
    });
}

/**
 * Reads the git facts about `req.dir`: repo (normalised origin URL), offset,
 * revision, version, and the original's advisories.
 */
export async function readSourceContext(req: SourceRequest): Promise<SourceContext> {
  const dir = path.resolve(req.dir);
  const root = await out(dir, ['rev-parse', '--show-toplevel']);
  if (!root) {
    throw usageError('NOT_A_GIT_REPO', `${dir} is not inside a git repository`, {
      hints: ['Run sous from a clone of your application, or `git init` and commit it first'],
    });
  }
  // Each git call is a process: the independent ones run at once, in three rounds instead of a dozen steps.
  const [head, remotes, found] = await Promise.all([
    out(root, ['rev-parse', '-q', '--verify', 'HEAD^{commit}']),
    out(root, ['remote']),
    req.tag ? resolveTag(root, req.tag) : undefined,
  ]);
  if (!head) {
    throw usageError('NO_COMMITS', `the repository at ${root} has no commits yet`, { hints: ['Commit your sources, then tag the commit: git tag 0.1.0'] });
  }
  const advisories: string[] = [];
  const offset = req.offset ?? path.relative(root, dir).split(path.sep).join('/');
  const remoteName = remotes?.split('\n').filter(Boolean);
  const remote = remoteName?.includes('origin') ? 'origin' : remoteName?.[0];

  let revision = head;
  let version: string | undefined;
  let tag: string | undefined;
  if (req.tag) {
    parseVersion(req.tag);
    if (!found) {
      throw usageError('TAG_NOT_FOUND', `tag ${JSON.stringify(req.tag)} does not exist in ${root}`, {
        hints: [`Create it on the commit to build: git tag ${req.tag} && git push origin ${req.tag}`, 'List the tags: git tag --list'],
      });
    }
    tag = found.name;
    version = parseVersion(found.name).raw;
    revision = found.commit;
  }
  const cleanCheckout = Boolean(req.tag);
  const [remoteURL, pointing, dirtyOut, contains, info] = await Promise.all([
    remote ? out(root, ['remote', 'get-url', remote]) : undefined,
    tagsAt(root, revision),
    // A clean checkout of a tag is never dirty, whatever the working tree holds.
    cleanCheckout ? undefined : out(root, ['status', '--porcelain', '--untracked-files=normal', '--', offset || '.']),
    // Only what git already knows locally: a remote-tracking branch holds the revision.
    remote ? out(root, ['branch', '-r', '--contains', revision]) : undefined,
    out(root, ['show', '-s', '--format=%cI%x1f%an%x1f%ae', revision]),
  ]);
  let repo = req.repo;
  if (!repo) {
    if (remoteURL) repo = normalizeRepoURL(remoteURL);
    else {
      advisories.push(ADVISORIES.noRepository);
      repo = normalizeRepoURL(root);
    }
  }

  const tagsOnRevision = pointing.map((t) => t.name).filter((t) => isSemver(t));
  if (!req.tag) {
    if (tagsOnRevision.length) {
      const best = tagsOnRevision.map((t) => ({ t, v: parseVersion(t) })).sort((a, b) => b.v.semver.compare(a.v.semver))[0];
      tag = best.t;
      version = best.v.raw;
    } else {
      advisories.push(ADVISORIES.noVersionedTag);
    }
  } else if (tagsOnRevision.length && !tagsOnRevision.some((t) => parseVersion(t).tag === parseVersion(req.tag!).tag)) {
    advisories.push(ADVISORIES.tagMismatch);
  }

  const dirty = !cleanCheckout && Boolean(dirtyOut);
  if (dirty) advisories.push(ADVISORIES.dirtyWorkspace);
  if (!cleanCheckout && req.tag === undefined && tag && revision !== head) advisories.push(ADVISORIES.tagNotHead);

  const pushed = Boolean(contains);
  if (!pushed && !advisories.includes(ADVISORIES.noRepository)) advisories.push(ADVISORIES.unpushedRevision);
  if (req.dev) advisories.push(ADVISORIES.developerBuild);

  const [commitTime, name, email] = (info ?? '').split('\x1f');
  // The person to tell about a tag build is whoever made the tag, when the tag says so.
  const tagger = tag ? pointing.find((t) => t.name === tag)?.tagger : undefined;
  if (!/^[0-9a-f]{40}$/.test(revision)) throw failure('BOGUS_REVISION', `git gave a revision that is not a commit id: ${revision}`);
  return {
    repo,
    offset,
    rootDir: root,
    sourceDir: dir,
    revision,
    version,
    tag,
    tagsOnRevision,
    commitTime,
    author: tagger ?? (name ? { name, email } : undefined),
    dirty,
    pushed,
    remoteURL,
    advisories,
    cleanCheckout,
  };
}
