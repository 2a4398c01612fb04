import { closest, usageError, type ResolvedConfig, type SousError } from '@sous/core';

/** The contracts Sous runs on every image of a kind; any of them can be disabled by name. */
export const STANDARD_CONTRACTS = ['image-labels', 'non-root-user', 'port-answers-http', 'readiness', 'stays-up', 'stops-on-sigterm'] as const;
export type StandardContract = (typeof STANDARD_CONTRACTS)[number];

/** An HTTP request made to the running service, with what its answer must be. */
export interface HttpContract {
  /** Shown as `http:<name>`; defaults to `<METHOD> <path>`. */
  name?: string;
  /** Default GET. */
  method?: string;
  /** The request path, starting with `/`. */
  path: string;
  headers?: Record<string, string>;
  /** A request body (sent as given). */
  body?: string;
  /** The status (or any of the statuses) expected; default any 2xx. */
  status?: number | number[];
  /** A regular expression the response body must match. */
  bodyMatches?: string;
  /** Seconds to wait for the answer; default 5. */
  timeout?: number;
}

/** A program run inside the running container (as an argv array, no shell needed). */
export interface CommandContract {
  /** Shown as `command:<name>`; defaults to the command line. */
  name?: string;
  /** The program and its arguments, e.g. `['/app/healthcheck', '--deep']`. */
  command: string[];
  /** Default 0. */
  exitCode?: number;
  /** A regular expression the output (stdout and stderr) must match. */
  outputMatches?: string;
  /** Seconds; default 10. */
  timeout?: number;
}

/**
 * `contracts` in sous.config.ts (or the options of `contracts()`): timings,
 * standard contracts to leave out, and the application's own contracts.
 */
export interface ContractsOptions {
  /** Seconds the service may take to answer when the manifest's Startup.Timeout says nothing; default 30. */
  startupTimeout?: number;
  /** Seconds the process may take to stop after SIGTERM; default 10. */
  gracePeriod?: number;
  /** Seconds a worker must stay up after starting; default 2. */
  settlePeriod?: number;
  /** Milliseconds between readiness polls at most (the first come sooner); default 50. */
  pollIntervalMs?: number;
  /** How many of the container's last log lines a failed result carries; default 30. */
  logLines?: number;
  /** Standard contracts not to run (reported as skipped). */
  disable?: StandardContract[];
  /** Extra environment for the container (the manifest's Env comes first, PORT0/PORT/TASK_HOST last). */
  env?: Record<string, string>;
  http?: HttpContract[];
  commands?: CommandContract[];
}

/** Options with every default filled in. */
export interface ResolvedContractsOptions {
  startupTimeoutMs: number;
  gracePeriodMs: number;
  settlePeriodMs: number;
  pollIntervalMs: number;
  logLines: number;
  disable: ReadonlySet<StandardContract>;
  env: Record<string, string>;
  http: HttpContract[];
  commands: CommandContract[];
}

export const DEFAULTS = Object.freeze({ startupTimeout: 30, gracePeriod: 10, settlePeriod: 2, pollIntervalMs: 50, logLines: 30, httpTimeout: 5, commandTimeout: 10 });

const OPTION_KEYS = ['startupTimeout', 'gracePeriod', 'settlePeriod', 'pollIntervalMs', 'logLines', 'disable', 'env', 'http', 'commands'] as const;
const HTTP_KEYS = ['name', 'method', 'path', 'headers', 'body', 'status', 'bodyMatches', 'timeout'] as const;
const COMMAND_KEYS = ['name', 'command', 'exitCode', 'outputMatches', 'timeout'] as const;

/** Both sources merged: the config section wins over the plugin's options, lists add up. */
export function resolveOptions(pluginOpts: ContractsOptions, section: Readonly<Record<string, unknown>> | undefined): ResolvedContractsOptions {
  const cfg = (section ?? {}) as ContractsOptions;
  const pick = <K extends keyof ContractsOptions>(k: K): ContractsOptions[K] => (cfg[k] !== undefined ? cfg[k] : pluginOpts[k]);
  const secs = (v: number | undefined, d: number) => Math.round((v ?? d) * 1000);
  return {
    startupTimeoutMs: secs(pick('startupTimeout'), DEFAULTS.startupTimeout),
    gracePeriodMs: secs(pick('gracePeriod'), DEFAULTS.gracePeriod),
    settlePeriodMs: secs(pick('settlePeriod'), DEFAULTS.settlePeriod),
    pollIntervalMs: pick('pollIntervalMs') ?? DEFAULTS.pollIntervalMs,
    logLines: pick('logLines') ?? DEFAULTS.logLines,
    disable: new Set([...(pluginOpts.disable ?? []), ...(cfg.disable ?? [])]),
    env: { ...(pluginOpts.env ?? {}), ...(cfg.env ?? {}) },
    http: [...(pluginOpts.http ?? []), ...(cfg.http ?? [])],
    commands: [...(pluginOpts.commands ?? []), ...(cfg.commands ?? [])],
  };
}

/** The name a custom contract is reported under. */
export function httpContractName(c: HttpContract): string {
  return `http:${c.name ?? `${(c.method ?? 'GET').toUpperCase()} ${c.path}`}`;
}

export function commandContractName(c: CommandContract): string {
  return `command:${c.name ?? c.command.join(' ')}`;
}

/** Where a `contracts` section came from, for messages. */
export function contractsFile(config: Pick<ResolvedConfig, 'origins' | 'files'>): string | undefined {
  const origin = config.origins?.contracts;
  if (origin === 'user') return config.files?.user;
  if (origin === 'repo') return config.files?.repo;
  return undefined;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Checks a `contracts` section (or the plugin's options): every key known,
 * every value of the right type, patterns that compile, names unique.
 * `where` prefixes messages (the file, or "contracts() options").
 */
export function checkContractsOptions(value: unknown, where: { file?: string; label: string }): SousError[] {
  const errors: SousError[] = [];
  const fail = (code: string, field: string, message: string, hints: string[] = []) =>
    errors.push(usageError(code, `${where.file ? where.file + ': ' : ''}${where.label}: ${field ? field + ': ' : ''}${message}`, { file: where.file, field: `contracts${field ? '.' + field : ''}`, hints }));
  const unknownKeys = (obj: Record<string, unknown>, known: readonly string[], prefix: string) => {
    for (const k of Object.keys(obj)) {
      if (known.includes(k)) continue;
      const near = closest(k, known);
      fail('CONTRACTS_UNKNOWN_KEY', prefix ? `${prefix}.${k}` : k, `unknown key ${JSON.stringify(k)}`, [near ? `did you mean ${JSON.stringify(near)}?` : `known keys: ${known.join(', ')}`]);
    }
  };
  const positive = (v: unknown, field: string, unit: string) => {
    if (v !== undefined && (typeof v !== 'number' || !Number.isFinite(v) || v < 0)) fail('CONTRACTS_INVALID', field, `must be a non-negative number of ${unit} (got ${JSON.stringify(v)})`);
  };
  const pattern = (v: unknown, field: string) => {
    if (v === undefined) return;
    if (typeof v !== 'string') return fail('CONTRACTS_INVALID', field, `must be a regular expression in a string (got ${JSON.stringify(v)})`);
    try {
      new RegExp(v);
    } catch (e) {
      fail('CONTRACTS_INVALID', field, `is not a valid regular expression: ${(e as Error).message}`);
    }
  };
  const stringMap = (v: unknown, field: string) => {
    if (v === undefined) return;
    if (!isObject(v) || Object.values(v).some((x) => typeof x !== 'string')) fail('CONTRACTS_INVALID', field, 'must be an object of strings');
  };

  if (value === undefined) return errors;
  if (!isObject(value)) {
    fail('CONTRACTS_INVALID', '', `must be an object (got ${JSON.stringify(value)})`);
    return errors;
  }
  unknownKeys(value, OPTION_KEYS, '');
  positive(value.startupTimeout, 'startupTimeout', 'seconds');
  positive(value.gracePeriod, 'gracePeriod', 'seconds');
  positive(value.settlePeriod, 'settlePeriod', 'seconds');
  positive(value.pollIntervalMs, 'pollIntervalMs', 'milliseconds');
  if (value.logLines !== undefined && (!Number.isInteger(value.logLines) || (value.logLines as number) < 0)) fail('CONTRACTS_INVALID', 'logLines', `must be a whole number (got ${JSON.stringify(value.logLines)})`);
  stringMap(value.env, 'env');
  if (value.disable !== undefined) {
    if (!Array.isArray(value.disable)) fail('CONTRACTS_INVALID', 'disable', 'must be a list of standard contract names');
    else
      value.disable.forEach((n, i) => {
        if (typeof n === 'string' && (STANDARD_CONTRACTS as readonly string[]).includes(n)) return;
        const near = typeof n === 'string' ? closest(n, STANDARD_CONTRACTS) : undefined;
        fail('CONTRACTS_UNKNOWN_CONTRACT', `disable.${i}`, `${JSON.stringify(n)} is not a standard contract`, [near ? `did you mean ${JSON.stringify(near)}?` : `standard contracts: ${STANDARD_CONTRACTS.join(', ')}`]);
      });
  }
  const names = new Set<string>();
  const unique = (name: string, field: string) => {
    if (names.has(name)) fail('CONTRACTS_DUPLICATE_NAME', field, `two contracts are named ${JSON.stringify(name)}`, ['Give each custom contract its own name']);
    names.add(name);
  };
  const list = (key: 'http' | 'commands', check: (c: Record<string, unknown>, at: string) => void) => {
    const v = value[key];
    if (v === undefined) return;
    if (!Array.isArray(v)) return fail('CONTRACTS_INVALID', key, 'must be a list');
    v.forEach((c, i) => (isObject(c) ? check(c, `${key}.${i}`) : fail('CONTRACTS_INVALID', `${key}.${i}`, 'must be an object')));
  };
  list('http', (c, at) => {
    unknownKeys(c, HTTP_KEYS, at);
    if (typeof c.path !== 'string' || !c.path.startsWith('/')) fail('CONTRACTS_INVALID', `${at}.path`, `is required and starts with "/" (got ${JSON.stringify(c.path)})`);
    if (c.name !== undefined && (typeof c.name !== 'string' || !c.name)) fail('CONTRACTS_INVALID', `${at}.name`, 'must be a non-empty string');
    if (c.method !== undefined && (typeof c.method !== 'string' || !/^[A-Za-z]+$/.test(c.method))) fail('CONTRACTS_INVALID', `${at}.method`, `must be an HTTP method such as GET (got ${JSON.stringify(c.method)})`);
    if (c.body !== undefined && typeof c.body !== 'string') fail('CONTRACTS_INVALID', `${at}.body`, 'must be a string');
    const statuses = Array.isArray(c.status) ? c.status : c.status === undefined ? [] : [c.status];
    if ((Array.isArray(c.status) && c.status.length === 0) || statuses.some((s) => !Number.isInteger(s) || (s as number) < 100 || (s as number) > 599)) {
      fail('CONTRACTS_INVALID', `${at}.status`, `must be an HTTP status (100-599) or a list of them (got ${JSON.stringify(c.status)})`);
    }
    stringMap(c.headers, `${at}.headers`);
    pattern(c.bodyMatches, `${at}.bodyMatches`);
    positive(c.timeout, `${at}.timeout`, 'seconds');
    if (typeof c.path === 'string') unique(httpContractName(c as unknown as HttpContract), at);
  });
  list('commands', (c, at) => {
    unknownKeys(c, COMMAND_KEYS, at);
    if (!Array.isArray(c.command) || c.command.length === 0 || c.command.some((a) => typeof a !== 'string') || !c.command[0]) {
      fail('CONTRACTS_INVALID', `${at}.command`, `must be a non-empty list of strings: the program and its arguments (got ${JSON.stringify(c.command)})`, [
        'Commands run without a shell: write ["/app/check", "--deep"], or ["sh", "-c", "..."] when the image has one',
      ]);
    }
    if (c.name !== undefined && (typeof c.name !== 'string' || !c.name)) fail('CONTRACTS_INVALID', `${at}.name`, 'must be a non-empty string');
    if (c.exitCode !== undefined && (!Number.isInteger(c.exitCode) || (c.exitCode as number) < 0 || (c.exitCode as number) > 255)) fail('CONTRACTS_INVALID', `${at}.exitCode`, `must be a whole number 0-255 (got ${JSON.stringify(c.exitCode)})`);
    pattern(c.outputMatches, `${at}.outputMatches`);
    positive(c.timeout, `${at}.timeout`, 'seconds');
    if (Array.isArray(c.command) && c.command.length) unique(commandContractName(c as unknown as CommandContract), at);
  });
  return errors;
}
