import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Module, { createRequire } from 'node:module';
import { isSousError, usageError } from '../errors';
import { validateOrThrow } from '../schema';
import { closest } from '../util/text';
import { checkImageNameTemplate } from '../registry/naming';
import type { SousConfig } from '../generated/sous-config';
import type { SousPlugin } from '../hooks/plugin';
import { isLegacyConfig, mapLegacyConfig } from './legacy';
import type { ConfigEnv, ConfigSource, ResolvedConfig, UserConfig, UserConfigExport } from './types';

export interface LoadConfigOptions {
  cwd?: string;
  /** An explicit user/operator config file (--config). */
  configFile?: string;
  env?: Record<string, string | undefined>;
  /** Settings given as flags; they win over everything else. */
  flags?: Partial<SousConfig>;
  /** The command, handed to config functions. */
  command?: string;
  /** Look for sous.config.* from cwd up to the repository root (default true). */
  repoConfig?: boolean;
}

/** SOUS_* variables and the settings they set. */
export const ENV_VARS: Record<string, keyof SousConfig | 'user.name' | 'user.email'> = {
  SOUS_SERVER: 'server',
  SOUS_TOKEN: 'token',
  SOUS_STATE_LOCATION: 'stateLocation',
  SOUS_STATE_REMOTE: 'stateRemote',
  SOUS_DOCKER_REGISTRY_HOST: 'registry',
  SOUS_REGISTRY: 'registry',
  SOUS_DOCKER_HOST: 'dockerHost',
  SOUS_USER_NAME: 'user.name',
  SOUS_USER_EMAIL: 'user.email',
  SOUS_LOG_LEVEL: 'logLevel',
  SOUS_SIGNING_KEY: 'signingKey',
  SOUS_STACK: 'stack',
  // The original Sous's name for it.
  SOUS_LOGGING_LEVEL: 'logLevel',
};
/** SOUS_* variables read elsewhere (not config settings), so they are not reported as unknown. */
/** The original Sous's variables that have no counterpart here: not typos, so not "did you mean"-ed, but said once. */
const LEGACY_ENV = new Set(['SOUS_SIBLING_URLS', 'SOUS_BUILD_STATE_DIR', 'SOUS_DATABASE_IS_PRIMARY', 'SOUS_POLL_INTERVAL_FOR_CLIENT', 'SOUS_SLACK_HOOK_URL', 'SOUS_SLACK_CHANNEL', 'SOUS_ADDITIONAL_SLACK_CHANNELS', 'SOUS_EXTRA_CONSOLE', 'SOUS_KAFKA_LOG_LEVEL', 'SOUS_KAFKA_TOPIC', 'SOUS_KAFKA_BROKERS', 'SOUS_GRAPHITE_SERVER', 'SOUS_PG_HOST', 'SOUS_PG_PORT', 'SOUS_PG_USER', 'SOUS_PG_PASSWORD', 'SOUS_PG_DBNAME', 'SOUS_PG_SSL']);
const OTHER_ENV = new Set(['SOUS_SECRET_HASH_KEY', 'SOUS_DEBUG', 'SOUS_SIGNING_PASSPHRASE', 'SOUS_CONFIG', 'SOUS_JSON', 'SOUS_NO_COLOR', 'SOUS_TEST_DOCKER_HOST', 'SOUS_TEST_REGISTRY', 'SOUS_CACHE_DIR', 'SOUS_WEBHOOK_SECRET']);

export const REPO_CONFIG_FILES = ['sous.config.ts', 'sous.config.js', 'sous.config.cjs', 'sous.config.json', 'sous.config.yaml', 'sous.config.yml', 'package.json'];
export const USER_CONFIG_FILES = ['config.yaml', 'config.yml', 'config.json', 'config.ts', 'config.js'];

export function configHome(env: Record<string, string | undefined> = process.env): string {
  return env.XDG_CONFIG_HOME || path.join(os.homedir(), '.config');
}

export function dataHome(env: Record<string, string | undefined> = process.env): string {
  return env.XDG_DATA_HOME || path.join(os.homedir(), '.local', 'share');
}

export function cacheHome(env: Record<string, string | undefined> = process.env): string {
  return env.SOUS_CACHE_DIR || path.join(env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'sous');
}

/** Loads a TypeScript config: transpiled in memory; `@sous/*` imports resolve to this installation. */
function loadTs(filepath: string, content: string): unknown {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const ts = require('typescript') as typeof import('typescript');
  const out = ts.transpileModule(content, {
    fileName: filepath,
    reportDiagnostics: true,
    compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
  });
  const diag = out.diagnostics?.find((d) => d.category === ts.DiagnosticCategory.Error);
  if (diag) {
    const pos = diag.file && diag.start !== undefined ? diag.file.getLineAndCharacterOfPosition(diag.start) : undefined;
    throw usageError('CONFIG_SYNTAX', `${filepath}${pos ? `:${pos.line + 1}:${pos.character + 1}` : ''}: ${ts.flattenDiagnosticMessageText(diag.messageText, ' ')}`, {
      file: filepath,
      hints: ['Fix the TypeScript syntax in the config file'],
    });
  }
  return evaluateCjs(filepath, out.outputText);
}

function evaluateCjs(filepath: string, code: string): unknown {
  const userRequire = createRequire(filepath);
  const m = new Module(filepath);
  m.filename = filepath;
  m.paths = (Module as unknown as { _nodeModulePaths(p: string): string[] })._nodeModulePaths(path.dirname(filepath));
  m.require = ((id: string) => {
    if (id.startsWith('@sous/')) {
      // The config's own node_modules need not have Sous: use this installation's.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      return require(id);
    }
    return userRequire(id);
  }) as NodeJS.Require;
  (m as unknown as { _compile(code: string, file: string): void })._compile(code, filepath);
  const exp = m.exports as { default?: unknown; __esModule?: boolean };
  return exp && exp.__esModule && 'default' in exp ? exp.default : exp;
}

function loadJs(filepath: string, content: string): unknown {
  return evaluateCjs(filepath, content);
}

/** `legacy`: the user/operator config, which may be the original Sous's (mapped, its leftovers warned about in `legacy`). */
async function readConfigFile(file: string, env: ConfigEnv, packageKey = true, legacy?: string[]): Promise<UserConfig | undefined> {
  const { cosmiconfig } = await import('cosmiconfig');
  const explorer = cosmiconfig('sous', {
    loaders: { '.ts': loadTs, '.js': loadJs, '.cjs': loadJs },
    packageProp: 'sous',
    cache: false,
  });
  let result;
  try {
    result = await explorer.load(file);
  } catch (e) {
    if (isSousError(e)) throw e;
    const msg = e instanceof Error ? e.message : String(e);
    throw usageError('CONFIG_LOAD_FAILED', `cannot read config ${file}: ${msg.split('\n')[0]}`, {
      file,
      hints: ['Check the file parses: YAML, JSON, or a module exporting the config (export default defineConfig({...}))'],
      cause: e,
    });
  }
  if (!result || result.isEmpty) return packageKey ? undefined : {};
  return resolveExport(result.config as UserConfigExport, env, file, legacy);
}

async function resolveExport(exp: UserConfigExport, env: ConfigEnv, file: string, legacy?: string[]): Promise<UserConfig> {
  let value: unknown = exp;
  try {
    if (typeof value === 'function') value = await (value as (e: ConfigEnv) => unknown)(env);
    value = await value;
  } catch (e) {
    if (isSousError(e)) throw e;
    throw usageError('CONFIG_LOAD_FAILED', `${file}: the config function threw: ${e instanceof Error ? e.message : String(e)}`, { file, cause: e, hints: ['Fix the config function (or the promise it returns) so that it returns an object'] });
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw usageError('CONFIG_INVALID', `${file}: the config must be an object (got ${Array.isArray(value) ? 'an array' : typeof value})`, {
      file,
      hints: ['export default defineConfig({ ... })'],
    });
  }
  if (legacy && isLegacyConfig(value as Record<string, unknown>)) {
    const mapped = mapLegacyConfig(value as Record<string, unknown>, file);
    for (const w of mapped.warnings) if (firstTime(w, env.env)) legacy.push(w);
    value = mapped.config;
  }
  return checkUserConfig(value as UserConfig, file);
}

/**
 * Whether a warning about the original's config is new: said once, then
 * remembered (a marker per warning text under the cache directory) until
 * the file changes what it says.
 */
function firstTime(warning: string, env: Record<string, string | undefined>): boolean {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const crypto = require('node:crypto') as typeof import('node:crypto');
  const marker = path.join(cacheHome(env), 'warned', crypto.createHash('sha256').update(warning).digest('hex').slice(0, 24));
  if (fs.existsSync(marker)) return false;
  try {
    fs.mkdirSync(path.dirname(marker), { recursive: true });
    fs.writeFileSync(marker, `${warning}\n`);
  } catch {
    // A read-only cache: warn every time rather than never.
  }
  return true;
}

/** Validates one config document against schemas/sous-config.schema.json and checks its plugins. */
export function checkUserConfig(cfg: UserConfig, file: string): UserConfig {
  const { plugins, ...rest } = cfg;
  const checked = validateOrThrow<UserConfig>('sous-config', rest, 'CONFIG_INVALID', { file });
  if (plugins !== undefined) {
    if (!Array.isArray(plugins)) throw usageError('CONFIG_INVALID', `${file}: plugins must be an array of plugins`, { file, field: 'plugins', hints: ['plugins: [nodeStack(), swarmScheduler()]'] });
    plugins.forEach((p, i) => {
      // A function has an `apply` of its own (Function.prototype.apply): an uncalled factory is not a plugin.
      if (!p || typeof p !== 'object' || typeof (p as SousPlugin).apply !== 'function') {
        throw usageError('CONFIG_INVALID_PLUGIN', `${file}: plugins[${i}] is not a plugin (an object with an apply(sous) method)`, {
          file,
          field: `plugins.${i}`,
          hints: ['Call the plugin factory: plugins: [swarmScheduler()] rather than plugins: [swarmScheduler]'],
        });
      }
    });
    checked.plugins = plugins;
  }
  return checked;
}

/** Finds sous.config.* (or a "sous" key in package.json) from `cwd` up to the git root. */
export function findRepoConfig(cwd: string): string | undefined {
  let dir = path.resolve(cwd);
  for (;;) {
    for (const f of REPO_CONFIG_FILES) {
      const p = path.join(dir, f);
      if (!fs.existsSync(p)) continue;
      if (f === 'package.json') {
        try {
          const pkg = JSON.parse(fs.readFileSync(p, 'utf8')) as { sous?: unknown };
          if (pkg.sous === undefined) continue;
        } catch {
          continue;
        }
      }
      return p;
    }
    if (fs.existsSync(path.join(dir, '.git'))) return undefined;
    const up = path.dirname(dir);
    if (up === dir) return undefined;
    dir = up;
  }
}

export function findUserConfig(env: Record<string, string | undefined>): string | undefined {
  const dir = path.join(configHome(env), 'sous');
  for (const f of USER_CONFIG_FILES) {
    const p = path.join(dir, f);
    if (fs.existsSync(p)) return p;
  }
  return undefined;
}

/** user.name and user.email from git's config, both read by one process; the last value of each wins, as with `git config --get`. */
function gitUser(cwd: string): { name?: string; email?: string } {
  const out: { name?: string; email?: string } = {};
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { execFileSync } = require('node:child_process') as typeof import('node:child_process');
    const text = execFileSync('git', ['config', '--get-regexp', '^user\\.(name|email)$'], { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    for (const line of text.split('\n')) {
      const sp = line.indexOf(' ');
      const key = sp < 0 ? line : line.slice(0, sp);
      const value = sp < 0 ? '' : line.slice(sp + 1).trim();
      if (key === 'user.name') out.name = value || undefined;
      else if (key === 'user.email') out.email = value || undefined;
    }
  } catch {
    // No git, or neither is set.
  }
  return out;
}

function envConfig(env: Record<string, string | undefined>, warnings: string[]): UserConfig {
  const out: Record<string, unknown> = {};
  const legacy: string[] = [];
  for (const [k, v] of Object.entries(env)) {
    if (!k.startsWith('SOUS_') || v === undefined) continue;
    const target = ENV_VARS[k];
    if (LEGACY_ENV.has(k)) {
      if (v !== '') legacy.push(k);
      continue;
    }
    if (target === 'logLevel' && k === 'SOUS_LOGGING_LEVEL') {
      const level = v.toLowerCase() === 'extra1' || v.toLowerCase() === 'extradebug1' ? 'debug' : v.toLowerCase();
      if (v !== '') out.logLevel = level;
      continue;
    }
    if (!target) {
      if (!OTHER_ENV.has(k)) {
        const near = closest(k, [...Object.keys(ENV_VARS), ...OTHER_ENV]);
        warnings.push(`unknown environment variable ${k}${near ? ` (did you mean ${near}?)` : ''}`);
      }
      continue;
    }
    if (v === '') continue;
    if (target === 'user.name' || target === 'user.email') {
      const u = (out.user ??= {}) as Record<string, string>;
      u[target.slice(5)] = v;
    } else {
      out[target] = v;
    }
  }
  if (legacy.length) warnings.push(`the original Sous's ${legacy.sort().join(', ')} ${legacy.length > 1 ? 'are' : 'is'} not used here (see docs/migrating-from-go-sous.md)`);
  return validateOrThrow<UserConfig>('sous-config', out, 'CONFIG_INVALID', { file: 'environment (SOUS_*)' });
}

function merge(layers: { source: ConfigSource; config: UserConfig }[]): { merged: UserConfig; origins: Record<string, ConfigSource> } {
  const merged: Record<string, unknown> = {};
  const origins: Record<string, ConfigSource> = {};
  const plugins: SousPlugin[] = [];
  for (const { source, config } of layers) {
    for (const [k, v] of Object.entries(config)) {
      if (v === undefined) continue;
      if (k === 'plugins') {
        plugins.push(...(v as SousPlugin[]));
        origins[k] = source;
        continue;
      }
      const prev = merged[k];
      merged[k] = prev && typeof prev === 'object' && !Array.isArray(prev) && typeof v === 'object' && !Array.isArray(v) ? { ...prev, ...(v as object) } : v;
      origins[k] = source;
    }
  }
  if (plugins.length) merged.plugins = plugins;
  return { merged: merged as UserConfig, origins };
}

/**
 * The `registries` setting, with the deprecated `sign.insecureRegistries`
 * folded in (and a warning), every image name template checked.
 */
function registriesOf(merged: UserConfig, warnings: string[]): NonNullable<SousConfig['registries']> {
  const out: NonNullable<SousConfig['registries']> = {};
  for (const [host, s] of Object.entries(merged.registries ?? {})) {
    if (!s.username !== !s.passwordEnv) {
      const field = `registries.${host}`;
      throw usageError('REGISTRY_CREDENTIAL_INCOMPLETE', `${field} has ${s.username ? 'a username but no passwordEnv' : 'a passwordEnv but no username'}`, {
        field,
        hints: [`Give both: ${field}.username and ${field}.passwordEnv (the environment variable holding the password or token), or neither`],
      });
    }
    out[host] = { ...s };
  }
  const legacy = (merged.sign as { insecureRegistries?: unknown } | undefined)?.insecureRegistries;
  if (Array.isArray(legacy) && legacy.length) {
    warnings.push(`sign.insecureRegistries is deprecated: write registries: { "${legacy[0]}": { insecure: true } } instead`);
    for (const h of legacy) if (typeof h === 'string' && h) out[h] = { ...out[h], insecure: out[h]?.insecure ?? true };
  }
  const templates: [string, string][] = [...(merged.imageName !== undefined ? [[merged.imageName, 'imageName'] as [string, string]] : []), ...Object.entries(out).filter(([, s]) => s.imageName !== undefined).map(([h, s]) => [s.imageName!, `registries.${h}.imageName`] as [string, string])];
  for (const [t, field] of templates) {
    const problem = checkImageNameTemplate(t, field);
    if (problem) throw problem;
  }
  return out;
}

/**
 * Resolves the configuration: defaults, then the repository's sous.config.*,
 * then the user/operator config, then SOUS_* variables, then flags.
 */
export async function loadConfig(opts: LoadConfigOptions = {}): Promise<ResolvedConfig> {
  const cwd = path.resolve(opts.cwd ?? process.cwd());
  const env = opts.env ?? process.env;
  const warnings: string[] = [];
  const cenv: ConfigEnv = { command: opts.command ?? '', env };
  const layers: { source: ConfigSource; config: UserConfig }[] = [];
  const files: { repo?: string; user?: string } = {};

  if (opts.repoConfig !== false) {
    const repoFile = findRepoConfig(cwd);
    if (repoFile) {
      const c = await readConfigFile(repoFile, cenv);
      if (c) {
        layers.push({ source: 'repo', config: c });
        files.repo = repoFile;
      }
    }
  }
  const explicit = opts.configFile ?? env.SOUS_CONFIG;
  if (explicit) {
    const p = path.resolve(cwd, explicit);
    if (!fs.existsSync(p)) {
      throw usageError('CONFIG_NOT_FOUND', `config file ${p} does not exist`, { file: p, hints: ['Check the path given to --config (or SOUS_CONFIG)'] });
    }
    layers.push({ source: 'user', config: (await readConfigFile(p, cenv, false, warnings)) ?? {} });
    files.user = p;
  } else {
    const userFile = findUserConfig(env);
    if (userFile) {
      const c = await readConfigFile(userFile, cenv, false, warnings);
      if (c) layers.push({ source: 'user', config: c });
      files.user = userFile;
    }
  }
  layers.push({ source: 'env', config: envConfig(env, warnings) });
  if (opts.flags) {
    const flags = Object.fromEntries(Object.entries(opts.flags).filter(([, v]) => v !== undefined));
    layers.push({ source: 'flag', config: validateOrThrow<UserConfig>('sous-config', flags, 'CONFIG_INVALID', { file: 'flags' }) });
  }
  const { merged, origins } = merge(layers);

  const fromGit = merged.user?.name === undefined || merged.user?.email === undefined ? gitUser(cwd) : {};
  const user = {
    name: merged.user?.name ?? fromGit.name ?? os.userInfo().username,
    email: merged.user?.email ?? fromGit.email ?? `${os.userInfo().username}@${os.hostname()}`,
  };
  const stateLocation = path.resolve(cwd, merged.stateLocation ?? path.join(dataHome(env), 'sous', 'state'));
  const resolved: ResolvedConfig = {
    stateLocation,
    // Beside the rectifier's outcomes: local to the clone that rectifies, never pushed.
    secretHashKeyFile: path.resolve(cwd, merged.secretHashKeyFile ?? path.join(stateLocation, '.git', 'sous', 'secret-hash.key')),
    stateRemote: merged.stateRemote,
    server: merged.server,
    token: merged.token,
    registry: merged.registry,
    registries: registriesOf(merged, warnings),
    imageName: merged.imageName,
    dockerHost: merged.dockerHost ?? env.DOCKER_HOST,
    user,
    stack: merged.stack,
    stacks: merged.stacks ?? {},
    build: merged.build ?? {},
    contracts: merged.contracts ?? {},
    sign: merged.sign ?? {},
    secrets: (merged.secrets ?? {}) as Record<string, Record<string, unknown>>,
    trustedKeys: merged.trustedKeys ?? [],
    signingKey: merged.signingKey,
    notifiers: merged.notifiers ?? [],
    logLevel: merged.logLevel ?? 'info',
    rectify: { concurrency: 10, retries: 3, holdAfterFailures: 3, resyncSeconds: 60, ...(merged.rectify ?? {}) },
    repositories: merged.repositories ?? {},
    // The same variable signs outgoing webhook deliveries; the config key lets the two secrets differ.
    webhookSecret: merged.webhookSecret ?? (env.SOUS_WEBHOOK_SECRET || undefined),
    tagBuilds: { pollSeconds: 0, concurrency: 1, keepJobs: 500, ...(merged.tagBuilds ?? {}) },
    plugins: merged.plugins ?? [],
    files,
    origins: { stateLocation: 'default', logLevel: 'default', ...(merged.webhookSecret === undefined && env.SOUS_WEBHOOK_SECRET ? { webhookSecret: 'env' as const } : {}), ...origins },
    warnings,
  };
  return Object.freeze(resolved);
}
