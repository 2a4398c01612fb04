import type { ContractResult } from '@sous/core';

export interface RenderOptions {
  /** Symbols and colours for a terminal; plain words otherwise. */
  tty?: boolean;
  /** Width to fit EXPECTED and ACTUAL into on a terminal. */
  columns?: number;
  /** Show the container's last log lines under each failure (default true). */
  logs?: boolean;
}

const MARK: Record<string, [string, string]> = {
  passed: ['✔', '\x1b[32m'],
  failed: ['✖', '\x1b[31m'],
  warning: ['⚠', '\x1b[33m'],
  skipped: ['-', '\x1b[2m'],
};

function fit(s: string, n: number): string {
  return s.length > n ? s.slice(0, Math.max(1, n - 1)) + '…' : s;
}

function duration(ms: number): string {
  return ms < 1000 ? `${ms}ms` : `${(ms / 1000).toFixed(1)}s`;
}

/**
 * Contract results as a table (CONTRACT, STATUS, TIME, EXPECTED, ACTUAL),
 * then, for each failure and warning, its message and the container's last
 * log lines.
 */
export function renderContractResults(results: readonly ContractResult[], opts: RenderOptions = {}): string {
  if (results.length === 0) return 'No contracts ran.\n';
  const tty = opts.tty ?? false;
  const rows = results.map((r) => [r.name, tty ? `${MARK[r.status]?.[0] ?? '?'} ${r.status}` : r.status, r.status === 'skipped' ? '-' : duration(r.durationMs), r.expected ?? '', r.status === 'skipped' ? (r.message ?? '') : (r.actual ?? r.message ?? '')]);
  const headers = ['CONTRACT', 'STATUS', 'TIME', 'EXPECTED', 'ACTUAL'];
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  if (tty) {
    const fixed = widths[0] + widths[1] + widths[2] + 8;
    const room = Math.max(30, (opts.columns ?? 120) - fixed);
    widths[3] = Math.min(widths[3], Math.floor(room / 2));
    widths[4] = Math.min(widths[4], room - widths[3] - 2);
  }
  const line = (cells: string[], status?: string) => {
    const text = cells.map((c, i) => (tty ? fit(c, widths[i]) : c).padEnd(i === cells.length - 1 ? 0 : widths[i])).join('  ').trimEnd();
    if (!tty || !status) return text;
    const [, color] = MARK[status] ?? ['', ''];
    return `${color}${text}\x1b[0m`;
  };
  const out = [line(headers), ...rows.map((r, i) => line(r, results[i].status))];
  for (const r of results) {
    if (r.status !== 'failed' && r.status !== 'warning') continue;
    out.push('', `${r.status === 'failed' ? 'FAILED' : 'WARNING'} ${r.name}: ${r.message ?? ''}`);
    if (r.expected) out.push(`  expected: ${r.expected}`);
    if (r.actual) out.push(`  actual:   ${r.actual}`);
    if (opts.logs !== false && r.logs?.length) {
      out.push(`  last ${r.logs.length} log line(s) of the container:`);
      for (const l of r.logs) out.push(`    | ${l}`);
    }
  }
  return out.join('\n') + '\n';
}
