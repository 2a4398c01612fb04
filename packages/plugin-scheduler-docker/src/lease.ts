import { isSousError, type Lease } from '@sous/core';
import { removeContainer } from './containers';
import type { Engine } from './engine';
import { holderFromLabels, holderIsDead, holderLabels, newHolder, type HolderIdentity } from './holder';
import { LABELS, shortHash, slug } from './labels';

/** The image lease records are created from (never run): one small file, imported once per engine. */
export const LEASE_IMAGE = 'sous-lease:1';
/** Time is cut into slots of this length; a lease holds every slot its term touches. */
export const SLOT_MS = 10_000;

function tarOf(name: string, content: string): Buffer {
  const body = Buffer.from(content);
  const h = Buffer.alloc(512);
  const put = (s: string, off: number, len: number) => h.write(s.slice(0, len), off, 'ascii');
  put(name, 0, 100);
  put('0000644\0', 100, 8);
  put('0000000\0', 108, 8);
  put('0000000\0', 116, 8);
  put(`${body.length.toString(8).padStart(11, '0')}\0`, 124, 12);
  put(`${Math.floor(Date.UTC(2020, 0, 1) / 1000).toString(8).padStart(11, '0')}\0`, 136, 12);
  put('        ', 148, 8);
  put('0', 156, 1);
  put('ustar\0', 257, 6);
  put('00', 263, 2);
  let sum = 0;
  for (const b of h) sum += b;
  put(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8);
  const pad = Buffer.alloc((512 - (body.length % 512)) % 512);
  return Buffer.concat([h, body, pad, Buffer.alloc(1024)]);
}

async function ensureLeaseImage(engine: Engine): Promise<void> {
  if (await engine.find(`/images/${encodeURIComponent(LEASE_IMAGE)}/json`, 'inspecting the lease image')) return;
  const [repo, tag] = LEASE_IMAGE.split(':');
  await engine.call('POST', '/images/create', { query: { fromSrc: '-', repo, tag, message: 'Sous lease records' }, file: tarOf('sous-lease', 'A Sous lease record: never run.\n'), doing: 'importing the lease image' });
}

const PREFIX = LABELS.lease;

/**
 * A cluster lease made of containers, relying only on the engine creating a
 * container name at most once. Time (the engine's clock, so holders on other
 * machines agree) is cut into slots; a holder creates one record container
 * per slot its term covers, named after the slot, and renewing creates the
 * slots ahead. Whoever wants the lease must create the current slot's record,
 * which the holder already owns: so at most one holder at a time, and a dead
 * holder's lease ends one term (plus a slot) after its last renewal, or at
 * once when it died on this machine.
 */
export class ContainerLease implements Lease {
  private readonly mine = new Map<number, string>();
  private lost = false;

  private constructor(
    private readonly engine: Engine,
    private readonly cluster: string,
    private readonly who: HolderIdentity,
    private readonly ttlMs: number,
    private readonly slotMs: number,
  ) {}

  get holder(): string {
    return this.who.holder;
  }

  /** Takes the lease, or resolves undefined when another holder has it. `slotMs` must be the same for every holder. */
  static async take(engine: Engine, cluster: string, holder: string, ttlMs: number, slotMs = SLOT_MS): Promise<Lease | undefined> {
    await ensureLeaseImage(engine);
    const lease = new ContainerLease(engine, cluster, newHolder(holder), ttlMs, slotMs);
    if (await lease.cover(true)) return lease;
    await lease.release();
    return undefined;
  }

  private name(slot: number): string {
    return `sous-lease-${slug(this.cluster, 40)}-${shortHash(this.cluster, 6)}-${slot}`;
  }

  /** Makes sure this holder owns every slot from now to the end of its term; false when another does. */
  private async cover(taking: boolean): Promise<boolean> {
    const now = await this.engine.now();
    const first = Math.floor(now / this.slotMs);
    const last = Math.floor((now + this.ttlMs) / this.slotMs);
    for (let slot = first; slot <= last; slot++) {
      if (this.mine.has(slot)) continue;
      if (!(await this.claim(slot, taking))) return false;
    }
    for (const [slot, id] of this.mine) {
      if (slot < first) {
        this.mine.delete(slot);
        await removeContainer(this.engine, id).catch(() => undefined);
      }
    }
    return true;
  }

  private async claim(slot: number, mayEvictDead: boolean): Promise<boolean> {
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const r = await this.engine.call<{ Id: string }>('POST', '/containers/create', {
          query: { name: this.name(slot) },
          body: { Image: LEASE_IMAGE, Cmd: ['lease'], Labels: { [PREFIX]: this.cluster, [`${PREFIX}.slot`]: String(slot), ...holderLabels(PREFIX, this.who) }, HostConfig: { NetworkMode: 'none' } },
          doing: `taking the lease of cluster ${this.cluster}`,
        });
        this.mine.set(slot, r.Id);
        return true;
      } catch (e) {
        if (!isSousError(e) || e.details?.status !== 409) throw e;
      }
      const other = await this.engine.find<{ Id: string; Config: { Labels?: Record<string, string> } }>(`/containers/${this.name(slot)}/json`, 'reading a lease record');
      if (!other) continue;
      const h = holderFromLabels(PREFIX, other.Config.Labels);
      if (h.token === this.who.token) {
        this.mine.set(slot, other.Id);
        return true;
      }
      if (!mayEvictDead || !holderIsDead(h)) return false;
      await this.evict(h.token!);
    }
    return false;
  }

  /** Removes every record of a holder known to be dead. */
  private async evict(token: string): Promise<void> {
    const list = await this.engine.call<{ Id: string }[]>('GET', '/containers/json', { query: { all: true, filters: { label: [`${PREFIX}=${this.cluster}`, `${PREFIX}.token=${token}`] } }, doing: 'listing lease records' });
    for (const c of list) await removeContainer(this.engine, c.Id);
  }

  async renew(): Promise<boolean> {
    if (this.lost) return false;
    try {
      if (!(await this.cover(false))) this.lost = true;
    } catch {
      // An engine that cannot be reached cannot give the lease away either; try again next time.
      return true;
    }
    return !this.lost;
  }

  async release(): Promise<void> {
    const ids = [...this.mine.values()];
    this.mine.clear();
    this.lost = true;
    for (const id of ids) await removeContainer(this.engine, id).catch(() => undefined);
    await this.sweep().catch(() => undefined);
  }

  /** Removes records of slots that have passed, whoever made them. */
  private async sweep(): Promise<void> {
    const now = await this.engine.now();
    const list = await this.engine.call<{ Id: string; Labels?: Record<string, string> }[]>('GET', '/containers/json', { query: { all: true, filters: { label: [`${PREFIX}=${this.cluster}`] } }, doing: 'listing lease records' });
    for (const c of list) if (Number(c.Labels?.[`${PREFIX}.slot`]) < Math.floor(now / this.slotMs) - 1) await removeContainer(this.engine, c.Id);
  }
}
