import { usageError } from '../errors';

/**
 * Normalises a git remote URL to Sous's repo form `host/path` (no scheme, no
 * user, no port, no `.git`), so the ssh and https forms of one repository are
 * the same repo: git@github.com:acme/shop.git and https://github.com/acme/shop
 * are both github.com/acme/shop. Local paths become `file/<path>`.
 */
export function normalizeRepoURL(url: string): string {
  let u = url.trim();
  if (!u) throw usageError('INVALID_REPO_URL', 'empty repository URL', { hints: ['Use host/owner/name, https://host/owner/name or git@host:owner/name.git'] });
  let host: string;
  let p: string;
  const scp = /^(?:[^@/]+@)?([^:/]+):(?!\/\/)(.+)$/.exec(u);
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(u)) {
    const parsed = new URL(u);
    if (parsed.protocol === 'file:') {
      host = 'file';
      p = decodeURIComponent(parsed.pathname);
    } else {
      host = parsed.hostname;
      p = decodeURIComponent(parsed.pathname);
    }
  } else if (scp && !u.startsWith('/') && !u.startsWith('.')) {
    host = scp[1];
    p = scp[2];
  } else if (u.startsWith('/') || u.startsWith('.')) {
    host = 'file';
    p = u;
  } else {
    // Already normalised (github.com/acme/shop) or host/path without a scheme.
    const i = u.indexOf('/');
    if (i < 0) throw usageError('INVALID_REPO_URL', `${JSON.stringify(url)} is not a repository URL`, { hints: ['Use host/owner/name, https://host/owner/name or git@host:owner/name.git'] });
    host = u.slice(0, i);
    p = u.slice(i + 1);
  }
  u = p.replace(/^\/+/, '').replace(/\/+$/, '').replace(/\.git$/, '');
  if (!u) throw usageError('INVALID_REPO_URL', `${JSON.stringify(url)} has no repository path`, { hints: ['Use host/owner/name, https://host/owner/name or git@host:owner/name.git'] });
  return `${host.toLowerCase()}/${u}`;
}
