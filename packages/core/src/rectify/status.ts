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
 * rename) so readers never see half a file. Writes within a process are
 * serialised per cluster; across processes the cluster lease keeps a single writer.
 */
export class StatusStore {
  private chains = new Map<string, Promise<unknown>>();

  constructor(readonly dir: string) {}

  private file(cluster: string): string {
    return path.join(this.dir, `${encodeURIComponent(cluster)}.json`);
  }

  async load(cluster: string): Promise<Record<string, DeploymentStatus>> {
    try {
      return JSON.parse(await fsp.readFile(this.file(cluster), 'utf8')) as Record<string, DeploymentStatus>;
    } catch {
      return {};
    }
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

  /** Read-modify-write of one deployment's record. */
  update(cluster: string, id: string, fn: (prev: DeploymentStatus | undefined) => DeploymentStatus | undefined): Promise<DeploymentStatus | undefined> {
    const prev = this.chains.get(cluster) ?? Promise.resolve();
    const next = prev.then(async () => {
      const all = await this.load(cluster);
      const rec = fn(all[id]);
      if (rec) all[id] = rec;
      else delete all[id];
      await fsp.mkdir(this.dir, { recursive: true });
      const tmp = `${this.file(cluster)}.${process.pid}.tmp`;
      await fsp.writeFile(tmp, JSON.stringify(all, null, 1));
      await fsp.rename(tmp, this.file(cluster));
      return rec;
    });
    this.chains.set(cluster, next.catch(() => undefined));
    return next;
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
