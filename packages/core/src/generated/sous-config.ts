/* eslint-disable */
// Generated from schemas/ by scripts/gen-types.js. Do not edit by hand: edit the schema and run `npm run gen:types`.

/**
 * What sous.config.ts (a repository) and the user/operator config file may say. Environment variables (SOUS_*) and flags override files.
 */
export interface SousConfig {
  /**
   * Force a stack (node, go, java, dockerfile) instead of detecting one.
   */
  stack?: string;
  /**
   * Options per stack, read by the stack plugins (base images, build args, command, extra files).
   */
  stacks?: {
    [k: string]: {};
  };
  build?: BuildConfig;
  /**
   * Contracts run against the built image (read by the contracts plugin).
   */
  contracts?: {};
  /**
   * Signing options (read by the sign plugin).
   */
  sign?: {};
  /**
   * Plugins: objects with apply(sous).
   */
  plugins?: unknown[];
  /**
   * The Sous server URL; unset means the embedded store.
   */
  server?: string;
  /**
   * The bearer token for the server.
   */
  token?: string;
  /**
   * The GDM state directory (a git repository).
   */
  stateLocation?: string;
  /**
   * A git remote the state directory pulls from and pushes to.
   */
  stateRemote?: string;
  /**
   * The registry images are pushed to (host[:port]).
   */
  registry?: string;
  /**
   * The Docker engine (unix:///path or tcp://host:port).
   */
  dockerHost?: string;
  user?: {
    name?: string;
    email?: string;
  };
  /**
   * Public keys (paths or PEM) trusted by sous verify.
   */
  trustedKeys?: string[];
  /**
   * Path to the PEM private key used to sign built images.
   */
  signingKey?: string;
  /**
   * Notifier routes (read by the notifier plugins).
   */
  notifiers?: {}[];
  logLevel?: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  rectify?: {
    concurrency?: number;
    retries?: number;
    holdAfterFailures?: number;
    resyncSeconds?: number;
  };
}
/**
 * This interface was referenced by `SousConfig`'s JSON-Schema
 * via the `definition` "BuildConfig".
 */
export interface BuildConfig {
  /**
   * Build args handed to every stack.
   */
  args?: {
    [k: string]: string;
  };
  /**
   * A Dockerfile to build with instead of a stack.
   */
  dockerfile?: string;
  /**
   * Extra CA certificate files handed to the build steps that fetch packages.
   */
  caCerts?: string[];
  platform?: string;
  /**
   * Fail the build on any advisory.
   */
  strict?: boolean;
}
