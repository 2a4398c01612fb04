import { Command, Flags, Errors, Interfaces } from '@oclif/core';
import type { LoadConfigOptions, PlanError, ResolvedConfig, SousError, StateBackend, User, SourceContext, ManifestID, Logger } from '@sous/core';

export type SousFlags<T extends typeof Command> = Interfaces.InferredFlags<(typeof SousCommand)['baseFlags'] & T['flags']>;

/** The filter flags of the original: --repo --offset --flavor --cluster, and --source repo,offset. */
export const filterFlags = {
  repo: Flags.string({ description: 'the repository, e.g. github.com/acme/shop (default: the origin of the current git repository)', helpGroup: 'FILTER' }),
  offset: Flags.string({ description: 'the directory of the application inside the repository (default: the current one)', helpGroup: 'FILTER' }),
  flavor: Flags.string({ description: 'the flavor, when one source has several manifests', helpGroup: 'FILTER' }),
  source: Flags.string({ description: 'shorthand for --repo and --offset: repo,offset', helpGroup: 'FILTER' }),
};

export const clusterFlag = Flags.string({ char: 'c', description: 'the cluster name', helpGroup: 'FILTER' });

/**
 * Every sous command: --json, --debug, -v, --config; errors printed with their
 * code and hints (stack traces only with --debug); exit 2 for usage errors,
 * 1 for failures.
 */
export abstract class SousCommand extends Command {
  static enableJsonFlag = true;

  static baseFlags = {
    config: Flags.string({ description: 'user/operator config file (default: $XDG_CONFIG_HOME/sous/config.yaml)', helpGroup: 'GLOBAL' }),
    debug: Flags.boolean({ description: 'show debug logs and stack traces', helpGroup: 'GLOBAL' }),
    verbose: Flags.boolean({ char: 'v', description: 'more output', helpGroup: 'GLOBAL' }),
    quiet: Flags.boolean({ description: 'only errors on stderr (the original\'s -q)', helpGroup: 'GLOBAL' }),
    silent: Flags.boolean({ description: 'nothing on stderr but a failure (the original\'s -s)', helpGroup: 'GLOBAL' }),
  };

  /** Whether this command reads the repository's sous.config.* (build-side commands do). */
  protected readsRepoConfig = false;

  private cfg?: ResolvedConfig;
  private backendInstance?: StateBackend;
  private loggerInstance?: Logger;
  private sourceCtx?: SourceContext | null;
  protected globalFlags: { config?: string; debug?: boolean; verbose?: boolean; quiet?: boolean; silent?: boolean } = {};

  protected async parseFlags<T extends typeof Command>(cmd: T): Promise<Interfaces.ParserOutput<SousFlags<T>, Interfaces.InferredArgs<T['args']>>> {
    let parsed: Interfaces.ParserOutput<SousFlags<T>, Interfaces.InferredArgs<T['args']>>;
    try {
      parsed = (await this.parse(cmd as never)) as unknown as Interfaces.ParserOutput<SousFlags<T>, Interfaces.InferredArgs<T['args']>>;
    } catch (err) {
      // Whatever fails while parsing (an arg's own parse function throws a plain Error) is a usage error, not an internal one.
      if (err instanceof Errors.CLIError || (err as { code?: string }).code === 'EEXIT') throw err;
      const { usageError, closest } = await import('@sous/core');
      // oclif parses arguments before it checks flag names: an unknown flag explains a bad argument better.
      const known = Object.keys({ ...SousCommand.baseFlags, ...((cmd as unknown as typeof SousCommand).flags ?? {}), json: true });
      const unknown = this.argv.map((a) => /^--([A-Za-z0-9][A-Za-z0-9-]*)/.exec(a)?.[1]).find((n) => n !== undefined && !known.includes(n));
      if (unknown) {
        const near = closest(unknown, known);
        throw usageError('UNKNOWN_FLAG', `Nonexistent flag: --${unknown}`, { hints: [...(near ? [`did you mean --${near}?`] : []), `See: sous ${(this.id ?? '').replace(/:/g, ' ')} --help`] });
      }
      throw usageError(parseErrorCode(err as Error), cleanOclifMessage((err as Error).message), { hints: [`See: sous ${(this.id ?? '').replace(/:/g, ' ')} --help`], cause: err });
    }
    const f = parsed.flags as { config?: string; debug?: boolean; verbose?: boolean; quiet?: boolean; silent?: boolean };
    this.globalFlags = { config: f.config, debug: f.debug, verbose: f.verbose, quiet: f.quiet, silent: f.silent };
    return parsed;
  }

  /** Settings a command's own flags give (they win over every other layer), set before config_() is first called. */
  protected configFlags: LoadConfigOptions['flags'] = {};

  protected async config_(): Promise<ResolvedConfig> {
    if (this.cfg) return this.cfg;
    const { loadConfig } = await import('@sous/core');
    this.cfg = await loadConfig({ configFile: this.globalFlags.config, command: this.id ?? '', repoConfig: this.readsRepoConfig, flags: this.configFlags });
    for (const w of this.cfg.warnings) this.logger().warn(w);
    return this.cfg;
  }

  protected logger(): Logger {
    if (!this.loggerInstance) {
      // Loaded on first use: --version and --help never construct a logger (nor load pino).
      const { createLogger, levelFor, markSecretsIn } = require('@sous/core') as typeof import('@sous/core');
      const configured = this.cfg && this.cfg.origins.logLevel !== 'default' ? this.cfg.logLevel : undefined;
      if (this.cfg) markSecretsIn(this.cfg);
      const quiet = this.globalFlags.silent ? 'silent' : this.globalFlags.quiet ? 'error' : undefined;
      this.loggerInstance = createLogger({ level: levelFor(this.globalFlags, quiet ?? configured ?? 'warn') });
    }
    return this.loggerInstance;
  }

  protected async user(): Promise<User> {
    return (await this.config_()).user;
  }

  /** The configured Sous server, or undefined for the embedded store. */
  protected async serverClient(): Promise<import('@sous/core').ServerClient | undefined> {
    const cfg = await this.config_();
    if (!cfg.server) return undefined;
    const { ServerClient } = await import('@sous/core');
    return new ServerClient(cfg.server, { token: cfg.token });
  }

  /** The intended state: a Sous server when one is configured, otherwise the embedded git store. */
  protected async backend(): Promise<StateBackend> {
    if (this.backendInstance) return this.backendInstance;
    const cfg = await this.config_();
    const client = await this.serverClient();
    if (client) {
      const { HttpBackend } = await import('@sous/core');
      this.backendInstance = new HttpBackend(client);
    } else {
      const { Gdm } = await import('@sous/core');
      this.backendInstance = await Gdm.open(cfg.stateLocation, { user: cfg.user });
    }
    return this.backendInstance;
  }

  /** Git facts about the current directory, or null outside a git repository. */
  protected async sourceContext(): Promise<SourceContext | null> {
    if (this.sourceCtx !== undefined) return this.sourceCtx;
    const { readSourceContext, isSousError } = await import('@sous/core');
    try {
      this.sourceCtx = await readSourceContext({ dir: process.cwd() });
    } catch (e) {
      if (isSousError(e) && (e.code === 'NOT_A_GIT_REPO' || e.code === 'NO_COMMITS')) this.sourceCtx = null;
      else throw e;
    }
    return this.sourceCtx;
  }

  /** The manifest the filter flags name, defaulting repo and offset to the current git repository. */
  protected async manifestID(f: { repo?: string; offset?: string; flavor?: string; source?: string }): Promise<ManifestID> {
    const { resolveFilters, usageError, makeManifestID } = await import('@sous/core');
    const r = resolveFilters(f);
    let repo = r.repo;
    let offset = r.offset;
    if (!repo) {
      const ctx = await this.sourceContext();
      if (!ctx) {
        throw usageError('MISSING_REPO', 'no --repo given, and the current directory is not in a git repository', {
          hints: ['Give the application: --repo github.com/acme/shop [--offset dir]', 'or run the command inside its git repository'],
        });
      }
      repo = ctx.repo;
      if (offset === undefined) offset = ctx.offset;
    }
    return makeManifestID(repo, offset ?? '', r.flavor ?? '');
  }

  /**
   * For a command that printed what it could see but could not see everything
   * (a cluster that did not answer, a manifest that does not read): the error
   * follows the output on stderr (inside the document as `error` with --json)
   * and the command exits 1, so scripts and CI never take a partial view for
   * the whole.
   */
  protected async incomplete<T extends object>(doc: T, code: string, what: string, errors: readonly PlanError[]): Promise<T> {
    if (!errors.length) return doc;
    const { failure } = await import('@sous/core');
    const parts = errors.map((e) => (e.manifest ? `manifest ${e.manifest} (${e.file ?? ''}: ${e.code})` : e.deploymentID ? `the image of deployment ${e.deploymentID} (${e.code})` : `cluster ${e.cluster} (${e.code})`));
    const hints: string[] = [];
    if (errors.some((e) => e.manifest)) hints.push('Fix the manifest file in the state repository (or replace it with sous manifest set); until then its deployments are left as they are');
    if (errors.some((e) => e.code === 'UNKNOWN_CLUSTER_KIND')) hints.push("Add the plugin for the cluster's kind to the config's plugins, or correct the kind: sous cluster add --name NAME --kind KIND --replace");
    if (errors.some((e) => e.deploymentID)) hints.push("Push the image of that version (or sous artifact add it), or ask for a version whose image exists; the other deployments were planned as usual");
    if (errors.some((e) => e.cluster && !e.deploymentID && e.code !== 'UNKNOWN_CLUSTER_KIND')) hints.push('Check that the cluster answers (its BaseURL in sous cluster list), then run the command again');
    const e = failure(code, `${what} is incomplete: ${parts.join(', ')} could not be seen`, { hints, details: { errors } });
    process.exitCode = e.exit;
    if (this.jsonEnabled()) return { ...doc, error: e.toJSON() };
    process.stderr.write(formatError(e, this.globalFlags.debug || process.env.SOUS_DEBUG === '1'));
    return doc;
  }

  /**
   * The secret providers a manifest written here may name: this installation's,
   * when it rectifies itself; through a server, the server checks against its own.
   */
  protected async secretProviders(): Promise<string[] | undefined> {
    if (await this.serverClient()) return undefined;
    const { createSous } = await import('./sous');
    return createSous(await this.config_(), this.logger()).secretProviders();
  }

  protected logJson(json: unknown): void {
    process.stdout.write(JSON.stringify(json, null, 2) + '\n');
  }

  protected async catch(err: Error & { exitCode?: number; oclif?: { exit?: number } }): Promise<void> {
    // A command that failed while parsing has still been dealt with: no "did not parse" warning on top of the error.
    (this as unknown as { parsed: boolean }).parsed = true;
    const { toSousError, usageError } = await import('@sous/core');
    let e: SousError;
    if (err instanceof Errors.CLIError && !(err as unknown as { code?: string }).code?.match(/^[A-Z_]+$/)) {
      const code = parseErrorCode(err);
      const hints = [`See: sous ${(this.id ?? '').replace(/:/g, ' ')} --help`];
      const unknown = code === 'UNKNOWN_FLAG' ? /--?([A-Za-z0-9-]+)/.exec(err.message.replace(/^.*flags?:/i, ''))?.[1] : undefined;
      if (unknown) {
        const { closest } = await import('@sous/core');
        const near = closest(unknown, Object.keys((this.constructor as typeof SousCommand).flags ?? {}).concat(Object.keys(SousCommand.baseFlags), ['json']));
        if (near) hints.unshift(`did you mean --${near}?`);
      }
      e = usageError(code, cleanOclifMessage(err.message), { hints });
    } else if ((err as { code?: string }).code === 'EEXIT') {
      throw err;
    } else {
      e = toSousError(err);
    }
    // No credential, token or Authorization header leaves through an error, whatever it quoted.
    const { redact, redactText } = await import('@sous/core');
    if (this.jsonEnabled()) {
      this.logJson({ error: redact(e.toJSON()) });
    } else {
      process.stderr.write(redactText(formatError(e, this.globalFlags.debug || process.env.SOUS_DEBUG === '1')));
    }
    process.exitCode = e.exit;
  }
}

function parseErrorCode(err: Error): string {
  const n = err.constructor?.name ?? '';
  if (/NonExistentFlags/.test(n) || /Nonexistent flag/i.test(err.message)) return 'UNKNOWN_FLAG';
  if (/RequiredArgs/.test(n) || /Missing .*required arg/i.test(err.message)) return 'MISSING_ARGUMENT';
  if (/UnexpectedArgs/.test(n) || /Unexpected argument/i.test(err.message)) return 'UNEXPECTED_ARGUMENT';
  if (/FailedFlagValidation/.test(n) || /Missing required flag/i.test(err.message)) return 'MISSING_FLAG';
  if (/expected.*(integer|number)/i.test(err.message)) return 'INVALID_FLAG_VALUE';
  if (/Expected --.*to be one of/i.test(err.message)) return 'INVALID_FLAG_VALUE';
  return 'USAGE_ERROR';
}

function cleanOclifMessage(m: string): string {
  return m
    .split('\n')
    .filter((l) => !/^\s*See more help with/.test(l) && !/^The following errors? occurred:$/.test(l.trim()))
    .map((l) => l.trim())
    .filter(Boolean)
    .join('\n');
}

export function formatError(e: SousError, debug: boolean): string {
  const lines = [`Error: ${e.message}  [${e.code}]`];
  for (const h of e.hints) lines.push(`  Try this: ${h}`);
  if (debug) {
    lines.push(e.stack ?? '');
    let c = e.cause as Error | undefined;
    while (c) {
      lines.push(`Caused by: ${c.stack ?? c.message ?? String(c)}`);
      c = (c as { cause?: Error }).cause;
    }
  }
  return lines.join('\n') + '\n';
}

/** Renders rows as an aligned plain-text table. */
export function table(headers: string[], rows: (string | number)[][]): string {
  const cells = [headers, ...rows.map((r) => r.map((c) => String(c)))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  return cells.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join('  ').trimEnd()).join('\n') + '\n';
}
