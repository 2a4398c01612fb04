import * as fs from 'node:fs';
import * as path from 'node:path';
import { SousError, usageError } from '../errors';
import type { ResolvedConfig } from '../config/types';
import type { BuildPlan } from './types';
import { closest } from '../util/text';

/** The shape a stack option's value must have. */
export type StackOptionKind = 'string' | 'strings' | 'map' | 'files' | 'port' | 'user';

/** A stack's options by name, with their kinds: what `validate` checks and what `resolveStackOptions` merges. */
export type StackOptionSpec = Readonly<Record<string, StackOptionKind>>;

/** An extra file: its content, or the host file to read it from. */
export type ExtraFile = string | { file: string };

/** The options every convention stack takes (each stack adds its own). */
export interface CommonStackOptions {
  /** One image for both the builder and the run stage (when the two are not set on their own). `{version}` is filled in. */
  baseImage?: string;
  /** The image the build runs in. `{version}` is filled with the stack's detected version. */
  builderImage?: string;
  /** The image the application runs on. `{version}` is filled in. */
  runImage?: string;
  /** The version to use when the sources do not say (node major, go version, java release). */
  version?: string;
  /** Build args declared in the builder stages and passed to the build. */
  buildArgs?: Record<string, string>;
  /** Environment variables of the run image. */
  env?: Record<string, string>;
  /** The command the image runs (exec form). */
  command?: string[];
  /** The command that fetches the dependencies (run before the sources are copied). */
  install?: string;
  /** Files added to the application directory of the image: path → content, or `{ file }` to read from this machine. */
  extraFiles?: Record<string, ExtraFile>;
  /** The numeric user (uid or uid:gid) the application runs as; never 0. */
  user?: string;
  /** The port the image documents with EXPOSE (the application listens on PORT0, then PORT). */
  port?: number;
}

export const COMMON_STACK_OPTIONS: StackOptionSpec = {
  baseImage: 'string',
  builderImage: 'string',
  runImage: 'string',
  version: 'string',
  buildArgs: 'map',
  env: 'map',
  command: 'strings',
  install: 'string',
  extraFiles: 'files',
  user: 'user',
  port: 'port',
};

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

function kindError(kind: StackOptionKind, v: unknown): string | undefined {
  const isRecord = (x: unknown): x is Record<string, unknown> => !!x && typeof x === 'object' && !Array.isArray(x);
  switch (kind) {
    case 'string':
      return typeof v === 'string' && v.trim() ? undefined : 'must be a non-empty string';
    case 'strings':
      return Array.isArray(v) && v.length > 0 && v.every((s) => typeof s === 'string') ? undefined : 'must be a non-empty array of strings';
    case 'map': {
      if (!isRecord(v)) return 'must be an object of NAME: "value"';
      const bad = Object.entries(v).find(([k, x]) => !ENV_NAME.test(k) || typeof x !== 'string');
      return bad ? `has ${ENV_NAME.test(bad[0]) ? `a value that is not a string (${bad[0]})` : `an invalid name ${JSON.stringify(bad[0])}`}` : undefined;
    }
    case 'files': {
      if (!isRecord(v)) return 'must be an object of path: content (or { file: path })';
      for (const [p, c] of Object.entries(v)) {
        if (!p || path.isAbsolute(p) || p.split(/[\\/]/).includes('..')) return `has a path that is not relative inside the application (${JSON.stringify(p)})`;
        if (typeof c !== 'string' && !(isRecord(c) && typeof c.file === 'string' && Object.keys(c).length === 1)) return `has an entry that is neither content nor { file } (${p})`;
      }
      return undefined;
    }
    case 'port':
      return Number.isInteger(v) && (v as number) > 0 && (v as number) < 65536 ? undefined : 'must be a port number (1-65535)';
    case 'user': {
      if (typeof v !== 'string' && typeof v !== 'number') return 'must be a numeric uid or uid:gid';
      const m = /^(\d+)(?::(\d+))?$/.exec(String(v));
      if (!m) return 'must be a numeric uid or uid:gid (names cannot be checked to be non-root)';
      return Number(m[1]) === 0 ? 'must not be 0: the application never runs as root' : undefined;
    }
  }
}

/**
 * Checks one layer of a stack's options (the factory's, or `stacks.<stack>`
 * from the config). Unknown keys get a "did you mean"; returns the problems.
 */
export function checkStackOptions(stack: string, spec: StackOptionSpec, opts: unknown, where: string): SousError[] {
  if (opts === undefined) return [];
  const field = `stacks.${stack}`;
  if (!opts || typeof opts !== 'object' || Array.isArray(opts)) {
    return [usageError('STACK_OPTIONS_INVALID', `${where}: ${field} must be an object of options`, { field })];
  }
  const errors: SousError[] = [];
  const known = Object.keys(spec);
  for (const [k, v] of Object.entries(opts as Record<string, unknown>)) {
    if (v === undefined) continue;
    const kind = spec[k];
    if (!kind) {
      const near = closest(k, known);
      errors.push(
        usageError('STACK_OPTION_UNKNOWN', `${where}: ${field}.${k} is not an option of the ${stack} stack${near ? ` (did you mean ${near}?)` : ''}`, {
          field: `${field}.${k}`,
          hints: [near ? `Did you mean ${field}.${near}?` : `Options of the ${stack} stack: ${known.join(', ')}`],
        }),
      );
      continue;
    }
    const problem = kindError(kind, v);
    if (problem) errors.push(usageError('STACK_OPTION_INVALID', `${where}: ${field}.${k} ${problem}`, { field: `${field}.${k}` }));
  }
  return errors;
}

/**
 * A stack's options: the plugin factory's, with `stacks.<stack>` from the
 * configuration over them key by key (the configuration wins). Throws the
 * first problem found.
 */
export function resolveStackOptions<T extends object>(stack: string, spec: StackOptionSpec, factory: T, config: Pick<ResolvedConfig, 'stacks'>): T {
  const fromConfig = config.stacks[stack];
  const errors = [...checkStackOptions(stack, spec, factory, `the ${stack}Stack() options`), ...checkStackOptions(stack, spec, fromConfig, 'the configuration')];
  if (errors.length) throw errors[0];
  const merged: Record<string, unknown> = { ...(factory as Record<string, unknown>) };
  for (const [k, v] of Object.entries(fromConfig ?? {})) if (v !== undefined) merged[k] = v;
  return merged as T;
}

/** Fills `{version}` in an image reference. */
export function imageRef(template: string, version: string): string {
  return template.replace(/\{version\}/g, version);
}

/** What a convention stack's plan gives core. */
export type StackPlan = Pick<BuildPlan, 'dockerfile' | 'extraFiles' | 'buildArgs' | 'inputs' | 'command' | 'ignore'>;

/** Where a build step that fetches packages sees the extra CA certificates (bind-mounted from the context, never copied). */
export const CA_TARGET = '/run/sous/ca.pem';

/** What every convention stack plans alike, from its options and defaults. */
export interface CommonPlanParts {
  builderImage: string;
  runImage: string;
  buildArgs: Record<string, string>;
  /** The extra files, under `.sous/files/` in the context. */
  files: Record<string, string | Buffer>;
  /** The plan inputs naming both images (for the content key). */
  inputs: Record<string, string>;
  /** Template values: builderImage, runImage, buildArgs (ARG lines), env, extraFiles (the COPY line), user, port. */
  values: Record<string, string>;
}

/**
 * The images (`{version}` filled in), build args (the config's under the
 * stack's), extra files and the run stage's env, user and port: the parts of
 * a plan every convention stack makes the same way.
 */
export function commonPlanParts(
  stack: string,
  opts: CommonStackOptions,
  defaults: { builderImage: string; runImage: string; user: string | number; port: number },
  version: string,
  globalArgs: Record<string, string> = {},
): CommonPlanParts {
  const builderImage = imageRef(opts.builderImage ?? opts.baseImage ?? defaults.builderImage, version);
  const runImage = imageRef(opts.runImage ?? opts.baseImage ?? defaults.runImage, version);
  const buildArgs = { ...globalArgs, ...(opts.buildArgs ?? {}) };
  const files: Record<string, string | Buffer> = {};
  for (const [p, c] of Object.entries(readExtraFiles(stack, opts.extraFiles))) files[`.sous/files/${p}`] = c;
  return {
    builderImage,
    runImage,
    buildArgs,
    files,
    inputs: { 'image:builder': builderImage, 'image:run': runImage },
    values: {
      builderImage,
      runImage,
      buildArgs: argLines(buildArgs),
      env: envLines(opts.env),
      extraFiles: Object.keys(opts.extraFiles ?? {}).length ? 'COPY .sous/files/ /app/' : '',
      user: String(opts.user ?? defaults.user),
      port: String(opts.port ?? defaults.port),
    },
  };
}

/** Reads extra files given as `{ file }` from this machine; a missing one is a SousError naming it. */
export function readExtraFiles(stack: string, files: Record<string, ExtraFile> | undefined, cwd = process.cwd()): Record<string, string | Buffer> {
  const out: Record<string, string | Buffer> = {};
  for (const [p, c] of Object.entries(files ?? {})) {
    if (typeof c === 'string') {
      out[p] = c;
      continue;
    }
    const abs = path.resolve(cwd, c.file);
    try {
      out[p] = fs.readFileSync(abs);
    } catch (e) {
      throw usageError('STACK_EXTRA_FILE_NOT_FOUND', `stacks.${stack}.extraFiles.${p}: cannot read ${abs} (${(e as NodeJS.ErrnoException).code ?? String(e)})`, {
        file: abs,
        field: `stacks.${stack}.extraFiles.${p}`,
      });
    }
  }
  return out;
}

/** `ENV` lines for a Dockerfile, values JSON-quoted (Dockerfile ENV accepts double-quoted strings). */
export function envLines(env: Record<string, string> | undefined): string {
  const entries = Object.entries(env ?? {});
  return entries.map(([k, v]) => `ENV ${k}=${JSON.stringify(v)}`).join('\n');
}

/** `ARG` lines for the build args a stage may use. */
export function argLines(args: Record<string, string> | undefined): string {
  return Object.keys(args ?? {})
    .sort()
    .map((k) => `ARG ${k}`)
    .join('\n');
}

/** A command in exec form (JSON), as CMD takes it. */
export function execForm(cmd: readonly string[]): string {
  return JSON.stringify(cmd);
}

/** Drops the blank lines left by empty template values, keeping one blank line before each stage. */
export function tidyDockerfile(text: string): string {
  const lines = text.split('\n').map((l) => l.replace(/\s+$/, ''));
  const out: string[] = [];
  for (const l of lines) {
    if (!l) continue;
    if (/^FROM\s/i.test(l) && out.length && !out[out.length - 1].startsWith('#')) out.push('');
    out.push(l);
  }
  return `${out.join('\n')}\n`;
}

/** A stack's part of a plan laid over the plan it was handed (maps merged, ignore lists joined). */
export function mergePlan(plan: BuildPlan, part: Partial<BuildPlan>): BuildPlan {
  return {
    ...plan,
    ...part,
    extraFiles: { ...plan.extraFiles, ...(part.extraFiles ?? {}) },
    buildArgs: { ...plan.buildArgs, ...(part.buildArgs ?? {}) },
    secrets: { ...plan.secrets, ...(part.secrets ?? {}) },
    labels: { ...plan.labels, ...(part.labels ?? {}) },
    inputs: { ...plan.inputs, ...(part.inputs ?? {}) },
    ignore: [...new Set([...plan.ignore, ...(part.ignore ?? [])])],
  };
}
