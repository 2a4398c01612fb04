import type { KubernetesObject } from '@kubernetes/client-node';
import { RawHttpError, type WatchEvent, type WatchHandle } from './raw';

/** A listed collection: its items and the list's resourceVersion, to watch from. */
export interface Listed<T> {
  items: T[];
  resourceVersion: string;
}

export interface MirrorSource<T> {
  /** A consistent list of the collection (every page). */
  list(): Promise<Listed<T>>;
  /** Opens a watch from `resourceVersion` (with the connection's credentials of the moment). */
  watch(resourceVersion: string, on: { open(): void; event(e: WatchEvent): void; end(err?: unknown): void }): Promise<WatchHandle>;
}

export interface MirrorOptions {
  /** Start watching at this read of the mirror (the first read of a process only lists: a one-shot command never watches). */
  watchFrom: number;
  /** How long a read waits for the watch to be open and to have delivered Sous's own writes, before it lists instead (ms). */
  settleMs: number;
}

type State = 'listing' | 'watching' | 'reopening' | 'stale';

const RECENT = 4;

/**
 * One collection as client-go's informers keep it: listed once, then kept
 * current by a watch from the list's resourceVersion (re-opened from the last
 * resourceVersion seen when the API server ends it, listed again when the
 * watch fails or its resourceVersion expired: 410). A read is served from it
 * only while the watch is open and has delivered every write Sous itself made
 * (the resourceVersion each apply or delete answered, compared for equality
 * only, as resourceVersions are opaque); otherwise it lists. So a process that
 * reads once lists once, and a long-lived one (the server, `rectify --watch`)
 * reads the collection from memory, seeing others' changes as soon as the
 * API server sends them.
 */
export class Mirror<T extends KubernetesObject> {
  private items = new Map<string, T>();
  private resourceVersion = '';
  private state: State = 'stale';
  private handle?: WatchHandle;
  private reads = 0;
  /** The last few resourceVersions the watch delivered, by name. */
  private seen = new Map<string, string[]>();
  /** Writes of Sous's own not yet delivered by the watch: name → the resourceVersion it answered, or null for a delete. */
  private expected = new Map<string, string | null>();
  /** The API server refused to let Sous watch (403, 405): every read lists. */
  private refused = false;
  private wake: (() => void)[] = [];
  private openedAt = 0;
  /** Watches in a row that the API server ended within a second of opening them. */
  private quickEnds = 0;

  constructor(
    private readonly source: MirrorSource<T>,
    private readonly opts: MirrorOptions,
  ) {}

  /** The collection's items: from the watch when it is open and caught up, else from a new list. */
  async read(): Promise<T[]> {
    this.reads++;
    if ((this.state === 'watching' || this.state === 'reopening') && (await this.settled())) return [...this.items.values()];
    await this.relist();
    return [...this.items.values()];
  }

  /** Sous wrote `name` and the API server answered with `resourceVersion` (null: deleted): a read waits until the watch has delivered it. */
  wrote(name: string, resourceVersion: string | null): void {
    if (this.state !== 'watching' && this.state !== 'reopening') return;
    if (resourceVersion === null ? !this.items.has(name) : this.seen.get(name)?.includes(resourceVersion)) return;
    this.expected.set(name, resourceVersion);
  }

  /** Whether reads are served by an open watch (for tests and benchmarks). */
  get watching(): boolean {
    return this.state === 'watching';
  }

  stop(): void {
    this.handle?.stop();
    this.handle = undefined;
    this.state = 'stale';
    this.notify();
  }

  private notify(): void {
    for (const w of this.wake.splice(0)) w();
  }

  /** Waits (at most settleMs) for the watch to be open with nothing of Sous's own outstanding. */
  private async settled(): Promise<boolean> {
    const ok = () => this.state === 'watching' && this.expected.size === 0;
    const deadline = Date.now() + this.opts.settleMs;
    while (!ok()) {
      const left = deadline - Date.now();
      if (left <= 0 || this.state === 'stale') return false;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.wake.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    return true;
  }

  private async relist(): Promise<void> {
    this.stop();
    this.state = 'listing';
    // A list made now sees every write made before it.
    this.expected.clear();
    this.seen.clear();
    let listed: Listed<T>;
    try {
      listed = await this.source.list();
    } catch (e) {
      this.state = 'stale';
      throw e;
    }
    this.items = new Map(listed.items.map((o) => [o.metadata!.name!, o]));
    this.resourceVersion = listed.resourceVersion;
    this.state = 'stale';
    if (!this.refused && this.reads >= this.opts.watchFrom && this.resourceVersion) await this.open();
  }

  private async open(): Promise<void> {
    this.state = 'reopening';
    const from = this.resourceVersion;
    let handle: WatchHandle | undefined;
    try {
      handle = await this.source.watch(from, {
        open: () => {
          if (this.handle !== handle) return;
          this.openedAt = Date.now();
          this.state = 'watching';
          this.notify();
        },
        event: (e) => this.apply(e),
        end: (err) => {
          if (this.handle !== handle) return;
          this.handle = undefined;
          this.quickEnds = Date.now() - this.openedAt < 1000 ? this.quickEnds + 1 : 0;
          if (err === undefined && this.state === 'watching' && this.quickEnds < 3) {
            // The API server ends every watch after a while: carry on from the last resourceVersion seen.
            void this.open().catch(() => this.stop());
            return;
          }
          if (err instanceof RawHttpError && (err.code === 403 || err.code === 405)) this.refused = true;
          this.stop();
        },
      });
    } catch {
      this.stop();
      return;
    }
    // Ended (or stopped) before it was kept.
    if ((this.state as State) === 'stale') handle.stop();
    else this.handle = handle;
  }

  private apply(e: WatchEvent): void {
    const meta = e.object?.metadata;
    if (e.type === 'ERROR') {
      // A Status, e.g. 410 Expired: the resourceVersion is too old to watch from; list again.
      this.stop();
      return;
    }
    if (meta?.resourceVersion) this.resourceVersion = meta.resourceVersion;
    if (e.type === 'BOOKMARK' || !meta?.name) return;
    const name = meta.name;
    if (e.type === 'DELETED') this.items.delete(name);
    else this.items.set(name, e.object as unknown as T);
    const rv = meta.resourceVersion ?? '';
    const recent = this.seen.get(name) ?? [];
    recent.push(rv);
    if (recent.length > RECENT) recent.shift();
    this.seen.set(name, recent);
    const want = this.expected.get(name);
    if (want !== undefined && (want === null ? e.type === 'DELETED' : want === rv)) {
      this.expected.delete(name);
      this.notify();
    }
  }
}
