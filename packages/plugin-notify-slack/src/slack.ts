import { OutboxNotifier, httpPost, markSecret, type Attempt, type EntryChecker, type NotifierEntry, type NotifierOptions, type SendResult } from '@sous/core';
import { slackMessage } from './message';

/** A `type: slack` entry of `notifiers`, checked. */
export interface SlackEntry extends NotifierEntry {
  /** The incoming-webhook URL (https://hooks.slack.com/services/...). It is a credential. */
  url: string;
  channel?: string;
  username?: string;
  iconEmoji?: string;
}

/** Posts events to a Slack incoming webhook, readable at a glance. */
export class SlackNotifier extends OutboxNotifier<SlackEntry> {
  static readonly PLUGIN_NAME = 'sous:notify-slack';
  readonly name = SlackNotifier.PLUGIN_NAME;
  readonly notifierType = 'slack';

  constructor(options: NotifierOptions = {}) {
    super(options);
  }

  protected parseEntry(check: EntryChecker, common: NotifierEntry): SlackEntry | undefined {
    check.keys(['url', 'channel', 'username', 'iconEmoji']);
    const url = check.url('url', { required: true, schemes: ['https', 'http'], hint: 'Use the incoming-webhook URL Slack gave you: https://hooks.slack.com/services/T.../B.../...' });
    const channel = check.string('channel');
    const username = check.string('username');
    const iconEmoji = check.string('iconEmoji');
    if (iconEmoji && !/^:[a-z0-9_+-]+:$/.test(iconEmoji)) check.fail('NOTIFIER_INVALID_FIELD', 'iconEmoji', `iconEmoji must look like :rocket: (got ${JSON.stringify(iconEmoji)})`);
    if (!url) return undefined;
    // Whoever has the URL can post to the channel: keep it out of logs.
    markSecret(url.toString());
    return { ...common, url: url.toString(), channel, username, iconEmoji };
  }

  protected identity(entry: SlackEntry): unknown {
    return entry.url;
  }

  protected describe(entry: SlackEntry): Record<string, unknown> {
    return { url: new URL(entry.url).origin, ...(entry.channel ? { channel: entry.channel } : {}) };
  }

  protected async send(entry: SlackEntry, a: Attempt): Promise<SendResult> {
    const body = JSON.stringify(slackMessage(a.event, entry));
    const r = await httpPost(entry.url, body, { timeoutMs: entry.timeoutMs, signal: a.signal, headers: { 'Content-Type': 'application/json' } });
    return { status: r.status };
  }
}

/** The Slack notifier, for plugins: [slackNotifier()] in sous.config.ts. */
export const slackNotifier = (options?: NotifierOptions) => new SlackNotifier(options);
