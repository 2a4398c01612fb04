import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { isAlive, processStart, readJson, writeAtomic } from './files';
import { FINAL_STATES, type BuildJob } from './types';

interface Claim {
  pid: number;
  start?: string;
  instance: string;
  at: string;
}

/**
 * Build jobs on disk: `jobs/<id>.json` (written atomically), `logs/<id>.log`
 * (appended), and `claims/<id>.json`, which the process running a job holds
 * so that no two processes run one job at once.
 */
export class JobStore {
  readonly jobs = new Map<string, BuildJob>();
  /** This process, as claims name it (a pid alone could be reused after a restart). */
  readonly instance = crypto.randomBytes(8).toString('hex');
  private readonly myStart = processStart(process.pid);

  constructor(readonly dir: string) {}

  private jobFile(id: string): string {
    return path.join(this.dir, 'jobs', `${id}.json`);
  }

  logFile(id: string): string {
    return path.join(this.dir, 'logs', `${id}.log`);
  }

  private claimFile(id: string): string {
    return path.join(this.dir, 'claims', `${id}.json`);
  }

  /** Reads every job file. */
  load(): void {
    const dir = path.join(this.dir, 'jobs');
    fs.mkdirSync(dir, { recursive: true });
    for (const f of fs.readdirSync(dir)) {
      if (f.endsWith('.tmp')) {
        fs.rmSync(path.join(dir, f), { force: true });
        continue;
      }
      if (!f.endsWith('.json')) continue;
      const job = readJson<BuildJob>(path.join(dir, f));
      if (!job?.id) continue;
      this.jobs.set(job.id, job);
      // A clock set back after a restart must not order new jobs before old ones.
      this.lastIdTime = Math.max(this.lastIdTime, parseInt(job.id.split('-')[0], 36) || 0);
    }
  }

  private lastIdTime = 0;

  /** A new job id; ids sort in the order they were made (the queue runs oldest first). */
  newId(): string {
    // Two jobs in one millisecond still get increasing ids.
    this.lastIdTime = Math.max(Date.now(), this.lastIdTime + 1);
    return `${this.lastIdTime.toString(36).padStart(9, '0')}-${crypto.randomBytes(3).toString('hex')}`;
  }

  /** Told of every job saved and every log line written (the status page follows builds with it). */
  onChange?: (job: string, what: 'job' | 'log') => void;

  save(job: BuildJob): void {
    job.updatedAt = new Date().toISOString();
    this.jobs.set(job.id, job);
    writeAtomic(this.jobFile(job.id), JSON.stringify(job, null, 2) + '\n');
    this.onChange?.(job.id, 'job');
  }

  /** Newest first. */
  list(): BuildJob[] {
    return [...this.jobs.values()].sort((a, b) => (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
  }

  log(id: string, line: string): void {
    fs.mkdirSync(path.dirname(this.logFile(id)), { recursive: true });
    fs.appendFileSync(this.logFile(id), `${new Date().toISOString()} ${line.replace(/\n+$/, '')}\n`);
    this.onChange?.(id, 'log');
  }

  /** The log from byte `from` on, and the size it has now. */
  readLog(id: string, from = 0): { text: string; size: number } {
    let fd: number;
    try {
      fd = fs.openSync(this.logFile(id), 'r');
    } catch {
      return { text: '', size: 0 };
    }
    try {
      const size = fs.fstatSync(fd).size;
      const start = Math.min(Math.max(0, from), size);
      const buf = Buffer.alloc(size - start);
      fs.readSync(fd, buf, 0, buf.length, start);
      return { text: buf.toString('utf8'), size };
    } finally {
      fs.closeSync(fd);
    }
  }

  /**
   * Takes the job for this process. False when a live process holds it; a
   * dead holder's claim is taken over.
   */
  claim(id: string): boolean {
    const file = this.claimFile(id);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const mine: Claim = { pid: process.pid, start: this.myStart, instance: this.instance, at: new Date().toISOString() };
    for (let i = 0; i < 2; i++) {
      try {
        const fd = fs.openSync(file, 'wx', 0o600);
        try {
          fs.writeSync(fd, JSON.stringify(mine));
          fs.fsyncSync(fd);
        } finally {
          fs.closeSync(fd);
        }
        return true;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
        if (this.holderAlive(id)) return false;
        fs.rmSync(file, { force: true });
      }
    }
    return false;
  }

  /** Whether another live process holds the job. */
  holderAlive(id: string): boolean {
    const c = readJson<Claim>(this.claimFile(id));
    if (!c) return false;
    if (c.instance === this.instance) return true;
    if (c.pid === process.pid) return false;
    return isAlive(c);
  }

  heldByMe(id: string): boolean {
    return readJson<Claim>(this.claimFile(id))?.instance === this.instance;
  }

  release(id: string): void {
    if (this.heldByMe(id)) fs.rmSync(this.claimFile(id), { force: true });
  }

  /** Forgets the oldest finished jobs (and their logs) beyond `keep`. */
  prune(keep: number): void {
    const finished = this.list().filter((j) => FINAL_STATES.includes(j.state));
    for (const j of finished.slice(keep)) {
      this.jobs.delete(j.id);
      fs.rmSync(this.jobFile(j.id), { force: true });
      fs.rmSync(this.logFile(j.id), { force: true });
      fs.rmSync(this.claimFile(j.id), { force: true });
    }
  }
}
