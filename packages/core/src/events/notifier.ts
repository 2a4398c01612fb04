/**
 * The base of every notifier plugin that sends events somewhere outside:
 * it reads the `notifiers` entries of its type, checks them in `validate`,
 * routes each event to the matching entries, and delivers through the
 * outbox (durable, retried, at least once). A plugin supplies the checks
 * for its own fields and the send.
 */
import { createHash } from 'node:crypto';
import * as path from 'node:path';
import type { ResolvedConfig } from '../config/types';
import type { ConfigReport, Sous } from '../hooks/sous';
import { STAGE, type Logger, type SousPlugin } from '../hooks/plugin';
import { markSecretsIn } from '../log';
import { DEFAULT_RETRY, type RetryPolicy } from './backoff';
import { Channel, type Attempt, type SendResult } from './delivery';
import { asTypedEvent } from './emit';
import { EntryChecker, notifiersFile } from './entry-check';
import { NotifierOutbox, defaultOutboxDir } from './outbox';
import { claimNotifierType, registerChannel } from './registry';
import { routeMatches, type NotifierRoute } from './routing';
import type { TypedEvent } from './catalogue';

/** What every parsed entry has, whatever its type. */
export interface NotifierEntry {
  type: string;
  /** A label for logs ("ops-webhook"); defaults to the type and position. */
  name?: string;
  route: NotifierRoute;
  retry: RetryPolicy;
  /** How long one attempt may take. */
  timeoutMs: number;
  /** The outbox root for this entry (default $XDG_DATA_HOME/sous/outbox). */
  outbox?: string;
}

/** Options every notifier plugin factory takes. */
export interface NotifierOptions {
  /** The outbox root (an entry's own `outbox` wins). */
  outboxDir?: string;
  /** Retry policy for entries that set none. */
  retry?: Partial<RetryPolicy>;
  /** Per-attempt timeout for entries that set none (default 10 s). */
  timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 10_000;

/** Stable JSON: keys sorted, so equal entries hash equally. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

export abstract class OutboxNotifier<E extends NotifierEntry> implements SousPlugin {
  abstract readonly name: string;
  /** The `type` of the entries this plugin handles. */
  abstract readonly notifierType: string;
  private readonly channelList: { entry: E; channel: Channel }[] = [];

  constructor(protected readonly options: NotifierOptions = {}) {}

  /** Checks the type's own fields; returns the entry when it is usable. Report problems through `check`. */
  protected abstract parseEntry(check: EntryChecker, common: NotifierEntry): E | undefined;

  /** Sends one event to one entry. Throw a DeliveryError (permanent when retrying cannot help). */
  protected abstract send(entry: E, attempt: Attempt): Promise<SendResult | void>;

  /**
   * What names the destination: deliveries pending for it are picked up by
   * any process whose entry has the same identity. Secrets may be part of it
   * (only a hash is kept).
   */
  protected abstract identity(entry: E): unknown;

  /** What the outbox's notifier.json says about the entry: no secrets. */
  protected abstract describe(entry: E): Record<string, unknown>;

  /** The channels this plugin delivers through (one per usable entry). */
  get channels(): readonly Channel[] {
    return this.channelList.map((c) => c.channel);
  }

  apply(sous: Sous): void {
    if (!claimNotifierType(sous, this.notifierType, this.name)) {
      sous.logger.warn(`notifier type ${this.notifierType} is already handled by another plugin; ${this.name} stays idle`);
      return;
    }
    const { entries, errors, warnings } = this.parseAll(sous.config);
    sous.hooks.validate.tap({ name: this.name, stage: STAGE.NORMAL }, (_config: ResolvedConfig, report: ConfigReport) => {
      report.errors.push(...errors);
      report.warnings.push(...warnings);
    });
    if (!entries.length) return;
    const ctx = sous.context(this.name);
    for (const entry of entries) {
      const channel = this.channelFor(entry, ctx.logger);
      this.channelList.push({ entry, channel });
      registerChannel(sous, channel);
      channel.recover().catch((e: Error) => ctx.logger.warn(`cannot read the outbox: ${e.message}`, { notifier: channel.label, dir: channel.outbox.dir }));
    }
    sous.hooks.event.tapPromise(this.name, async (raw) => {
      const event = asTypedEvent(raw, { user: sous.config.user, logger: sous.logger });
      if (!event) return;
      await Promise.all(this.channelList.filter((c) => routeMatches(c.entry.route, event)).map((c) => c.channel.enqueue(event)));
    });
  }

  /** The entries of this type in the resolved config, checked. */
  parseAll(config: ResolvedConfig): { entries: E[]; errors: import('../errors').SousError[]; warnings: string[] } {
    const file = notifiersFile(config);
    const entries: E[] = [];
    const errors: import('../errors').SousError[] = [];
    const warnings: string[] = [];
    (config.notifiers ?? []).forEach((raw, index) => {
      if (!raw || raw.type !== this.notifierType) return;
      markSecretsIn(raw);
      const check = new EntryChecker(raw as Record<string, unknown>, { file, index, type: this.notifierType });
      const common: NotifierEntry = {
        type: this.notifierType,
        name: check.string('name'),
        route: check.route(),
        retry: { ...DEFAULT_RETRY, ...this.options.retry, ...check.retry() },
        timeoutMs: check.number('timeoutMs', { min: 1 }) ?? this.options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
        outbox: check.string('outbox'),
      };
      const entry = this.parseEntry(check, common);
      errors.push(...check.errors);
      warnings.push(...check.warnings);
      if (entry && !check.errors.length) entries.push({ ...entry, name: entry.name ?? `${this.notifierType}#${index}` });
    });
    return { entries, errors, warnings };
  }

  private channelFor(entry: E, logger: Logger): Channel {
    const key = createHash('sha256')
      .update(canonical({ type: this.notifierType, identity: this.identity(entry) }))
      .digest('hex')
      .slice(0, 16);
    const root = entry.outbox ? path.resolve(entry.outbox) : (this.options.outboxDir ?? defaultOutboxDir());
    const label = entry.name ?? this.notifierType;
    return new Channel({
      key,
      type: this.notifierType,
      label,
      outbox: new NotifierOutbox(path.join(root, key), { type: this.notifierType, name: label, ...this.describe(entry) }),
      policy: entry.retry,
      send: (a) => this.send(entry, a),
      logger,
    });
  }

  /** The entries' routes, for tests and tools. */
  routes(): { name?: string; route: NotifierRoute }[] {
    return this.channelList.map((c) => ({ name: c.entry.name, route: c.entry.route }));
  }

  /** Whether an event would go to an entry of this plugin. */
  wouldNotify(event: TypedEvent): boolean {
    return this.channelList.some((c) => routeMatches(c.entry.route, event));
  }
}
