/**
 * An event as a Slack message: a coloured attachment (green, red, amber,
 * blue by outcome) holding Block Kit blocks, and a plain `text` that
 * notifications and old clients show instead.
 */
import { OUTCOME_COLOURS, summarize, type TypedEvent } from '@sous/core';

export { OUTCOME_COLOURS };

/** What Slack's incoming webhook takes. */
export interface SlackMessage {
  text: string;
  attachments: { color: string; fallback: string; blocks: SlackBlock[] }[];
  channel?: string;
  username?: string;
  icon_emoji?: string;
}

export type SlackBlock =
  | { type: 'section'; text: { type: 'mrkdwn'; text: string }; fields?: { type: 'mrkdwn'; text: string }[] }
  | { type: 'context'; elements: { type: 'mrkdwn'; text: string }[] };

/** Slack's mrkdwn treats these three as markup. */
export function escapeMrkdwn(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

// Slack refuses a section with more than 10 fields or a field over 2000 characters.
const MAX_FIELDS = 10;
const MAX_FIELD = 1900;

export function slackMessage(event: TypedEvent, opts: { channel?: string; username?: string; iconEmoji?: string } = {}): SlackMessage {
  const s = summarize(event);
  const text = `${s.emoji} ${s.title}`;
  const fields = s.facts.slice(0, MAX_FIELDS).map(([k, v]) => ({ type: 'mrkdwn' as const, text: `*${escapeMrkdwn(k)}*\n${escapeMrkdwn(v).slice(0, MAX_FIELD)}` }));
  const blocks: SlackBlock[] = [{ type: 'section', text: { type: 'mrkdwn', text: `*${escapeMrkdwn(text)}*` }, fields }];
  const context = [
    ...s.links.map(([k, url]) => ({ type: 'mrkdwn' as const, text: `<${url.replace(/[<>|]/g, encodeURIComponent)}|${escapeMrkdwn(k)}>` })),
    { type: 'mrkdwn' as const, text: `${escapeMrkdwn(event.type)} · ${escapeMrkdwn(event.time)}` },
  ];
  blocks.push({ type: 'context', elements: context.slice(0, 10) });
  const user = event.user ? ` (${event.user.name})` : '';
  return {
    text: `${text}${user}`,
    attachments: [{ color: OUTCOME_COLOURS[s.outcome], fallback: `${text}${user}`, blocks }],
    ...(opts.channel ? { channel: opts.channel } : {}),
    ...(opts.username ? { username: opts.username } : {}),
    ...(opts.iconEmoji ? { icon_emoji: opts.iconEmoji } : {}),
  };
}
