/**
 * The outbox: every (event, notifier) delivery is a file written before the
 * first attempt and removed after a success, so a delivery outlives the
 * process that started it. Layout, per notifier (named by a hash of its
 * config entry):
 *
 *   <root>/<notifier>/notifier.json        what the notifier is (no secrets)
 *   <root>/<notifier>/pending/<id>.json    deliveries still to make
 *   <root>/<notifier>/pending/<id>.claim   held by the process attempting it
 *   <root>/<notifier>/failed/<id>.json     deliveries given up on
 *   <root>/<notifier>/deliveries.jsonl     one line per attempt
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { dataHome } from '../config/load';
import type { TypedEvent } from './catalogue';

/** One event on its way to one notifier. */
export interface DeliveryRecord {
  /** Stable across retries and restarts: receivers drop duplicates by it. */
  id: string;
  /** The notifier's key (its directory name). */
  notifier: string;
  notifierType: string;
  event: TypedEvent;
  createdAt: string;
  /** Attempts made so far. */
  attempts: number;
  /** Not to be attempted before this time (ISO). */
  nextAttemptAt: string;
  lastError?: string;
}

/** One attempt, as the delivery log keeps it. */
export interface AttemptRecord {
  time: string;
  delivery: string;
  eventId: string;
  eventType: string;
  attempt: number;
  ok: boolean;
  /** The receiver's status (HTTP status, SMTP reply code) when it answered. */
  status?: number;
  durationMs: number;
  error?: string;
  /** True when this was the last attempt: delivered, or given up. */
  final: boolean;
}

/** The default outbox: $XDG_DATA_HOME/sous/outbox. */
export function defaultOutboxDir(env: Record<string, string | undefined> = process.env): string {
  return path.join(dataHome(env), 'sous', 'outbox');
}

const LOG_MAX_BYTES = 1024 * 1024;
/** A claim older than this is taken over even when its holder's pid still runs (another host, pid reuse). */
const CLAIM_TTL_MS = 10 * 60_000;

/** Writes a file so that readers see the old content or the new, never a part: temp file, fsync, rename. */
export async function writeFileAtomic(file: string, data: string): Promise<void> {
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  const fh = await fs.promises.open(tmp, 'w', 0o600);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await fs.promises.rename(tmp, file);
  } catch (e) {
    await fs.promises.rm(tmp, { force: true });
    throw e;
  }
  await fsyncDir(path.dirname(file));
}

async function fsyncDir(dir: string): Promise<void> {
  try {
    const d = await fs.promises.open(dir, 'r');
    try {
      await d.sync();
    } finally {
      await d.close();
    }
  } catch {
    // Some file systems cannot fsync a directory; the rename itself is still atomic.
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A delivery this process holds; release it when the attempt is over. */
export interface Claim {
  release(): Promise<void>;
}

/** The outbox of one notifier. */
export class NotifierOutbox {
  readonly pendingDir: string;
  readonly failedDir: string;
  readonly logFile: string;
  private ready?: Promise<void>;

  constructor(
    readonly dir: string,
    private readonly describe: Record<string, unknown> = {},
  ) {
    this.pendingDir = path.join(dir, 'pending');
    this.failedDir = path.join(dir, 'failed');
    this.logFile = path.join(dir, 'deliveries.jsonl');
  }

  private ensure(): Promise<void> {
    this.ready ??= (async () => {
      await fs.promises.mkdir(this.pendingDir, { recursive: true, mode: 0o700 });
      await fs.promises.mkdir(this.failedDir, { recursive: true, mode: 0o700 });
      await writeFileAtomic(path.join(this.dir, 'notifier.json'), JSON.stringify(this.describe, null, 2) + '\n');
    })().catch((e) => {
      this.ready = undefined;
      throw e;
    });
    return this.ready;
  }

  private file(id: string, dir = this.pendingDir): string {
    return path.join(dir, `${id}.json`);
  }

  /** Stores a new delivery; false when one with this id is already pending (the same event emitted again). */
  async put(rec: DeliveryRecord): Promise<boolean> {
    await this.ensure();
    if (fs.existsSync(this.file(rec.id))) return false;
    await writeFileAtomic(this.file(rec.id), JSON.stringify(rec));
    return true;
  }

  async read(id: string): Promise<DeliveryRecord | undefined> {
    try {
      return JSON.parse(await fs.promises.readFile(this.file(id), 'utf8')) as DeliveryRecord;
    } catch {
      return undefined;
    }
  }

  async update(rec: DeliveryRecord): Promise<void> {
    await writeFileAtomic(this.file(rec.id), JSON.stringify(rec));
  }

  /** Delivered: the record goes. */
  async remove(id: string): Promise<void> {
    await fs.promises.rm(this.file(id), { force: true });
    await fsyncDir(this.pendingDir);
  }

  /** Given up: the record moves to failed/ for inspection. */
  async giveUp(rec: DeliveryRecord): Promise<void> {
    await this.ensure();
    await writeFileAtomic(this.file(rec.id, this.failedDir), JSON.stringify(rec));
    await this.remove(rec.id);
  }

  /** Pending deliveries, oldest first. */
  async pending(): Promise<DeliveryRecord[]> {
    let names: string[];
    try {
      names = await fs.promises.readdir(this.pendingDir);
    } catch {
      return [];
    }
    const recs: DeliveryRecord[] = [];
    for (const n of names) {
      if (!n.endsWith('.json')) continue;
      const r = await this.read(n.slice(0, -5));
      if (r) recs.push(r);
    }
    return recs.sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  }

  async failed(): Promise<DeliveryRecord[]> {
    try {
      const names = (await fs.promises.readdir(this.failedDir)).filter((n) => n.endsWith('.json'));
      return Promise.all(names.map(async (n) => JSON.parse(await fs.promises.readFile(path.join(this.failedDir, n), 'utf8')) as DeliveryRecord));
    } catch {
      return [];
    }
  }

  /**
   * Takes the delivery for one attempt, so that two processes with the same
   * notifier do not send it at once. A claim left by a dead process is taken over.
   */
  async claim(id: string): Promise<Claim | undefined> {
    await this.ensure();
    const file = path.join(this.pendingDir, `${id}.claim`);
    const mine = JSON.stringify({ pid: process.pid, host: os.hostname(), at: Date.now() });
    for (let tries = 0; tries < 2; tries++) {
      try {
        await fs.promises.writeFile(file, mine, { flag: 'wx', mode: 0o600 });
        return { release: () => fs.promises.rm(file, { force: true }) };
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
      let holder: { pid?: number; host?: string; at?: number } = {};
      try {
        holder = JSON.parse(await fs.promises.readFile(file, 'utf8')) as typeof holder;
      } catch {
        // Unreadable: written by a process killed between create and write.
      }
      const dead = holder.host === os.hostname() && typeof holder.pid === 'number' && holder.pid !== process.pid && !pidAlive(holder.pid);
      const old = typeof holder.at !== 'number' || Date.now() - holder.at > CLAIM_TTL_MS;
      if (!dead && !old) return undefined;
      await fs.promises.rm(file, { force: true });
    }
    return undefined;
  }

  /** Appends one attempt to the delivery log (kept to about a megabyte, one older file besides). */
  async log(attempt: AttemptRecord): Promise<void> {
    await this.ensure();
    try {
      const st = await fs.promises.stat(this.logFile);
      if (st.size > LOG_MAX_BYTES) await fs.promises.rename(this.logFile, this.logFile.replace(/\.jsonl$/, '.1.jsonl'));
    } catch {
      // No log yet.
    }
    await fs.promises.appendFile(this.logFile, JSON.stringify(attempt) + '\n', { mode: 0o600 });
  }

  /** Every attempt in the delivery log, oldest first. */
  async attempts(): Promise<AttemptRecord[]> {
    const out: AttemptRecord[] = [];
    for (const f of [this.logFile.replace(/\.jsonl$/, '.1.jsonl'), this.logFile]) {
      let text = '';
      try {
        text = await fs.promises.readFile(f, 'utf8');
      } catch {
        continue;
      }
      for (const line of text.split('\n')) {
        if (!line) continue;
        try {
          out.push(JSON.parse(line) as AttemptRecord);
        } catch {
          // A line cut short by a crash; the rest of the log is still good.
        }
      }
    }
    return out;
  }
}

/** What the outbox holds for one notifier: for tools that show delivery state. */
export interface OutboxReport {
  key: string;
  dir: string;
  /** notifier.json: the type, name and destination (no secrets). */
  notifier: Record<string, unknown>;
  pending: DeliveryRecord[];
  failed: DeliveryRecord[];
  attempts: AttemptRecord[];
}

/** Reads every notifier's outbox under `root` (default $XDG_DATA_HOME/sous/outbox), optionally of one type. */
export async function inspectOutbox(root: string = defaultOutboxDir(), type?: string): Promise<OutboxReport[]> {
  let keys: string[];
  try {
    keys = (await fs.promises.readdir(root, { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name);
  } catch {
    return [];
  }
  const out: OutboxReport[] = [];
  for (const key of keys.sort()) {
    const dir = path.join(root, key);
    let notifier: Record<string, unknown> = {};
    try {
      notifier = JSON.parse(await fs.promises.readFile(path.join(dir, 'notifier.json'), 'utf8')) as Record<string, unknown>;
    } catch {
      continue;
    }
    if (type && notifier.type !== type) continue;
    const ob = new NotifierOutbox(dir);
    out.push({ key, dir, notifier, pending: await ob.pending(), failed: await ob.failed(), attempts: await ob.attempts() });
  }
  return out;
}
