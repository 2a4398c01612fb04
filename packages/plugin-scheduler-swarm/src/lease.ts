import { isSousError, type Lease } from '@sous/core';
import { holderFromLabels, holderIsDead, holderLabels, LABELS, newHolder, shortHash, slug, type Engine, type HolderIdentity } from '@sous/plugin-scheduler-docker';

const PREFIX = LABELS.lease;
const EXPIRES = `${PREFIX}.expires`;

interface SwarmConfig {
  ID: string;
  Version: { Index: number };
  Spec: { Name: string; Labels?: Record<string, string>; Data?: string };
}

/**
 * A cluster lease kept in a swarm config object. Creating a config name is
 * atomic across the managers (raft), and updating its labels takes the
 * object's version, so renewing, taking over an expired lease and releasing
 * are all compare-and-swap: two rectifiers can never both hold it. Expiry is
 * measured on the engine's clock.
 */
export class ConfigLease implements Lease {
  private lost = false;

  private constructor(
    private readonly engine: Engine,
    /** The swarm config that is the lease. */
    readonly name: string,
    private readonly who: HolderIdentity,
    private readonly ttlMs: number,
    private version: number,
    private readonly id: string,
  ) {}

  get holder(): string {
    return this.who.holder;
  }

  static nameFor(cluster: string): string {
    return `sous-lease-${slug(cluster, 40)}-${shortHash(cluster, 6)}`;
  }

  private static labels(cluster: string, who: HolderIdentity, expires: number): Record<string, string> {
    return { [PREFIX]: cluster, [EXPIRES]: String(expires), ...holderLabels(PREFIX, who) };
  }

  static async take(engine: Engine, cluster: string, holder: string, ttlMs: number): Promise<Lease | undefined> {
    const name = ConfigLease.nameFor(cluster);
    const who = newHolder(holder);
    const expires = (await engine.now()) + ttlMs;
    const spec = { Name: name, Labels: ConfigLease.labels(cluster, who, expires), Data: Buffer.from(`Sous lease of cluster ${cluster}\n`).toString('base64') };
    try {
      const r = await engine.call<{ ID: string }>('POST', '/configs/create', { body: spec, doing: `taking the lease of cluster ${cluster}` });
      const c = await engine.find<SwarmConfig>(`/configs/${r.ID}`, 'reading the lease');
      return new ConfigLease(engine, name, who, ttlMs, c?.Version.Index ?? 0, r.ID);
    } catch (e) {
      if (!isSousError(e) || e.details?.status !== 409) throw e;
    }
    const c = await engine.find<SwarmConfig>(`/configs/${name}`, 'reading the lease');
    if (!c) return undefined;
    const labels = c.Spec.Labels ?? {};
    const free = Number(labels[EXPIRES] ?? 0) <= (await engine.now()) || holderIsDead(holderFromLabels(PREFIX, labels));
    if (!free) return undefined;
    try {
      await engine.call('POST', `/configs/${c.ID}/update`, { query: { version: c.Version.Index }, body: { ...c.Spec, Labels: ConfigLease.labels(cluster, who, (await engine.now()) + ttlMs) }, doing: `taking over the lease of cluster ${cluster}` });
    } catch (e) {
      // Someone else changed it first (a stale version): theirs.
      if (isSousError(e) && e.details?.retryable !== true) return undefined;
      if (isSousError(e) && /out of sequence/i.test(e.message)) return undefined;
      throw e;
    }
    const after = await engine.find<SwarmConfig>(`/configs/${c.ID}`, 'reading the lease');
    if (!after || after.Spec.Labels?.[`${PREFIX}.token`] !== who.token) return undefined;
    return new ConfigLease(engine, name, who, ttlMs, after.Version.Index, c.ID);
  }

  /** Sets the expiry if the lease is still this holder's; false when it is not. */
  private async write(expires: number): Promise<boolean> {
    const c = await this.engine.find<SwarmConfig>(`/configs/${this.id}`, 'reading the lease');
    if (!c || c.Spec.Labels?.[`${PREFIX}.token`] !== this.who.token || c.Version.Index !== this.version) return false;
    try {
      await this.engine.call('POST', `/configs/${this.id}/update`, { query: { version: c.Version.Index }, body: { ...c.Spec, Labels: { ...(c.Spec.Labels ?? {}), [EXPIRES]: String(expires) } }, doing: 'renewing the lease' });
    } catch (e) {
      if (isSousError(e) && /out of sequence/i.test(e.message)) return false;
      throw e;
    }
    const after = await this.engine.find<SwarmConfig>(`/configs/${this.id}`, 'reading the lease');
    if (!after || after.Spec.Labels?.[`${PREFIX}.token`] !== this.who.token) return false;
    this.version = after.Version.Index;
    return true;
  }

  async renew(): Promise<boolean> {
    if (this.lost) return false;
    try {
      if (!(await this.write((await this.engine.now()) + this.ttlMs))) this.lost = true;
    } catch {
      // A manager that cannot be reached cannot hand the lease to anyone else either.
      return true;
    }
    return !this.lost;
  }

  async release(): Promise<void> {
    if (this.lost) return;
    this.lost = true;
    // Expiring it (compare-and-swap) rather than deleting: a delete could remove a lease someone else took meanwhile.
    await this.write(0).catch(() => false);
  }
}
