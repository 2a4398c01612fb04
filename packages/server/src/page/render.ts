import type { HistoryEntry, RectifyPlan } from '@sous/core';
import type { BuildJob } from '../builds';
import type { ClusterView, Overview, PageRow } from './model';

export const esc = (s: unknown): string => String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** Who looks at the page: a signed-in principal (with the session's CSRF token), a bearer client, or nobody (--public-status). */
export interface Viewer {
  name?: string;
  scope?: string;
  /** The session's CSRF token, for the sign-out form and writes from the page. */
  csrf?: string;
  /** Signed in with a cookie (so there is a session to end). */
  session?: boolean;
}

export type PageName = 'overview' | 'builds' | 'plan' | 'deployment';

const NAV: [PageName, string, string][] = [
  ['overview', '/', 'Deployments'],
  ['builds', '/ui/builds', 'Builds'],
  ['plan', '/ui/plan', 'Plan'],
];

export function deploymentLink(id: string): string {
  return `/ui/deployment?id=${encodeURIComponent(id)}`;
}

const short = (d?: string) => (d ? d.replace(/^sha256:/, '').slice(0, 12) : '');
const when = (t?: string) => (t ? t.replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '');

/** The frame of every page: header with navigation and who is signed in, then the body. */
export function layout(opts: { title: string; page: PageName; viewer: Viewer; version: string; events?: string; body: string }): string {
  const v = opts.viewer;
  const who = v.name
    ? `<span class="who"><span>Signed in as <b>${esc(v.name)}</b> (${esc(v.scope)})</span>${
        v.session ? `<form method="post" action="/logout"><input type="hidden" name="_csrf" value="${esc(v.csrf)}"><button type="submit" id="sign-out">Sign out</button></form>` : ''
      }</span>`
    : `<span class="who"><span>Public view, read only</span><a href="/login">Sign in</a></span>`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
${v.csrf ? `<meta name="csrf-token" content="${esc(v.csrf)}">` : ''}
<title>${esc(opts.title)}</title>
<link rel="stylesheet" href="/ui/page.css">
</head>
<body${opts.events ? ` data-events="${esc(opts.events)}"` : ''}>
<header><strong>Sous</strong>${NAV.map(([p, href, label]) => `<a href="${href}"${p === opts.page ? ' class="here"' : ''}>${label}</a>`).join('')}${who}</header>
<main>
${opts.body}
</main>
<script src="/ui/page.js"></script>
</body></html>`;
}

export function loginPage(opts: { next: string; reason?: string; version: string }): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sous: sign in</title><link rel="stylesheet" href="/ui/page.css"></head>
<body><main>
<form class="login" method="post" action="/login">
<h1>Sign in to Sous</h1>
${opts.reason ? `<p class="error" role="alert" id="reason">${esc(opts.reason)}</p>` : ''}
<p class="note">Paste a token made with <code>sous server token create</code>. It is sent once; the browser keeps only a session cookie.</p>
<label for="token">Token</label>
<input type="password" id="token" name="token" autocomplete="off" required autofocus>
<input type="hidden" name="next" value="${esc(opts.next)}">
<button type="submit">Sign in</button>
</form>
<p class="note" style="text-align:center">sous ${esc(opts.version)}</p>
</main></body></html>`;
}

/** A simple page with one message (not found, forbidden). */
export function messagePage(opts: { title: string; message: string; viewer: Viewer; version: string }): string {
  return layout({ title: `Sous: ${opts.title}`, page: 'deployment', viewer: opts.viewer, version: opts.version, body: `<h1>${esc(opts.title)}</h1><p class="error">${esc(opts.message)}</p><p><a href="/">All deployments</a></p>` });
}

function intendedCell(r: PageRow): string {
  return r.intended ? `${esc(r.intended.version || '-')} &times;${r.intended.instances}` : r.unreadable ? '(manifest unreadable)' : '(not intended)';
}

function runningCell(r: PageRow): string {
  return r.running ? `${esc(r.running.version || '-')} &times;${r.running.instances}` : '-';
}

function statusCell(r: PageRow): string {
  const s = r.running?.status ?? (r.intended ? (r.intended.version ? 'not running' : 'no version deployed yet') : '');
  return `${esc(s)}${r.running?.message && r.running.status !== 'Active' ? `<br><small>${esc(r.running.message)}</small>` : ''}`;
}

function lastCell(r: PageRow): string {
  return r.last ? `${esc(r.last.resolution)} <small>${esc(when(r.last.at))}</small>${r.last.message ? `<br><small>${esc(r.last.message)}</small>` : ''}` : '-';
}

function pausedBadge(r: PageRow): string {
  return r.paused ? ` <span class="badge paused" title="${esc(`${r.paused.Reason}${r.paused.By ? `, by ${r.paused.By}` : ''}${r.paused.At ? `, ${r.paused.At}` : ''}`)}">AutoDeploy paused</span>` : '';
}

function endpointsCell(r: PageRow): string {
  return r.endpoints.length ? r.endpoints.map((e) => (/^https?:\/\//.test(e) ? `<a href="${esc(e)}" rel="noreferrer">${esc(e)}</a>` : esc(e))).join('<br>') : '-';
}

export function rowHtml(r: PageRow): string {
  return `<tr class="${r.state}" data-deployment="${esc(r.deploymentID)}">
<td class="app"><a href="${deploymentLink(r.deploymentID)}">${esc(r.manifestID)}</a>${pausedBadge(r)}</td>
<td class="intended">${intendedCell(r)}</td>
<td class="actual">${runningCell(r)}</td>
<td class="status">${statusCell(r)}</td>
<td class="last">${lastCell(r)}</td>
<td class="endpoints">${endpointsCell(r)}</td>
</tr>`;
}

export function clusterId(name: string): string {
  return `cluster-${name.replace(/[^A-Za-z0-9_-]/g, '_')}`;
}

export function clusterSection(c: ClusterView): string {
  const seen = c.readAt ? `observed ${esc(when(c.readAt))}` : 'not observed yet';
  return `<section class="cluster" id="${clusterId(c.name)}" data-cluster="${esc(c.name)}">
<h2>${esc(c.name)} <small>${esc(c.kind)} &middot; ${seen}</small></h2>${c.error ? `<p class="error" role="alert">cannot read ${esc(c.name)}: ${esc(c.error.message)} [${esc(c.error.code)}]</p>` : ''}
<table><thead><tr><th>Application</th><th>Intended</th><th>Running</th><th>Status</th><th>Last outcome</th><th>Endpoints</th></tr></thead><tbody>
${c.rows.map(rowHtml).join('\n') || '<tr><td colspan="6">No deployments.</td></tr>'}
</tbody></table></section>`;
}

export function overviewMeta(o: Overview, version: string): string {
  const pass = o.pass ? ` &middot; last rectify ${esc(when(o.pass.startedAt))} (${esc(o.pass.reason)}, ${o.pass.actions} action(s)${o.pass.failed ? `, ${o.pass.failed} failed` : ''})` : o.rectifying ? ' &middot; rectifying' : ' &middot; this server observes, it does not rectify';
  return `<p id="meta" class="note">GDM revision <code>${esc(o.revision.slice(0, 12))}</code>${pass} &middot; sous ${esc(version)}</p>`;
}

/** The overview's parts, by element id (what server-sent events replace). */
/** Manifests that do not read: said at the top, since their deployments are left alone until they do. */
export function flawsFragment(o: Overview): string {
  return `<section id="flaws">${o.unreadable.map((f) => `<p class="error" role="alert">manifest ${esc(f.manifest)} (${esc(f.file)}) cannot be read, so its deployments are left as they are: ${esc(f.message)}</p>`).join('\n')}</section>`;
}

export function overviewFragments(o: Overview, version: string): Record<string, string> {
  const out: Record<string, string> = { meta: overviewMeta(o, version), flaws: flawsFragment(o) };
  for (const c of o.clusters) out[clusterId(c.name)] = clusterSection(c);
  return out;
}

export function overviewBody(o: Overview, version: string): string {
  const f = overviewFragments(o, version);
  return `<h1>Deployments</h1>\n${f.meta}\n${f.flaws}\n<div id="clusters">\n${o.clusters.map((c) => f[clusterId(c.name)]).join('\n')}\n</div>`;
}

function sideText(s?: { version: string; digest?: string; instances: number }): string {
  if (!s) return '-';
  return `${esc(s.version || '-')}${s.digest ? ` <small>@${esc(short(s.digest))}</small>` : ''} &times;${s.instances}`;
}

export function historyFragment(entries: HistoryEntry[]): string {
  return `<section id="history"><h2>History</h2>
<table><thead><tr><th>When</th><th>Change</th><th>From</th><th>To</th><th>Who</th><th>Outcome</th></tr></thead><tbody>
${
  entries
    .map(
      (e) => `<tr class="change ${esc(e.kind)}" data-revision="${esc(e.revision)}">
<td>${esc(when(e.at))}</td><td class="kind">${esc(e.kind)}<br><small>${esc(e.message)}</small></td><td>${sideText(e.from)}</td><td class="to">${sideText(e.to)}</td><td>${esc(e.who.name)}</td>
<td class="outcome">${e.outcome ? `${esc(e.outcome.status)} <small>${esc(e.outcome.resolution)}</small>${e.outcome.message ? `<br><small>${esc(e.outcome.message)}</small>` : ''}` : '-'}</td></tr>`,
    )
    .join('\n') || '<tr><td colspan="6">No changes recorded.</td></tr>'
}
</tbody></table></section>`;
}

export function buildsTable(id: string, jobs: BuildJob[], title: string, link = true): string {
  return `<section id="${id}"><h2>${esc(title)}</h2>
<table><thead><tr><th>Build</th><th>Source</th><th>Version</th><th>State</th><th>Phase</th><th>Started</th><th>Finished</th></tr></thead><tbody>
${
  jobs
    .map(
      (j) => `<tr class="build ${esc(j.state)}" data-build="${esc(j.id)}">
<td>${link ? `<a href="/ui/builds?id=${encodeURIComponent(j.id)}">${esc(j.id)}</a>` : esc(j.id)}</td><td>${esc(j.source)}</td><td>${esc(j.version)}</td><td class="state">${esc(j.state)}${j.error ? `<br><small>${esc(j.error.code)}</small>` : ''}</td>
<td>${j.phase ? `${esc(j.phase.name)} <small>${esc(j.phase.status)}</small>` : '-'}</td><td>${esc(when(j.startedAt))}</td><td>${esc(when(j.finishedAt))}</td></tr>`,
    )
    .join('\n') || '<tr><td colspan="7">No builds.</td></tr>'
}
</tbody></table></section>`;
}

export function summaryFragment(r: PageRow): string {
  return `<section id="summary"><table class="summary"><tbody>
<tr class="${r.state}" data-deployment="${esc(r.deploymentID)}"><th>Intended</th><td class="intended">${intendedCell(r)}${r.intended?.digest ? ` <small>@${esc(short(r.intended.digest))}</small>` : ''}</td></tr>
<tr><th>Running</th><td class="actual">${runningCell(r)}</td></tr>
<tr class="${r.state}"><th>Status</th><td class="status">${statusCell(r)}</td></tr>
<tr><th>Last outcome</th><td class="last">${lastCell(r)}</td></tr>
<tr><th>Endpoints</th><td class="endpoints">${endpointsCell(r)}</td></tr>
<tr><th>AutoDeploy</th><td class="autodeploy">${r.autoDeploy ? esc(r.autoDeploy) : '-'}${r.paused ? ` &middot; <span class="badge paused">paused</span> ${esc(r.paused.Reason)}${r.paused.By ? ` (${esc(r.paused.By)})` : ''}; <code>sous autodeploy resume</code> or the next deploy lifts it` : ''}</td></tr>
</tbody></table></section>`;
}

export function deploymentFragments(d: { row: PageRow; history: HistoryEntry[]; builds: BuildJob[] }): Record<string, string> {
  return { summary: summaryFragment(d.row), history: historyFragment(d.history), 'source-builds': buildsTable('source-builds', d.builds, 'Builds of this source') };
}

export function deploymentBody(d: { row: PageRow; history: HistoryEntry[]; builds: BuildJob[] }, opts: { logs?: string; logsNote?: string }): string {
  const f = deploymentFragments(d);
  const logs = opts.logs
    ? `<pre class="log" id="logs" data-log="${esc(opts.logs)}" data-empty="yes">(reading the logs…)</pre>`
    : `<p class="note" id="logs-note">${esc(opts.logsNote ?? 'Logs are not available.')}</p>`;
  return `<h1>${esc(d.row.manifestID)} <small>in ${esc(d.row.cluster)}</small></h1>
${f.summary}
<section><h2>Recent logs</h2>${logs}</section>
${f.history}
${f['source-builds']}`;
}

export function buildsFragments(jobs: BuildJob[]): Record<string, string> {
  return { queue: buildsTable('queue', jobs, 'Build queue') };
}

export function buildsBody(jobs: BuildJob[], shown?: BuildJob): string {
  const f = buildsFragments(jobs);
  const log = shown
    ? `<section id="build-log"><h2>Log of ${esc(shown.id)} <small>${esc(shown.source)} ${esc(shown.version)}</small></h2><pre class="log" data-log="/ui/build-log?id=${encodeURIComponent(shown.id)}" data-empty="yes">(reading the log…)</pre></section>`
    : '';
  return `<h1>Builds</h1>\n${f.queue}\n${log}`;
}

export function planFragment(p: { plan: RectifyPlan; unobserved: string[] }): string {
  const rows = p.plan.actions.map((a) => `<tr class="action ${esc(a.kind)}"><td>${esc(a.kind)}</td><td><a href="${deploymentLink(a.deploymentID)}">${esc(a.deploymentID)}</a></td><td>${esc(a.reason)}</td></tr>`);
  return `<section id="plan"><p class="note">From GDM revision <code>${esc(p.plan.revision.slice(0, 12))}</code> and the rectifier's last look at each cluster: ${p.plan.actions.filter((a) => a.kind !== 'report-removed').length} change(s), ${p.plan.unchanged.length} unchanged.</p>
${p.unobserved.length ? `<p class="error">Not observed yet: ${p.unobserved.map(esc).join(', ')}</p>` : ''}${p.plan.errors.map((e) => `<p class="error">${esc(e.message)}</p>`).join('')}
<table><thead><tr><th>Action</th><th>Deployment</th><th>Why</th></tr></thead><tbody>
${rows.join('\n') || '<tr><td colspan="3">Nothing to do.</td></tr>'}
</tbody></table></section>`;
}
