import type { DeployState, PlanError, State } from '@sous/core';
import type { DeploymentStatus } from '@sous/core';

const esc = (s: unknown) =>
  String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

export interface PageRow {
  deploymentID: string;
  cluster: string;
  manifestID: string;
  intended?: { version: string; instances: number };
  actual?: { version: string; instances: number; status: DeployState['status']; message?: string };
  last?: DeploymentStatus;
}

/** Every deployment, intended against actual per cluster, with its last outcome: one self-contained HTML page. */
export function renderStatusPage(opts: { state: State; rows: PageRow[]; clusters: string[]; errors: PlanError[]; version: string; generatedAt: string }): string {
  const byCluster = new Map<string, PageRow[]>();
  for (const r of opts.rows) byCluster.set(r.cluster, [...(byCluster.get(r.cluster) ?? []), r]);
  const stateClass = (r: PageRow) =>
    !r.intended ? 'removed' : !r.intended.version && !r.actual ? 'idle' : !r.actual ? 'missing' : r.actual.status === 'Failed' ? 'failed' : r.actual.version !== r.intended.version || r.actual.instances !== r.intended.instances ? 'pending' : 'ok';
  const unreadable = opts.errors.filter((e) => e.manifest);
  const flaws = unreadable.length ? `<section class="flaws">${unreadable.map((e) => `<p class="error" role="alert">${esc(e.message)}</p>`).join('\n')}</section>\n` : '';
  const sections = flaws + opts.clusters
    .map((c) => {
      const rows = (byCluster.get(c) ?? []).sort((a, b) => a.manifestID.localeCompare(b.manifestID));
      const err = opts.errors.find((e) => e.cluster === c);
      return `<section class="cluster" data-cluster="${esc(c)}">
<h2>${esc(c)}</h2>${err ? `<p class="error" role="alert">${esc(err.message)}</p>` : ''}
<table><thead><tr><th>Application</th><th>Intended</th><th>Running</th><th>Status</th><th>Last outcome</th></tr></thead><tbody>
${
  rows
    .map(
      (r) => `<tr class="${stateClass(r)}" data-deployment="${esc(r.deploymentID)}">
<td>${esc(r.manifestID)}</td>
<td class="intended">${r.intended ? `${esc(r.intended.version || '-')} &times;${r.intended.instances}` : '(not intended)'}</td>
<td class="actual">${r.actual ? `${esc(r.actual.version || '-')} &times;${r.actual.instances}` : '-'}</td>
<td class="status">${esc(r.actual?.status ?? (r.intended ? (r.intended.version ? 'not running' : 'no version deployed yet') : ''))}</td>
<td class="last">${r.last ? `${esc(r.last.resolution)} <small>${esc(r.last.at)}</small>${r.last.message ? `<br><small>${esc(r.last.message)}</small>` : ''}` : '-'}</td>
</tr>`,
    )
    .join('\n') || '<tr><td colspan="5">No deployments.</td></tr>'
}
</tbody></table></section>`;
    })
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="10">
<title>Sous: deployments</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:2rem;color:#222}
table{border-collapse:collapse;width:100%;margin-bottom:2rem}
th,td{text-align:left;padding:.35rem .6rem;border-bottom:1px solid #ddd;vertical-align:top}
tr.ok td.status{color:#176f2c}tr.failed td.status,tr.missing td.status{color:#b00020}
tr.pending td.status{color:#8a5a00}tr.removed,tr.idle{opacity:.6}.error{color:#b00020}
small{color:#666}
</style></head>
<body><h1>Sous deployments</h1>
<p>GDM revision <code>${esc(opts.state.revision.slice(0, 12))}</code> &middot; sous ${esc(opts.version)} &middot; ${esc(opts.generatedAt)}</p>
${sections}
</body></html>`;
}
