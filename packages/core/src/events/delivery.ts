/**
 * Delivering events through the outbox, at least once: a delivery is stored
 * before its first attempt, attempted, retried with backoff, and removed
 * only after a success. A process that ends with deliveries pending leaves
 * them in the outbox; the next process with the same notifier sends them.
 */
import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { Logger } from '../hooks/plugin';
import type { TypedEvent } from './catalogue';
import { retryDelay, type RetryPolicy } from './backoff';
import type { DeliveryRecord, NotifierOutbox } from './outbox';

/** A failed attempt. `permanent` means retrying cannot help (the receiver refused the request). */
export class DeliveryError extends Error {
  readonly status?: number;
  readonly permanent: boolean;

  constructor(message: string, opts: { status?: number; permanent?: boolean; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'DeliveryError';
    this.status = opts.status;
    this.permanent = opts.permanent ?? false;
  }
}

/** What a notifier's send gets for one attempt. */
export interface Attempt {
  event: TypedEvent;
  /** Stable across retries and restarts; hand it to receivers for de-duplication. */
  deliveryId: string;
  /** 1 for the first attempt. */
  attempt: number;
  /** Aborted when the process stops waiting; stop sending. */
  signal: AbortSignal;
  logger: Logger;
}

/** What a successful send reports (the receiver's status, for the delivery log). */
export interface SendResult {
  status?: number;
}

export type Send = (a: Attempt) => Promise<SendResult | void>;

/** The delivery id of an event for one notifier: the same whenever and wherever it is computed. */
export function deliveryId(eventId: string, notifierKey: string): string {
  return createHash('sha256').update(`${eventId}\n${notifierKey}`).digest('hex').slice(0, 32);
}

interface Tracked {
  timer?: NodeJS.Timeout;
  dueAt: number;
  running?: Promise<void>;
  abort?: AbortController;
}

/** One configured notifier entry: its outbox, its retry policy and its send. */
export class Channel {
  private readonly tracked = new Map<string, Tracked>();
  private readonly changed = new EventEmitter();
  private closed = false;
  private recovering?: Promise<void>;

  readonly key: string;
  readonly type: string;
  /** How logs name it: type, and name when the entry has one. */
  readonly label: string;
  readonly outbox: NotifierOutbox;
  private readonly policy: RetryPolicy;
  private readonly send: Send;
  private readonly logger: Logger;

  constructor(opts: { key: string; type: string; label: string; outbox: NotifierOutbox; policy: RetryPolicy; send: Send; logger: Logger }) {
    ({ key: this.key, type: this.type, label: this.label, outbox: this.outbox, policy: this.policy, send: this.send, logger: this.logger } = opts);
    this.changed.setMaxListeners(0);
  }

  /** Deliveries this process is still working on (waiting for a retry or being sent). */
  get outstanding(): number {
    return this.tracked.size;
  }

  /** Stores the delivery durably, then starts it; resolves once it is stored. */
  async enqueue(event: TypedEvent): Promise<void> {
    const now = new Date().toISOString();
    const rec: DeliveryRecord = { id: deliveryId(event.id, this.key), notifier: this.key, notifierType: this.type, event, createdAt: now, attempts: 0, nextAttemptAt: now };
    let stored = false;
    try {
      stored = await this.outbox.put(rec);
    } catch (e) {
      // Without the outbox the delivery can still be tried now; it just will not survive a restart.
      this.logger.error(`cannot write the outbox (${(e as Error).message}); sending ${event.type} without it`, { notifier: this.label, dir: this.outbox.dir });
      this.attemptUnstored(rec).catch((err: Error) => this.logger.error(`delivering ${event.type} failed: ${err.message}`, { notifier: this.label }));
      return;
    }
    // Not stored means the same event is already pending: start it here unless this process already is.
    if (stored || !this.tracked.has(rec.id)) this.schedule(rec.id, 0);
  }

  /** Picks up deliveries left pending by earlier processes; flush() waits for this too. */
  recover(): Promise<number> {
    const p = this.recoverPending();
    this.recovering = p.then(
      () => undefined,
      () => undefined,
    );
    return p;
  }

  private async recoverPending(): Promise<number> {
    const pending = await this.outbox.pending();
    const now = Date.now();
    for (const rec of pending) if (!this.tracked.has(rec.id)) this.schedule(rec.id, Math.max(0, Date.parse(rec.nextAttemptAt) - now));
    if (pending.length) this.logger.info(`resuming ${pending.length} pending deliveries`, { notifier: this.label });
    return pending.length;
  }

  private schedule(id: string, delayMs: number): void {
    if (this.closed) return;
    const prev = this.tracked.get(id);
    if (prev?.timer) clearTimeout(prev.timer);
    const t: Tracked = { dueAt: Date.now() + delayMs };
    // Unref'd: waiting for a retry never keeps a process alive; flush() decides how long to wait.
    t.timer = setTimeout(() => {
      t.timer = undefined;
      t.running = this.attempt(id, t)
        // A failing outbox (disk full, permissions) must not become an unhandled rejection that ends the process.
        .catch((e: Error) => this.logger.error(`delivery ${id} failed in the outbox: ${e.message}`, { notifier: this.label, dir: this.outbox.dir }))
        .finally(() => {
          t.running = undefined;
          if (this.tracked.get(id) === t && !t.timer) this.tracked.delete(id);
          this.changed.emit('change');
        });
    }, delayMs);
    t.timer.unref();
    this.tracked.set(id, t);
    this.changed.emit('change');
  }

  private async attempt(id: string, t: Tracked): Promise<void> {
    if (this.closed) return;
    const claim = await this.outbox.claim(id).catch(() => undefined);
    if (!claim) return; // Another process is sending it, or it was delivered.
    try {
      const rec = await this.outbox.read(id);
      if (!rec) return;
      const wait = Date.parse(rec.nextAttemptAt) - Date.now();
      if (wait > 50) {
        // Another process failed it meanwhile and set a later time.
        this.schedule(id, wait);
        return;
      }
      await this.run(rec, t, async (done) => {
        if (done.ok) return this.outbox.remove(id);
        if (done.giveUp) return this.outbox.giveUp(done.rec);
        await this.outbox.update(done.rec);
        this.schedule(id, done.delayMs);
      });
    } finally {
      await claim.release().catch(() => undefined);
    }
  }

  private async attemptUnstored(rec: DeliveryRecord): Promise<void> {
    const t: Tracked = { dueAt: Date.now() };
    this.tracked.set(rec.id, t);
    let current = rec;
    try {
      for (;;) {
        let delay = -1;
        await this.run(current, t, async (done) => {
          if (!done.ok && !done.giveUp) {
            current = done.rec;
            delay = done.delayMs;
          }
        });
        if (delay < 0 || this.closed) return;
        await new Promise((r) => setTimeout(r, delay).unref());
      }
    } finally {
      this.tracked.delete(rec.id);
      this.changed.emit('change');
    }
  }

  /** One attempt: send, log it, and decide what comes next. */
  private async run(
    rec: DeliveryRecord,
    t: Tracked,
    next: (d: { ok: true } | { ok: false; giveUp: boolean; rec: DeliveryRecord; delayMs: number }) => Promise<void>,
  ): Promise<void> {
    const abort = new AbortController();
    t.abort = abort;
    const attempt = rec.attempts + 1;
    const started = Date.now();
    const base = { delivery: rec.id, eventId: rec.event.id, eventType: rec.event.type, attempt };
    try {
      const r = await this.send({ event: rec.event, deliveryId: rec.id, attempt, signal: abort.signal, logger: this.logger });
      await this.outbox.log({ time: new Date(started).toISOString(), ...base, ok: true, status: r?.status, durationMs: Date.now() - started, final: true }).catch(() => undefined);
      this.logger.debug(`delivered ${rec.event.type}`, { notifier: this.label, delivery: rec.id, attempt });
      await next({ ok: true });
    } catch (e) {
      const err = e instanceof DeliveryError ? e : new DeliveryError(e instanceof Error ? e.message : String(e), { cause: e });
      if (abort.signal.aborted && this.closed) {
        // The process stopped waiting: not the receiver's fault, so not counted; the next process sends it.
        await this.outbox.log({ time: new Date(started).toISOString(), ...base, ok: false, durationMs: Date.now() - started, error: 'interrupted: the process stopped waiting', final: false }).catch(() => undefined);
        return;
      }
      const giveUp = err.permanent || attempt >= this.policy.attempts;
      const delayMs = retryDelay(this.policy, attempt);
      const updated: DeliveryRecord = { ...rec, attempts: attempt, lastError: err.message, nextAttemptAt: new Date(Date.now() + delayMs).toISOString() };
      await this.outbox
        .log({ time: new Date(started).toISOString(), ...base, ok: false, status: err.status, durationMs: Date.now() - started, error: err.message, final: giveUp })
        .catch(() => undefined);
      const fields = { notifier: this.label, delivery: rec.id, event: rec.event.type, eventId: rec.event.id, attempt, status: err.status, error: err.message };
      if (giveUp) {
        this.logger.error(`gave up delivering ${rec.event.type} after ${attempt} attempt${attempt === 1 ? '' : 's'}: ${err.message}`, { ...fields, permanent: err.permanent });
      } else {
        this.logger.warn(`delivering ${rec.event.type} failed (attempt ${attempt} of ${this.policy.attempts}), retrying in ${Math.round(delayMs / 100) / 10}s: ${err.message}`, fields);
      }
      await next({ ok: false, giveUp, rec: updated, delayMs });
    } finally {
      t.abort = undefined;
    }
  }

  /**
   * Waits until every delivery this process started is done, or until
   * `deadline` (epoch ms): a retry due after the deadline is not waited for.
   */
  async flush(deadline: number): Promise<void> {
    if (this.recovering) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([this.recovering, new Promise<void>((r) => (timer = setTimeout(r, Math.max(0, deadline - Date.now()))))]);
      clearTimeout(timer);
    }
    for (;;) {
      const busy = [...this.tracked.values()].some((t) => t.running || t.dueAt <= deadline);
      const left = deadline - Date.now();
      if (!busy || left <= 0) return;
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          this.changed.off('change', done);
          resolve();
        };
        const timer = setTimeout(done, left);
        this.changed.on('change', done);
      });
    }
  }

  /** Stops: no new attempts, sends in flight aborted. What is pending stays in the outbox. */
  async close(): Promise<void> {
    this.closed = true;
    const running: Promise<void>[] = [];
    for (const t of this.tracked.values()) {
      if (t.timer) clearTimeout(t.timer);
      t.timer = undefined;
      t.abort?.abort();
      if (t.running) running.push(t.running);
    }
    await Promise.allSettled(running);
    this.tracked.clear();
    this.changed.emit('change');
  }
}
