/**
 * Runs the real, built `sous` binary (packages/cli/bin/run.js) the way a user
 * would, with its own temp state and config directories: never the user's.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';

export const ROOT = path.resolve(__dirname, '../..');
export const SOUS_BIN = path.join(ROOT, 'packages/cli/bin/run.js');

export interface SousEnv {
  /** The GDM state directory (SOUS_STATE_LOCATION). */
  state: string;
  /** XDG_CONFIG_HOME: the user config is $config/sous/config.yaml. */
  config: string;
  /** A scratch home for everything else (XDG data and cache, HOME). */
  home: string;
  user?: { name: string; email: string };
}

export interface SousResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** stdout parsed as JSON, when it is JSON. */
  json?: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

export interface RunOptions {
  cwd?: string;
  stdin?: string;
  env?: Record<string, string>;
}

/** The environment the binary gets: the test's own dirs, and no SOUS_* or XDG_* from the outside. */
export function sousEnv(e: SousEnv, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^(SOUS_|XDG_)/.test(k) && k !== 'EDITOR' && k !== 'VISUAL') env[k] = v;
  const user = e.user ?? { name: 'Test User', email: 'test@example.com' };
  return {
    ...env,
    HOME: e.home,
    XDG_CONFIG_HOME: e.config,
    XDG_DATA_HOME: path.join(e.home, 'data'),
    XDG_CACHE_HOME: path.join(e.home, 'cache'),
    SOUS_STATE_LOCATION: e.state,
    SOUS_USER_NAME: user.name,
    SOUS_USER_EMAIL: user.email,
    GIT_CONFIG_NOSYSTEM: '1',
    NO_COLOR: '1',
    ...extra,
  };
}

export function makeSousEnv(dir: string): SousEnv {
  const e = { state: path.join(dir, 'state'), config: path.join(dir, 'config'), home: path.join(dir, 'home') };
  fs.mkdirSync(e.config, { recursive: true });
  fs.mkdirSync(e.home, { recursive: true });
  return e;
}

function finish(r: { status: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }): SousResult {
  let json: unknown;
  try {
    json = r.stdout.trim() ? JSON.parse(r.stdout) : undefined;
  } catch {
    json = undefined;
  }
  return { code: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr, json };
}

/** Runs sous synchronously. */
export function sousSync(e: SousEnv, args: string[], opts: RunOptions = {}): SousResult {
  const r = spawnSync(process.execPath, [SOUS_BIN, ...args], {
    cwd: opts.cwd ?? e.home,
    env: sousEnv(e, opts.env),
    input: opts.stdin ?? '',
    encoding: 'utf8',
    timeout: 60_000,
  });
  return finish({ status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr });
}

/** Runs sous as a child process (for running many at once). */
export function sous(e: SousEnv, args: string[], opts: RunOptions = {}): Promise<SousResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [SOUS_BIN, ...args], { cwd: opts.cwd ?? e.home, env: sousEnv(e, opts.env), stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (status, signal) => resolve(finish({ status, signal, stdout, stderr })));
    child.stdin.end(opts.stdin ?? '');
  });
}

/** Fails early with a clear message when the CLI has not been built. */
export function requireBuilt(): void {
  if (!fs.existsSync(path.join(ROOT, 'packages/cli/dist/commands/scale.js')) || !fs.existsSync(path.join(ROOT, 'packages/core/dist/index.js'))) {
    throw new Error('The CLI is not built: run `npm run build` (npm test does it first)');
  }
}
