import * as crypto from 'node:crypto';
import { Rectifier, RectifyLoop, type ActionOutcome, type Logger, type RectifyResult } from '@sous/core';
import type { ServerMetrics } from './metrics';

export interface QueueItem {
  id: string;
  deploymentID: string;
  version?: string;
  force?: boolean;
  state: 'queued' | 'running' | 'done';
  requestedBy?: string;
  requestedAt: string;
  resolution?: { status: 'Pending' | 'Active' | 'Failed'; resolution: string; message?: string; code?: string };
}

const KEEP_DONE = 1000;

/**
 * The server's rectifier: one pass at a time over the server's own clusters,
 * right after each accepted write and on a resync interval. Deploy requests
 * wait in a queue per deployment and are resolved by the pass that handles them.
 */
export class Autoresolver {
  readonly items = new Map<string, QueueItem>();
  lastPass?: RectifyResult & { reason: string };
  current?: { startedAt: string; reason: string; items: string[] };
  /** Called after every pass (the status page shows its outcomes). */
  onPass?: (pass: RectifyResult & { reason: string }) => void;
  private readonly loop: RectifyLoop;
  private running = false;

  constructor(
    readonly rectifier: Rectifier,
    readonly clusters: readonly string[] | undefined,
    private readonly metrics: ServerMetrics,
    private readonly logger: Logger,
    resyncMs: number,
    private readonly exclusive: <T>(fn: () => Promise<T>) => Promise<T>,
  ) {
    this.loop = new RectifyLoop((reason) => this.pass(reason), resyncMs);
  }

  start(): void {
    this.running = true;
    this.loop.start();
  }

  trigger(reason: string): void {
    if (this.running) this.loop.trigger(reason);
  }

  /** Queues a rectification of one deployment; the next pass resolves it. */
  enqueue(deploymentID: string, opts: { version?: string; force?: boolean; requestedBy?: string }): QueueItem {
    const item: QueueItem = { id: crypto.randomUUID(), deploymentID, version: opts.version, force: opts.force, state: 'queued', requestedBy: opts.requestedBy, requestedAt: new Date().toISOString() };
    this.items.set(item.id, item);
    this.metrics.queueDepth.set(this.pending().length);
    this.trim();
    this.trigger(`deploy ${deploymentID}`);
    return item;
  }

  pending(): QueueItem[] {
    return [...this.items.values()].filter((i) => i.state !== 'done');
  }

  /** Items ahead of this one for the same deployment. */
  position(item: QueueItem): number {
    if (item.state !== 'queued') return 0;
    return [...this.items.values()].filter((i) => i.deploymentID === item.deploymentID && i.state !== 'done' && i.requestedAt < item.requestedAt).length;
  }

  private trim(): void {
    const done = [...this.items.values()].filter((i) => i.state === 'done');
    for (const d of done.slice(0, Math.max(0, done.length - KEEP_DONE))) this.items.delete(d.id);
  }

  private async pass(reason: string): Promise<void> {
    const batch = [...this.items.values()].filter((i) => i.state === 'queued');
    for (const i of batch) i.state = 'running';
    this.current = { startedAt: new Date().toISOString(), reason, items: batch.map((i) => i.id) };
    const force = new Set(batch.filter((i) => i.force).map((i) => i.deploymentID));
    const end = this.metrics.passDuration.startTimer();
    try {
      const r = await this.exclusive(() => this.rectifier.run({ clusters: this.clusters, filters: {}, force: force.size ? force : undefined }));
      this.lastPass = { ...r, reason };
      this.metrics.passes.inc({ result: r.outcomes.some((o) => o.status === 'Failed') ? 'failures' : 'ok' });
      this.metrics.held.set(r.plan.held.length);
      for (const o of r.outcomes) {
        this.metrics.actions.inc({ kind: o.action.kind, status: o.status, cluster: o.action.cluster });
        this.metrics.actionDuration.observe({ kind: o.action.kind }, o.durationMs / 1000);
        if (o.action.kind === 'create' || o.action.kind === 'update' || o.action.kind === 'scale') {
          this.metrics.deployDuration.observe({ outcome: o.status === 'Active' ? 'live' : o.status === 'Failed' ? 'failed' : 'timeout', cluster: o.action.cluster }, o.durationMs / 1000);
        }
      }
      const now = Date.now() / 1000;
      for (const c of this.rectifier.observed.keys()) {
        if (this.clusters && !this.clusters.includes(c)) continue;
        const clean = !r.plan.errors.some((e) => e.cluster === c) && !r.outcomes.some((o) => o.action.cluster === c && o.status !== 'Active');
        if (clean) this.metrics.lastRectified.set({ cluster: c }, now);
      }
      for (const item of batch) this.resolve(item, r);
      this.onPass?.(this.lastPass);
    } catch (e) {
      this.metrics.passes.inc({ result: 'error' });
      this.logger.error(`rectify pass (${reason}) failed: ${(e as Error).message}`);
      for (const item of batch) {
        item.state = 'done';
        item.resolution = { status: 'Failed', resolution: 'not updated', message: (e as Error).message, code: (e as { code?: string }).code };
      }
    } finally {
      end();
      this.current = undefined;
      this.metrics.queueDepth.set(this.pending().length);
    }
  }

  private resolve(item: QueueItem, r: RectifyResult): void {
    item.state = 'done';
    const o: ActionOutcome | undefined = r.outcomes.find((x) => x.action.deploymentID === item.deploymentID);
    const held = r.plan.held.find((h) => h.action.deploymentID === item.deploymentID);
    const cluster = item.deploymentID.slice(0, item.deploymentID.indexOf(':'));
    const manifest = item.deploymentID.slice(item.deploymentID.indexOf(':') + 1);
    const unreadable = r.plan.errors.find((e) => e.manifest === manifest);
    const err = r.plan.errors.find((e) => e.cluster === cluster);
    if (o) item.resolution = { status: o.status, resolution: o.resolution, message: o.message, code: o.status === 'Failed' ? /\[([A-Z_]+)\]$/.exec(o.message ?? '')?.[1] ?? 'DEPLOY_FAILED' : undefined };
    else if (held) item.resolution = { status: 'Failed', resolution: 'held', message: `held back after ${held.failures} failures: ${held.lastError}`, code: 'DEPLOY_HELD' };
    else if (unreadable) item.resolution = { status: 'Failed', resolution: 'not updated', message: unreadable.message, code: unreadable.code };
    else if (err) item.resolution = { status: 'Pending', resolution: 'coming', message: err.message, code: err.code };
    else item.resolution = { status: 'Active', resolution: 'unchanged' };
  }

  /** Finishes the pass in flight (its actions complete), then stops. */
  async stop(): Promise<void> {
    this.running = false;
    await this.loop.stop();
  }

  async idle(): Promise<void> {
    await this.loop.idle();
  }
}
