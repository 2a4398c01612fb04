/**
 * Core's own notifiers: `console` (events as lines on the terminal, for
 * local use) and the check that every configured notifier type has a plugin.
 */
import type { ConfigReport, Sous } from '../hooks/sous';
import { STAGE, type SousPlugin } from '../hooks/plugin';
import type { ResolvedConfig } from '../config/types';
import { usageError } from '../errors';
import { closest } from '../util/text';
import { asTypedEvent } from './emit';
import { EntryChecker, notifiersFile } from './entry-check';
import { summarize } from './format';
import { claimNotifierType, handledNotifierTypes } from './registry';
import { routeMatches, type NotifierRoute } from './routing';
import type { TypedEvent } from './catalogue';

interface ConsoleEntry {
  route: NotifierRoute;
  stream: 'stderr' | 'stdout';
  /** Print the facts under the title. */
  detail: boolean;
}

/** Writes events as readable lines; `type: console` in `notifiers`. Nothing durable: it is for a person watching. */
export class ConsoleNotifier implements SousPlugin {
  static readonly PLUGIN_NAME = 'sous:notify-console';
  readonly name = ConsoleNotifier.PLUGIN_NAME;
  readonly notifierType = 'console';

  constructor(private readonly opts: { write?: (stream: 'stderr' | 'stdout', text: string) => void } = {}) {}

  apply(sous: Sous): void {
    if (!claimNotifierType(sous, this.notifierType, this.name)) return;
    const file = notifiersFile(sous.config);
    const entries: ConsoleEntry[] = [];
    const report: Pick<ConfigReport, 'errors' | 'warnings'> = { errors: [], warnings: [] };
    (sous.config.notifiers ?? []).forEach((raw, index) => {
      if (raw?.type !== this.notifierType) return;
      const check = new EntryChecker(raw as Record<string, unknown>, { file, index, type: this.notifierType });
      check.keys(['stream', 'detail']);
      const route = check.route();
      const stream = check.string('stream') ?? 'stderr';
      if (stream !== 'stderr' && stream !== 'stdout') check.fail('NOTIFIER_INVALID_FIELD', 'stream', `stream must be stderr or stdout (got ${JSON.stringify(stream)})`);
      const detail = check.boolean('detail') ?? false;
      report.errors.push(...check.errors);
      if (!check.errors.length) entries.push({ route, stream: stream as ConsoleEntry['stream'], detail });
    });
    sous.hooks.validate.tap(this.name, (_c, r) => void r.errors.push(...report.errors));
    if (!entries.length) return;
    const write = this.opts.write ?? ((s, text) => void (s === 'stdout' ? process.stdout : process.stderr).write(text));
    sous.hooks.event.tap(this.name, (raw) => {
      const event = asTypedEvent(raw, { user: sous.config.user, logger: sous.logger });
      if (!event) return;
      for (const e of entries) if (routeMatches(e.route, event)) write(e.stream, consoleText(event, e.detail));
    });
  }
}

/** The lines the console notifier prints for an event. */
export function consoleText(event: TypedEvent, detail = false): string {
  const s = summarize(event);
  const user = event.user ? `  (${event.user.name})` : '';
  const lines = [`${s.emoji} ${s.title}${user}`];
  if (detail) for (const [k, v] of [...s.facts, ...s.links]) lines.push(`    ${k}: ${v}`);
  return lines.join('\n') + '\n';
}

/**
 * Reports `notifiers` entries that no applied plugin handles (a typo in
 * `type`, or a notifier package that is not installed). Taps `validate` at
 * ENFORCE, after every plugin has claimed its types.
 */
export class NotifierTypesCheck implements SousPlugin {
  static readonly PLUGIN_NAME = 'sous:notify-types';
  readonly name = NotifierTypesCheck.PLUGIN_NAME;

  apply(sous: Sous): void {
    sous.hooks.validate.tap({ name: this.name, stage: STAGE.ENFORCE }, (config: ResolvedConfig, report: ConfigReport) => {
      const file = notifiersFile(config);
      const handled = [...handledNotifierTypes(sous).keys()];
      (config.notifiers ?? []).forEach((raw, index) => {
        const type = raw?.type;
        const where = `${file ? file + ': ' : ''}notifiers[${index}]`;
        if (typeof type !== 'string' || !type) {
          report.errors.push(
            usageError('NOTIFIER_MISSING_FIELD', `${where}: type is required`, { file, field: `notifiers.${index}.type`, hints: [`One of: ${handled.join(', ') || 'console'}`] }),
          );
          return;
        }
        if (handled.includes(type)) return;
        const near = closest(type, handled);
        report.errors.push(
          usageError('NOTIFIER_UNKNOWN_TYPE', `${where}: no plugin handles notifier type ${JSON.stringify(type)}`, {
            file,
            field: `notifiers.${index}.type`,
            hints: [
              near ? `did you mean ${JSON.stringify(near)}?` : `Types handled here: ${handled.join(', ')}`,
              `For a notifier of your own, add its plugin to plugins (the package @sous/plugin-notify-${type}, if that is its name)`,
            ],
          }),
        );
      });
    });
  }
}

/** Core's notification plugins: the console notifier and the check on notifier types. */
export function coreNotifyPlugins(): SousPlugin[] {
  return [new ConsoleNotifier(), new NotifierTypesCheck()];
}
