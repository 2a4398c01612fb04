/** Small helpers shared by the benchmarks: medians, timing, and the side-by-side table. */
'use strict';

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function ms(ns) {
  return Number(ns) / 1e6;
}

/** Times fn (sync or async) once, in milliseconds. */
async function time(fn) {
  const t0 = process.hrtime.bigint();
  await fn();
  return ms(process.hrtime.bigint() - t0);
}

/**
 * Prints rows of { name, samples } against the baseline row, with the median,
 * the ratio to the baseline's median and, when a goal is given, whether the
 * ratio meets it. Returns true when every goal was met.
 */
function report(title, baseline, rows, goal) {
  const base = median(baseline.samples);
  const lines = [[`${title}`, 'runs', 'median ms', 'ratio', goal ? `goal <= ${goal}x` : '']];
  lines.push([baseline.name + ' (baseline)', String(baseline.samples.length), base.toFixed(1), '1.00', '']);
  let ok = true;
  for (const r of rows) {
    const m = median(r.samples);
    const ratio = m / base;
    const meets = r.goal === false || !goal ? '' : ratio <= goal ? 'met' : 'MISSED';
    if (meets === 'MISSED') ok = false;
    lines.push([r.name, String(r.samples.length), m.toFixed(1), ratio.toFixed(2), meets]);
  }
  const widths = lines[0].map((_, i) => Math.max(...lines.map((l) => l[i].length)));
  const out = lines.map((l, j) => l.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ').trimEnd());
  out.splice(1, 0, widths.map((w) => '-'.repeat(w)).join('  '));
  process.stdout.write(out.join('\n') + '\n');
  return ok;
}

function option(args, name, def) {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1] : def;
}

module.exports = { median, time, report, option, ms };
