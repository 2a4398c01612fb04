import type { Sous } from './sous';

/**
 * A Sous plugin: a class with `apply(sous)` that taps hooks under its name.
 * Export a factory for sous.config.ts (`nodeStack()`, `swarmScheduler()`).
 */
export interface SousPlugin {
  /** Used as the tap name of every tap, and in error reports. */
  readonly name: string;
  apply(sous: Sous): void;
}

/** Order of taps on one hook: lower stages run first. */
export const STAGE = Object.freeze({
  /** Core's built-in defaults: anything a user plugin does comes after. */
  DEFAULTS: -1000,
  EARLY: -100,
  NORMAL: 0,
  LATE: 100,
  /** Checks that must see the final value (policy, validation). */
  ENFORCE: 1000,
});

/** What a plugin gets for its own use: a logger and a cache directory named after it. */
export interface PluginContext {
  readonly name: string;
  readonly logger: Logger;
  /** A directory only this plugin uses, kept between runs. */
  readonly cacheDir: string;
}

export interface Logger {
  trace(msg: string, fields?: Record<string, unknown>): void;
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(bindings: Record<string, unknown>): Logger;
}
