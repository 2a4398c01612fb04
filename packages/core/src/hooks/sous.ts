import * as path from 'node:path';
import {
  AsyncParallelHook,
  AsyncSeriesBailHook,
  AsyncSeriesHook,
  AsyncSeriesWaterfallHook,
  HookMap,
  SyncBailHook,
  SyncHook,
  SyncWaterfallHook,
} from 'tapable';
import { SousError, isSousError } from '../errors';
import type { ResolvedConfig } from '../config/types';
import type { ArtifactRecord, Manifest } from '../model/types';
import type {
  Action,
  ActionOutcome,
  Artifact,
  BuildPlan,
  BuildRequest,
  BuiltImage,
  ClusterRef,
  ContractReport,
  RectifyPlan,
  RectifyResult,
  Scheduler,
  SecretProvider,
  SourceContext,
  SourceRequest,
  SousEvent,
  UpdateRequest,
  VerifyReport,
  VerifyRequest,
  Workspace,
} from '../pipeline/types';
import type { Logger, PluginContext, SousPlugin } from './plugin';
import { cacheHome } from '../config/load';
import { nullLogger } from '../log';

/** Problems a `validate` tap found in the resolved configuration. */
export interface ConfigReport {
  errors: SousError[];
  warnings: string[];
}

export interface CacheQuery {
  contentKey: string;
  workspace: Workspace;
  plan: BuildPlan;
  /** Image names the result should carry. */
  tags: string[];
  /** The artifact index records of this source location (every version built so far). */
  artifacts: ArtifactRecord[];
}

function createHooks() {
  return {
    /** Plugins check their own config sections; push errors or warnings to the report. */
    validate: new SyncHook<[ResolvedConfig, ConfigReport]>(['config', 'report']),
    /** Last chance to adjust the resolved configuration. */
    resolvedConfig: new SyncWaterfallHook<[ResolvedConfig]>(['config']),

    /** Git facts → SourceContext (repo, offset, revision, version, advisories). */
    sourceContext: new AsyncSeriesWaterfallHook<[SourceContext, SourceRequest]>(['context', 'request']),

    /** The first plugin that recognises the workspace names its stack. */
    detectStack: new AsyncSeriesBailHook<[Workspace], string | undefined>(['workspace']),
    /** Per stack: the plan for building the image. */
    buildPlan: new HookMap((stack: string) => new AsyncSeriesWaterfallHook<[BuildPlan, Workspace]>(['plan', 'workspace'], `buildPlan.for(${stack})`)),
    /** Runs after the stack's plan for every stack: builders add inputs (base image ids), core adds labels. */
    finalizePlan: new AsyncSeriesWaterfallHook<[BuildPlan, Workspace]>(['plan', 'workspace']),
    /** A built image with the same content key, if one exists. */
    cacheLookup: new AsyncSeriesBailHook<[CacheQuery], BuiltImage | undefined>(['query']),
    cacheStore: new AsyncSeriesHook<[CacheQuery, BuiltImage]>(['query', 'image']),
    /** The first builder that takes the plan builds it. */
    buildImage: new AsyncSeriesBailHook<[BuildRequest], BuiltImage | undefined>(['request']),
    /** Contracts run against the built image and add their results to the report. */
    testImage: new AsyncSeriesHook<[ContractReport]>(['report']),
    /** Push the image; set artifact.digest and artifact.reference. */
    publish: new AsyncSeriesHook<[Artifact]>(['artifact']),
    sign: new AsyncSeriesHook<[Artifact]>(['artifact']),
    precache: new AsyncSeriesHook<[Artifact]>(['artifact']),
    artifactReady: new AsyncSeriesHook<[Artifact]>(['artifact']),

    /** Every check an artifact must pass before a deploy to a cluster; taps add checks. */
    verifyArtifact: new AsyncSeriesHook<[VerifyRequest, VerifyReport]>(['request', 'report']),
    updateManifest: new AsyncSeriesWaterfallHook<[Manifest, UpdateRequest]>(['manifest', 'request']),

    /** Per provider name (the part before ':' of a secret reference): where its values come from. */
    secretProvider: new HookMap((name: string) => new SyncBailHook<[ResolvedConfig], SecretProvider | undefined>(['config'], `secretProvider.for(${name})`)),
    /** Per cluster kind: the scheduler for a cluster. */
    scheduler: new HookMap((kind: string) => new SyncBailHook<[ClusterRef], Scheduler | undefined>(['cluster'], `scheduler.for(${kind})`)),
    plan: new AsyncSeriesWaterfallHook<[RectifyPlan]>(['plan']),
    beforeAction: new AsyncSeriesHook<[Action]>(['action']),
    afterAction: new AsyncSeriesHook<[ActionOutcome]>(['outcome']),
    rectified: new AsyncSeriesHook<[RectifyResult]>(['result']),
    failed: new AsyncSeriesHook<[Action, SousError]>(['action', 'error']),

    /** Typed events: every tap gets every event; a failing tap never affects the others or the caller. */
    event: new AsyncParallelHook<[SousEvent]>(['event']),
  };
}

export type SousHooks = Readonly<ReturnType<typeof createHooks>>;

/** Wraps an error thrown by a tap with the plugin's and the hook's names, keeping its code. */
export function pluginError(e: unknown, plugin: string, hook: string): SousError {
  if (isSousError(e) && e.details?.plugin) return e;
  const message = e instanceof Error ? e.message : String(e);
  const code = isSousError(e) ? e.code : 'PLUGIN_ERROR';
  return new SousError(code, `[${plugin}] ${hook}: ${message}`, {
    exit: isSousError(e) ? e.exit : 1,
    hints: isSousError(e) ? e.hints : [],
    file: isSousError(e) ? e.file : undefined,
    field: isSousError(e) ? e.field : undefined,
    cause: e,
    details: { ...(isSousError(e) ? e.details : {}), plugin, hook },
  });
}

interface TapLike {
  type: 'sync' | 'async' | 'promise';
  name: string;
  fn: (...args: unknown[]) => unknown;
}

function wrapTap(hookName: string, tap: TapLike, isolate?: (e: SousError) => void): TapLike {
  const fn = tap.fn;
  const wrap = (e: unknown) => pluginError(e, tap.name, hookName);
  if (tap.type === 'sync') {
    tap.fn = (...args) => {
      try {
        return fn(...args);
      } catch (e) {
        if (isolate) return isolate(wrap(e));
        throw wrap(e);
      }
    };
  } else if (tap.type === 'promise') {
    tap.fn = (...args) => {
      let p: Promise<unknown>;
      try {
        p = Promise.resolve(fn(...args));
      } catch (e) {
        p = Promise.reject(e);
      }
      return p.catch((e) => {
        if (isolate) return isolate(wrap(e));
        throw wrap(e);
      });
    };
  } else {
    tap.fn = (...args) => {
      const cb = args.pop() as (err?: unknown, res?: unknown) => void;
      try {
        fn(...args, (err: unknown, res: unknown) => {
          if (err) {
            if (isolate) {
              isolate(wrap(err));
              cb();
            } else cb(wrap(err));
          } else cb(null, res);
        });
      } catch (e) {
        if (isolate) {
          isolate(wrap(e));
          cb();
        } else cb(wrap(e));
      }
    };
  }
  return tap;
}

type AnyHook = { intercept(i: { register?: (t: TapLike) => TapLike }): void };

/**
 * The core: every extension point in one frozen, typed `hooks` object.
 * Plugins tap hooks in `apply(sous)`; core runs the pipelines.
 */
export class Sous {
  readonly hooks: SousHooks;
  readonly plugins: SousPlugin[] = [];
  readonly logger: Logger;

  constructor(
    readonly config: ResolvedConfig,
    opts: { logger?: Logger } = {},
  ) {
    this.logger = opts.logger ?? nullLogger;
    const hooks = createHooks();
    for (const [name, hook] of Object.entries(hooks)) {
      if (hook instanceof HookMap) {
        (hook as unknown as HookMap<AnyHook>).intercept({
          factory: (key: unknown, h: AnyHook) => {
            h.intercept({ register: (t) => wrapTap(`${name}.for(${String(key)})`, t) });
            return h;
          },
        } as never);
      } else if (name === 'event') {
        (hook as unknown as AnyHook).intercept({
          register: (t) => wrapTap(name, t, (e) => this.logger.error(`event delivery failed: ${e.message}`, { code: e.code, plugin: e.details?.plugin })),
        });
      } else {
        (hook as unknown as AnyHook).intercept({ register: (t) => wrapTap(name, t) });
      }
    }
    this.hooks = Object.freeze(hooks);
  }

  /**
   * A Sous with core's own defaults applied (internal plugins, as webpack
   * applies its options): what every command starts from.
   */
  static create(config: ResolvedConfig, opts: { logger?: Logger } = {}): Sous {
    const sous = new Sous(config, opts);
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { internalPlugins } = require('../internal-plugins') as typeof import('../internal-plugins');
    sous.use(...internalPlugins(config));
    return sous;
  }

  /** Applies plugins in order; a plugin whose apply throws is reported by name. */
  use(...plugins: SousPlugin[]): this {
    for (const p of plugins) {
      try {
        p.apply(this);
      } catch (e) {
        throw pluginError(e, p.name, 'apply');
      }
      this.plugins.push(p);
    }
    return this;
  }

  context(pluginName: string): PluginContext {
    return {
      name: pluginName,
      logger: this.logger.child({ plugin: pluginName }),
      cacheDir: path.join(cacheHome(), 'plugins', pluginName.replace(/[^A-Za-z0-9_.-]/g, '_')),
    };
  }

  /** The cluster kinds some plugin schedules (a key of `hooks.scheduler` with a tap). */
  schedulerKinds(): string[] {
    return tappedKeys(this.hooks.scheduler);
  }

  /** The secret providers some plugin offers (a key of `hooks.secretProvider` with a tap). */
  secretProviders(): string[] {
    return tappedKeys(this.hooks.secretProvider);
  }

  /** The stacks some plugin plans builds for (a key of `hooks.buildPlan` with a tap). */
  stacks(): string[] {
    return tappedKeys(this.hooks.buildPlan);
  }

  /** Runs every validate tap and throws the first error found. */
  validateConfig(): ConfigReport {
    const report: ConfigReport = { errors: [], warnings: [...this.config.warnings] };
    this.hooks.validate.call(this.config, report);
    if (report.errors.length) throw report.errors[0];
    return report;
  }

  async emit(type: string, payload: Record<string, unknown> = {}): Promise<void> {
    await this.hooks.event.promise({ type, time: new Date().toISOString(), ...payload });
  }
}

/** The keys of a HookMap that have taps (tapable offers no public listing; its `_map` is stable across 2.x). */
function tappedKeys(map: unknown): string[] {
  const m = (map as { _map?: Map<string, { taps: unknown[] }> })._map;
  return m ? [...m.entries()].filter(([, h]) => h.taps.length > 0).map(([k]) => k).sort() : [];
}
