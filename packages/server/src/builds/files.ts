import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * Writes a small file so that a reader (or a restart after a crash) sees the
 * old content or the new, never half of it: temp file, fsync, rename.
 */
export function writeAtomic(file: string, data: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.${crypto.randomBytes(3).toString('hex')}.tmp`;
  const fd = fs.openSync(tmp, 'w', 0o600);
  try {
    fs.writeSync(fd, data);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
}

/** Parses a JSON file, or undefined when it is missing or unreadable (a crash leaves no half file, but a person might). */
export function readJson<T>(file: string): T | undefined {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

/** A file or directory name for a repository (github.com/acme/shop → github.com_acme_shop-1a2b3c4d). */
export function fileNameFor(repo: string): string {
  const readable = repo.replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 80);
  return `${readable}-${crypto.createHash('sha256').update(repo).digest('hex').slice(0, 8)}`;
}

/** When a process started (clock ticks since boot, from /proc), to tell a live holder from a reused pid. */
export function processStart(pid: number): string | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which is in parentheses and may itself hold spaces.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/** Whether the process that wrote a claim still runs. */
export function isAlive(holder: { pid: number; start?: string }): boolean {
  try {
    process.kill(holder.pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
  const start = processStart(holder.pid);
  return !holder.start || !start || start === holder.start;
}
