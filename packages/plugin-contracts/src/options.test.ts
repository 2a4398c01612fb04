import { Sous, isSousError, type ResolvedConfig, type SousError } from '@sous/core';
import { contracts } from './plugin';
import { checkContractsOptions, resolveOptions } from './options';

const configWith = (section: unknown, origin?: 'repo') =>
  ({ warnings: [], contracts: section, origins: origin ? { contracts: origin } : {}, files: { repo: '/app/sous.config.ts' } }) as unknown as ResolvedConfig;

function validationError(section: unknown, pluginOpts?: object): SousError {
  try {
    new Sous(configWith(section, 'repo')).use(contracts(pluginOpts as never)).validateConfig();
  } catch (e) {
    expect(isSousError(e)).toBe(true);
    return e as SousError;
  }
  throw new Error('expected a validation error');
}

describe('contracts config validation', () => {
  it('names an unknown key with a did-you-mean hint, the file and the field', () => {
    const e = validationError({ gracePeriods: 5 });
    expect(e.code).toBe('CONTRACTS_UNKNOWN_KEY');
    expect(e.exit).toBe(2);
    expect(e.message).toBe('/app/sous.config.ts: contracts: gracePeriods: unknown key "gracePeriods"');
    expect(e.hints).toEqual(['did you mean "gracePeriod"?']);
    expect(e.file).toBe('/app/sous.config.ts');
    expect(e.field).toBe('contracts.gracePeriods');
  });

  it('checks keys inside custom contracts too', () => {
    const e = validationError({ http: [{ path: '/x', bodyMatch: 'ok' }] });
    expect(e.code).toBe('CONTRACTS_UNKNOWN_KEY');
    expect(e.field).toBe('contracts.http.0.bodyMatch');
    expect(e.hints).toEqual(['did you mean "bodyMatches"?']);
  });

  it('checks the plugin options as well as the config section', () => {
    const e = validationError(undefined, { comands: [] });
    expect(e.message).toBe('contracts() options: comands: unknown key "comands"');
    expect(e.hints).toEqual(['did you mean "commands"?']);
  });

  it('reports wrong types, bad patterns, unknown standard contracts and duplicate names', () => {
    const errs = checkContractsOptions(
      {
        startupTimeout: '30',
        disable: ['readyness'],
        http: [{ path: 'health' }, { path: '/a', status: 700 }, { path: '/b', bodyMatches: '(' }, { name: 'x', path: '/c' }, { name: 'x', path: '/d' }],
        commands: [{ command: 'curl localhost' }, { command: ['/bin/true'], exitCode: 300 }],
      },
      { label: 'contracts' },
    );
    expect(errs.map((e) => [e.code, e.field])).toEqual([
      ['CONTRACTS_INVALID', 'contracts.startupTimeout'],
      ['CONTRACTS_UNKNOWN_CONTRACT', 'contracts.disable.0'],
      ['CONTRACTS_INVALID', 'contracts.http.0.path'],
      ['CONTRACTS_INVALID', 'contracts.http.1.status'],
      ['CONTRACTS_INVALID', 'contracts.http.2.bodyMatches'],
      ['CONTRACTS_DUPLICATE_NAME', 'contracts.http.4'],
      ['CONTRACTS_INVALID', 'contracts.commands.0.command'],
      ['CONTRACTS_INVALID', 'contracts.commands.1.exitCode'],
    ]);
    expect(errs[1].hints).toEqual(['did you mean "readiness"?']);
    expect(errs[6].hints[0]).toMatch(/without a shell/);
  });

  it('accepts a full, valid section', () => {
    expect(
      checkContractsOptions(
        {
          startupTimeout: 60,
          gracePeriod: 5,
          settlePeriod: 1,
          pollIntervalMs: 20,
          logLines: 10,
          disable: ['non-root-user'],
          env: { A: 'b' },
          http: [{ name: 'n', method: 'POST', path: '/p', headers: { h: 'v' }, body: '{}', status: [200, 201], bodyMatches: 'ok', timeout: 2 }],
          commands: [{ name: 'c', command: ['/bin/true'], exitCode: 0, outputMatches: '', timeout: 3 }],
        },
        { label: 'contracts' },
      ),
    ).toEqual([]);
  });
});

describe('resolveOptions', () => {
  it('lets the config section win over the plugin options, adds up lists, turns seconds into ms', () => {
    const r = resolveOptions({ gracePeriod: 3, disable: ['readiness'], http: [{ path: '/a' }] }, { gracePeriod: 1.5, disable: ['stays-up'], http: [{ path: '/b' }] });
    expect(r.gracePeriodMs).toBe(1500);
    expect(r.startupTimeoutMs).toBe(30_000);
    expect(r.pollIntervalMs).toBe(50);
    expect([...r.disable]).toEqual(['readiness', 'stays-up']);
    expect(r.http.map((h) => h.path)).toEqual(['/a', '/b']);
  });
});
