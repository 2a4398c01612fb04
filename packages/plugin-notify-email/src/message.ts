/** An event as an e-mail: a subject that says what happened, a plain-text body and an HTML one. */
import { OUTCOME_COLOURS, summarize, type TypedEvent } from '@sous/core';

export interface EmailContent {
  subject: string;
  text: string;
  html: string;
}

function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

export function emailContent(event: TypedEvent, subjectPrefix = '[sous]'): EmailContent {
  const s = summarize(event);
  const subject = `${subjectPrefix ? subjectPrefix + ' ' : ''}${s.title}`;
  const rows: [string, string][] = [...s.facts];
  const text = [
    s.title,
    '',
    ...rows.map(([k, v]) => `${k}: ${v}`),
    ...(s.links.length ? ['', ...s.links.map(([k, v]) => `${k}: ${v}`)] : []),
    '',
    `-- `,
    `Sous event ${event.type} ${event.id} at ${event.time}`,
  ].join('\n');
  const html = [
    '<!doctype html><html><body style="font-family:sans-serif">',
    `<h2 style="border-left:6px solid ${OUTCOME_COLOURS[s.outcome]};padding-left:8px">${escapeHtml(s.title)}</h2>`,
    '<table cellpadding="4">',
    ...rows.map(([k, v]) => `<tr><th align="left">${escapeHtml(k)}</th><td>${escapeHtml(v)}</td></tr>`),
    ...s.links.map(([k, v]) => `<tr><th align="left">${escapeHtml(k)}</th><td><a href="${escapeHtml(v)}">${escapeHtml(v)}</a></td></tr>`),
    '</table>',
    `<p style="color:#888;font-size:small">Sous event ${escapeHtml(event.type)} ${escapeHtml(event.id)} at ${escapeHtml(event.time)}</p>`,
    '</body></html>',
  ].join('\n');
  return { subject, text, html };
}
