/**
 * Checks one `notifiers` entry at config time, collecting SousErrors that
 * name the config file and the field (`notifiers.0.url`).
 */
import { usageError, type SousError } from '../errors';
import type { ResolvedConfig } from '../config/types';
import { closest } from '../util/text';
import { EVENT_TYPES } from './catalogue';
import { eventsMatching, suggestEventPattern, type NotifierRoute } from './routing';
import type { RetryPolicy } from './backoff';

/** Keys every entry may have, whatever its type. */
export const COMMON_ENTRY_KEYS = ['type', 'name', 'events', 'manifests', 'owners', 'clusters', 'outbox', 'retry', 'timeoutMs'] as const;

/** Where an entry came from, for messages. */
export interface EntryWhere {
  file?: string;
  index: number;
  type: string;
}

/** The file the `notifiers` setting was read from, when it came from one. */
export function notifiersFile(config: Pick<ResolvedConfig, 'origins' | 'files'>): string | undefined {
  const origin = config.origins?.notifiers;
  if (origin === 'user') return config.files?.user;
  if (origin === 'repo') return config.files?.repo;
  return origin === 'env' ? 'environment (SOUS_*)' : undefined;
}

export class EntryChecker {
  readonly errors: SousError[] = [];
  readonly warnings: string[] = [];

  constructor(
    readonly entry: Record<string, unknown>,
    readonly where: EntryWhere,
  ) {}

  field(name: string): string {
    return `notifiers.${this.where.index}${name ? '.' + name : ''}`;
  }

  private prefix(): string {
    return `${this.where.file ? this.where.file + ': ' : ''}notifiers[${this.where.index}] (${this.where.type})`;
  }

  fail(code: string, name: string, message: string, hints: string[] = []): void {
    this.errors.push(usageError(code, `${this.prefix()}: ${message}`, { file: this.where.file, field: this.field(name), hints }));
  }

  warn(message: string): void {
    this.warnings.push(`${this.prefix()}: ${message}`);
  }

  /** Reports keys outside `known` (the type's own keys plus the common ones). */
  keys(own: readonly string[]): void {
    const known = [...COMMON_ENTRY_KEYS, ...own];
    for (const k of Object.keys(this.entry)) {
      if (known.includes(k)) continue;
      const near = closest(k, known);
      this.fail('NOTIFIER_UNKNOWN_KEY', k, `unknown key ${JSON.stringify(k)}`, [near ? `did you mean ${JSON.stringify(near)}?` : `known keys: ${known.join(', ')}`]);
    }
  }

  string(name: string, opts: { required?: boolean; hint?: string } = {}): string | undefined {
    const v = this.entry[name];
    if (v === undefined || v === null || v === '') {
      if (opts.required) this.fail('NOTIFIER_MISSING_FIELD', name, `${name} is required`, opts.hint ? [opts.hint] : []);
      return undefined;
    }
    if (typeof v !== 'string') {
      this.fail('NOTIFIER_INVALID_FIELD', name, `${name} must be a string (got ${JSON.stringify(v)})`);
      return undefined;
    }
    return v;
  }

  /** A URL with one of `schemes` (without the colon). */
  url(name: string, opts: { required?: boolean; schemes: string[]; hint?: string }): URL | undefined {
    const s = this.string(name, opts);
    if (s === undefined) return undefined;
    let u: URL | undefined;
    try {
      u = new URL(s);
    } catch {
      u = undefined;
    }
    const scheme = u?.protocol.replace(/:$/, '');
    if (!u || !scheme || !opts.schemes.includes(scheme) || !u.hostname) {
      this.fail('NOTIFIER_INVALID_URL', name, `${name} ${JSON.stringify(redactUrl(s))} is not a valid ${opts.schemes.join(' or ')} URL`, [
        opts.hint ?? `Write it as ${opts.schemes[0]}://host[:port]/path`,
      ]);
      return undefined;
    }
    return u;
  }

  stringList(name: string): string[] | undefined {
    const v = this.entry[name];
    if (v === undefined || v === null) return undefined;
    const list = typeof v === 'string' ? [v] : v;
    if (!Array.isArray(list) || list.some((x) => typeof x !== 'string' || x === '')) {
      this.fail('NOTIFIER_INVALID_FIELD', name, `${name} must be a list of non-empty strings (got ${JSON.stringify(v)})`);
      return undefined;
    }
    return list as string[];
  }

  number(name: string, opts: { min?: number; integer?: boolean } = {}, from: Record<string, unknown> = this.entry, label = name): number | undefined {
    const v = from[name];
    if (v === undefined || v === null) return undefined;
    const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
    if (typeof n !== 'number' || !Number.isFinite(n) || (opts.integer && !Number.isInteger(n)) || (opts.min !== undefined && n < opts.min)) {
      this.fail('NOTIFIER_INVALID_FIELD', label, `${label} must be ${opts.integer ? 'an integer' : 'a number'}${opts.min !== undefined ? ` of at least ${opts.min}` : ''} (got ${JSON.stringify(v)})`);
      return undefined;
    }
    return n;
  }

  boolean(name: string): boolean | undefined {
    const v = this.entry[name];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'boolean') {
      this.fail('NOTIFIER_INVALID_FIELD', name, `${name} must be true or false (got ${JSON.stringify(v)})`);
      return undefined;
    }
    return v;
  }

  /** The routing lists; unknown event names get a "did you mean". */
  route(): NotifierRoute {
    const events = this.stringList('events');
    for (const p of events ?? []) {
      if (eventsMatching(p).length) continue;
      const near = suggestEventPattern(p);
      this.fail('NOTIFIER_UNKNOWN_EVENT', 'events', `events: ${JSON.stringify(p)} is not an event type`, [
        near ? `did you mean ${JSON.stringify(near)}?` : `known events: ${EVENT_TYPES.join(', ')} (patterns like deploy.* work too)`,
      ]);
    }
    return { events, manifests: this.stringList('manifests'), owners: this.stringList('owners'), clusters: this.stringList('clusters') };
  }

  retry(): Partial<RetryPolicy> {
    const v = this.entry.retry;
    if (v === undefined || v === null) return {};
    if (typeof v !== 'object' || Array.isArray(v)) {
      this.fail('NOTIFIER_INVALID_FIELD', 'retry', 'retry must be an object: { attempts, minDelayMs, maxDelayMs }');
      return {};
    }
    const r = v as Record<string, unknown>;
    for (const k of Object.keys(r)) {
      if (!['attempts', 'minDelayMs', 'maxDelayMs'].includes(k)) this.fail('NOTIFIER_UNKNOWN_KEY', `retry.${k}`, `unknown key ${JSON.stringify(k)} in retry`, ['known keys: attempts, minDelayMs, maxDelayMs']);
    }
    const out: Partial<RetryPolicy> = {
      attempts: this.number('attempts', { min: 1, integer: true }, r, 'retry.attempts'),
      minDelayMs: this.number('minDelayMs', { min: 0 }, r, 'retry.minDelayMs'),
      maxDelayMs: this.number('maxDelayMs', { min: 0 }, r, 'retry.maxDelayMs'),
    };
    return Object.fromEntries(Object.entries(out).filter(([, x]) => x !== undefined));
  }
}

/** A URL for a message: the password replaced. */
export function redactUrl(s: string): string {
  return s.replace(/^([A-Za-z][A-Za-z0-9+.-]*:\/\/[^/\s:@]*:)[^@/\s]+@/, '$1***@');
}
