import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import type { Lease } from '../pipeline/types';

/** What the rectifier remembers about one deployment between passes. */
export interface DeploymentStatus {
  id: string;
  cluster: string;
  /** The intent (hash of the intended spec) the last action worked towards. */
  intent: string;
  version?: string;
  status: 'Pending' | 'Active' | 'Failed';
  resolution: string;
  message?: string;
  /** Failed attempts in a row at this intent. */
  failures: number;
  /** Set once a held change has been announced, so it is announced once. */
  heldNotified?: boolean;
  /** Set once a removed deployment has been announced. */
  removedNotified?: boolean;
  at: string;
}

/**
 * Outcomes per cluster, one JSON file each, replaced atomically (write then
 * rename) so readers never see half a file. The records are kept in memory
 * between passes (read again when the file changed under us), and updates
 * made while a write is under way go out together in the next one: a pass
 * with many actions writes a few times, not once per action. Across
 * processes the cluster lease keeps a single writer.
 */
export class StatusStore {
  private cache = new Map<string, { records: Record<string, DeploymentStatus>; mtimeMs: number }>();
  private loading = new Map<string, Promise<Record<string, DeploymentStatus>>>();
  /** A write scheduled but not started: later updates ride on it. */
  private queued = new Map<string, Promise<void>>();
  private writing = new Map<string, Promise<void>>();

  constructor(readonly dir: string) {}

  private file(cluster: string): string {
    return path.join(this.dir, `${encodeURIComponent(cluster)}.json`);
  }

  private async mtime(cluster: string): Promise<number> {
    try {
      return (await fsp.stat(this.file(cluster))).mtimeMs;
    } catch {
      return -1;
    }
  }

  /** The cluster's records (live: read them, change them only through `update`). */
  load(cluster: string): Promise<Record<string, DeploymentStatus>> {
    const inflight = this.loading.get(cluster);
    if (inflight) return inflight;
    const p = (async () => {
      const mtimeMs = await this.mtime(cluster);
      const cached = this.cache.get(cluster);
      if (cached && (cached.mtimeMs === mtimeMs || this.queued.has(cluster))) return cached.records;
      let records: Record<string, DeploymentStatus> = {};
      try {
        records = JSON.parse(await fsp.readFile(this.file(cluster), 'utf8')) as Record<string, DeploymentStatus>;
      } catch {
        records = {};
      }
      this.cache.set(cluster, { records, mtimeMs });
      return records;
    })().finally(() => this.loading.delete(cluster));
    this.loading.set(cluster, p);
    return p;
  }

  async all(): Promise<DeploymentStatus[]> {
    if (!fs.existsSync(this.dir)) return [];
    const out: DeploymentStatus[] = [];
    for (const f of await fsp.readdir(this.dir)) {
      if (!f.endsWith('.json')) continue;
      out.push(...Object.values(await this.load(decodeURIComponent(f.slice(0, -5)))));
    }
    return out.sort((a, b) => a.id.localeCompare(b.id));
  }

  /** Changes one deployment's record; resolves once it is on disk. */
  async update(cluster: string, id: string, fn: (prev: DeploymentStatus | undefined) => DeploymentStatus | undefined): Promise<DeploymentStatus | undefined> {
    const records = await this.load(cluster);
    const rec = fn(records[id]);
    if (rec) records[id] = rec;
    else delete records[id];
    await this.flush(cluster);
    return rec;
  }

  private flush(cluster: string): Promise<void> {
    const queued = this.queued.get(cluster);
    if (queued) return queued;
    const p = (this.writing.get(cluster) ?? Promise.resolve()).then(async () => {
      this.queued.delete(cluster);
      const entry = this.cache.get(cluster)!;
      await fsp.mkdir(this.dir, { recursive: true });
      const tmp = `${this.file(cluster)}.${process.pid}.tmp`;
      await fsp.writeFile(tmp, JSON.stringify(entry.records, null, 1));
      await fsp.rename(tmp, this.file(cluster));
      entry.mtimeMs = await this.mtime(cluster);
    });
    this.queued.set(cluster, p);
    this.writing.set(cluster, p.catch(() => undefined));
    return p;
  }
}

/**
 * A lease from a lock file, for schedulers that offer none of their own: it
 * keeps two rectifiers on one machine (a CLI and a server, say) apart.
 */
export async function fileLease(dir: string, cluster: string, holder: string, ttlMs: number): Promise<Lease | undefined> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const lockfile = require('proper-lockfile') as typeof import('proper-lockfile');
  await fsp.mkdir(dir, { recursive: true });
  const target = path.join(dir, `${encodeURIComponent(cluster)}.lease`);
  if (!fs.existsSync(target)) await fsp.writeFile(target, '');
  let release: () => Promise<void>;
  try {
    release = await lockfile.lock(target, { stale: Math.max(ttlMs, 5000), update: Math.max(1000, Math.floor(ttlMs / 3)), retries: 0, realpath: false });
  } catch (e) {
    if ((e as { code?: string }).code === 'ELOCKED') return undefined;
    throw e;
  }
  await fsp.writeFile(`${target}.holder`, holder).catch(() => undefined);
  let held = true;
  return {
    holder,
    async renew() {
      return held && (await lockfile.check(target, { realpath: false, stale: Math.max(ttlMs, 5000) }).catch(() => false));
    },
    async release() {
      if (!held) return;
      held = false;
      await release().catch(() => undefined);
    },
  };
}
