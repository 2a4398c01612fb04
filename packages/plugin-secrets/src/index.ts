import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import { configHome, failure, limiter, type ResolvedConfig, type SecretProvider, type Sous, type SousError, type SousPlugin } from '@sous/core';

/**
 * `file:<key>`: one file per key under a directory (what Kubernetes, Docker and
 * systemd mount). The key is a relative path that must stay inside the directory,
 * links included; one trailing newline is not part of the value.
 */
export class FileSecrets implements SecretProvider {
  /**
   * What each key's file held when last read. A change anywhere under the
   * directory (the watcher's event) forgets them all, and none is trusted for
   * longer than MAX_AGE_MS, in case an event was missed: a pass that finds
   * nothing changed costs no file system call per key.
   */
  private readonly seen = new Map<string, { at: number; value: string }>();
  /** Bumped on every change event: a read that began before it keeps nothing it read. */
  private generation = 0;
  private watcher?: fs.FSWatcher | null;

  constructor(readonly dir: string) {}

  /** Watches the directory (once); without a watcher nothing is kept between reads. */
  private watch(root: string): boolean {
    if (this.watcher === undefined) {
      try {
        this.watcher = fs.watch(root, { recursive: true, persistent: false }, () => this.forget());
        this.watcher.on('error', () => {
          this.watcher?.close();
          this.watcher = null;
          this.forget();
        });
      } catch {
        this.watcher = null;
      }
    }
    return this.watcher !== null;
  }

  private forget(): void {
    this.generation++;
    this.seen.clear();
  }

  async read(keys: readonly string[]): Promise<Map<string, string | SousError>> {
    const out = new Map<string, string | SousError>();
    let root: string;
    try {
      root = await fsp.realpath(this.dir);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return out;
      throw failed('file', undefined, `cannot open the secrets directory ${this.dir}: ${(e as Error).message}`);
    }
    const keep = this.watch(root);
    const generation = this.generation;
    const now = Date.now();
    const misses: string[] = [];
    for (const key of keys) {
      const hit = this.seen.get(key);
      if (hit && now - hit.at < MAX_AGE_MS) out.set(key, hit.value);
      else misses.push(key);
    }
    const limit = limiter(64);
    await Promise.all(
      misses.map((key) =>
        limit(async () => {
          const file = path.resolve(root, key);
          try {
            const real = await fsp.realpath(file);
            if (!inside(root, real)) {
              out.set(key, failed('file', key, `the file of key ${JSON.stringify(key)} is outside the secrets directory ${root}`));
              return;
            }
            const value = (await fsp.readFile(real, 'utf8')).replace(/\r?\n$/, '');
            if (keep && generation === this.generation) this.seen.set(key, { at: now, value });
            out.set(key, value);
          } catch (e) {
            const code = (e as NodeJS.ErrnoException).code;
            if (code === 'ENOENT' || code === 'ENOTDIR') return;
            out.set(key, failed('file', key, `cannot read ${file}: ${code ?? (e as Error).message}`));
          }
        }),
      ),
    );
    return out;
  }

  /** Stops watching (a provider of a directory no longer configured). */
  close(): void {
    this.watcher?.close();
    this.watcher = undefined;
    this.forget();
  }
}

/** The longest a value read from a file is used without reading it again, even with no change seen. */
const MAX_AGE_MS = 30_000;

function inside(root: string, p: string): boolean {
  return p === root || p.startsWith(root.endsWith(path.sep) ? root : root + path.sep);
}

/** `env:<NAME>`: the rectifier's own environment variable NAME. */
export class EnvSecrets implements SecretProvider {
  constructor(private readonly env: Record<string, string | undefined> = process.env) {}

  async read(keys: readonly string[]): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    for (const k of keys) {
      const v = this.env[k];
      if (v !== undefined) out.set(k, v);
    }
    return out;
  }
}

export interface CommandSecretsOptions {
  /** The command and its arguments; `{key}` in an argument becomes the key, else the key is added as the last argument. */
  run: string[];
  timeoutSeconds?: number;
}

/**
 * `command:<key>`: runs a configured command with the key and takes its stdout
 * (one trailing newline dropped) as the value, so `op read`, `vault kv get
 * -field`, `aws secretsmanager get-secret-value` and `sops -d` serve without a
 * plugin each. A command that exits non-zero or runs past its timeout fails
 * that key with SECRET_PROVIDER_FAILED and its stderr; stdout is never shown.
 */
export class CommandSecrets implements SecretProvider {
  constructor(readonly opts: CommandSecretsOptions) {}

  async read(keys: readonly string[]): Promise<Map<string, string | SousError>> {
    const out = new Map<string, string | SousError>();
    const limit = limiter(4);
    await Promise.all(keys.map((key) => limit(async () => out.set(key, await this.one(key)))));
    return out;
  }

  private one(key: string): Promise<string | SousError> {
    const [cmd, ...rest] = this.opts.run;
    const args = rest.some((a) => a.includes('{key}')) ? rest.map((a) => a.split('{key}').join(key)) : [...rest, key];
    const timeoutMs = (this.opts.timeoutSeconds ?? 10) * 1000;
    return new Promise((resolve) => {
      // Its own process group, so a timeout stops what it started too (a shell's children hold its pipes open).
      const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, SOUS_SECRET_KEY: key }, detached: true });
      const stdout: Buffer[] = [];
      let stderr = '';
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        try {
          process.kill(-child.pid!, 'SIGKILL');
        } catch {
          child.kill('SIGKILL');
        }
      }, timeoutMs);
      child.stdout.on('data', (d: Buffer) => stdout.push(d));
      child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-4000)));
      child.on('error', (e) => {
        clearTimeout(timer);
        resolve(failed('command', key, `cannot run ${cmd}: ${(e as NodeJS.ErrnoException).code ?? e.message}`));
      });
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        const err = stderr.trim();
        if (timedOut) resolve(failed('command', key, `${cmd} did not answer within ${timeoutMs / 1000}s${err ? `: ${err}` : ''}`));
        else if (code !== 0) resolve(failed('command', key, `${cmd} exited ${code ?? signal}${err ? `: ${err}` : ''}`));
        else resolve(Buffer.concat(stdout).toString('utf8').replace(/\r?\n$/, ''));
      });
    });
  }
}

function failed(provider: string, key: string | undefined, message: string): SousError {
  return failure('SECRET_PROVIDER_FAILED', `the ${provider} secret provider${key !== undefined ? ` (key ${JSON.stringify(key)})` : ''}: ${message}`, {
    hints: ['Fix the provider (its settings are under secrets in the operator config); the version already running keeps running'],
  });
}

/** The default secrets directory of the file provider. */
export function defaultSecretsDir(): string {
  return path.join(configHome(), 'sous', 'secrets');
}

/**
 * The three standard secret providers: `file` (secrets.file.dir, default
 * $XDG_CONFIG_HOME/sous/secrets), `env`, and `command` (when secrets.command.run
 * is set).
 */
export class SecretsPlugin implements SousPlugin {
  static readonly PLUGIN_NAME = 'sous:secrets';
  readonly name = SecretsPlugin.PLUGIN_NAME;

  /** One file provider per directory for the life of the process, so what it has read stays known between passes. */
  private readonly files = new Map<string, FileSecrets>();

  apply(sous: Sous): void {
    const section = (c: ResolvedConfig, name: string) => (c.secrets?.[name] ?? {}) as Record<string, unknown>;
    sous.hooks.secretProvider.for('file').tap(this.name, (c) => {
      const dir = path.resolve(String(section(c, 'file').dir ?? defaultSecretsDir()));
      return this.files.get(dir) ?? this.files.set(dir, new FileSecrets(dir)).get(dir)!;
    });
    sous.hooks.secretProvider.for('env').tap(this.name, () => new EnvSecrets());
    sous.hooks.secretProvider.for('command').tap(this.name, (c) => {
      const s = section(c, 'command') as Partial<CommandSecretsOptions>;
      return s.run?.length ? new CommandSecrets({ run: s.run, timeoutSeconds: s.timeoutSeconds }) : undefined;
    });
    sous.hooks.validate.tap(this.name, (c, report) => {
      const dir = section(c, 'file').dir;
      if (typeof dir === 'string' && !fs.existsSync(dir)) report.warnings.push(`secrets.file.dir ${dir} does not exist: file: secrets will not be found`);
    });
  }
}

export const secrets = () => new SecretsPlugin();
