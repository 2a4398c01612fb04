import type { ContractResult } from '@sous/core';
import { renderContractResults } from './render';

const results: ContractResult[] = [
  { name: 'image-labels', status: 'passed', expected: '11 required labels', actual: 'all present', durationMs: 0 },
  { name: 'readiness', status: 'failed', expected: '/health answers 2xx within 30s', actual: '500 (last of 3 tries)', message: 'NOT_READY: never answered 2xx', durationMs: 30012, logs: ['starting', 'db down'] },
  { name: 'non-root-user', status: 'warning', expected: 'a non-root USER', actual: 'no USER (root)', message: 'RUNS_AS_ROOT: runs as root', durationMs: 1 },
  { name: 'stays-up', status: 'skipped', message: 'disabled in the contracts config', durationMs: 0 },
];

describe('renderContractResults', () => {
  it('prints plain text: the table, then each failure and warning with the container logs', () => {
    expect(renderContractResults(results)).toBe(
      [
        'CONTRACT       STATUS   TIME   EXPECTED                        ACTUAL',
        'image-labels   passed   0ms    11 required labels              all present',
        'readiness      failed   30.0s  /health answers 2xx within 30s  500 (last of 3 tries)',
        'non-root-user  warning  1ms    a non-root USER                 no USER (root)',
        'stays-up       skipped  -                                      disabled in the contracts config',
        '',
        'FAILED readiness: NOT_READY: never answered 2xx',
        '  expected: /health answers 2xx within 30s',
        '  actual:   500 (last of 3 tries)',
        '  last 2 log line(s) of the container:',
        '    | starting',
        '    | db down',
        '',
        'WARNING non-root-user: RUNS_AS_ROOT: runs as root',
        '  expected: a non-root USER',
        '  actual:   no USER (root)',
        '',
      ].join('\n'),
    );
  });

  it('marks statuses with symbols and colours on a terminal, fitting long cells', () => {
    const out = renderContractResults([{ ...results[1], actual: 'x'.repeat(200) }], { tty: true, columns: 80 });
    expect(out).toContain('\x1b[31m');
    expect(out).toContain('✖ failed');
    expect(out.split('\n')[1].replace(/\x1b\[\d+m/g, '').length).toBeLessThanOrEqual(80);
  });

  it('says so when nothing ran', () => {
    expect(renderContractResults([])).toBe('No contracts ran.\n');
  });
});
