import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import type { ActionKind, ActionOutcome } from '../pipeline/types';

/**
 * One action's outcome, as it happened. The status store keeps only the last
 * outcome of each deployment; this log keeps them all (bounded), so the
 * history can say how each change of the GDM ended and a rollback can find
 * the version that last ran successfully.
 */
export interface OutcomeRecord {
  /** The DeploymentID. */
  id: string;
  cluster: string;
  /** The GDM revision the pass planned from: the change this outcome carried out is at or before it. */
  revision: string;
  kind: ActionKind;
  version?: string;
  digest?: string;
  /** The intent hash of what the action worked towards. */
  intent: string;
  status: ActionOutcome['status'];
  resolution: ActionOutcome['resolution'];
  message?: string;
  at: string;
  durationMs: number;
}

/** Past this size a cluster's log is cut to its newer half (about 10,000 outcomes kept). */
const MAX_BYTES = 4 * 1024 * 1024;

/**
 * Outcomes per cluster, one JSON line each, appended under
 * `<statusDir>/outcomes/<cluster>.jsonl`. Appends of one line are atomic on
 * a local file system (O_APPEND); the cluster lease keeps one writer at a time.
 */
export class OutcomeLog {
  private cache = new Map<string, { key: string; records: OutcomeRecord[] }>();

  constructor(readonly dir: string) {}

  private file(cluster: string): string {
    return path.join(this.dir, `${encodeURIComponent(cluster)}.jsonl`);
  }

  async append(rec: OutcomeRecord): Promise<void> {
    const file = this.file(rec.cluster);
    await fsp.mkdir(this.dir, { recursive: true });
    await fsp.appendFile(file, JSON.stringify(rec) + '\n');
    const st = await fsp.stat(file);
    if (st.size > MAX_BYTES) {
      const lines = (await fsp.readFile(file, 'utf8')).split('\n').filter(Boolean);
      const tmp = `${file}.${process.pid}.tmp`;
      await fsp.writeFile(tmp, lines.slice(Math.floor(lines.length / 2)).join('\n') + '\n');
      await fsp.rename(tmp, file);
    }
  }

  /** A cluster's outcomes, oldest first (read again only when the file changed). */
  async read(cluster: string): Promise<OutcomeRecord[]> {
    const file = this.file(cluster);
    let key: string;
    try {
      const st = await fsp.stat(file);
      key = `${st.size}:${st.mtimeMs}`;
    } catch {
      return [];
    }
    const cached = this.cache.get(cluster);
    if (cached?.key === key) return cached.records;
    const records: OutcomeRecord[] = [];
    for (const line of (await fsp.readFile(file, 'utf8')).split('\n')) {
      if (!line.trim()) continue;
      try {
        records.push(JSON.parse(line) as OutcomeRecord);
      } catch {
        // A line cut short by a crash: the rest of the log still counts.
      }
    }
    this.cache.set(cluster, { key, records });
    return records;
  }

  /** Every cluster's outcomes, oldest first within each cluster. */
  async all(): Promise<OutcomeRecord[]> {
    let names: string[];
    try {
      names = await fsp.readdir(this.dir);
    } catch {
      return [];
    }
    const out: OutcomeRecord[] = [];
    for (const f of names.filter((n) => n.endsWith('.jsonl')).sort()) out.push(...(await this.read(decodeURIComponent(f.slice(0, -6)))));
    return out;
  }
}
