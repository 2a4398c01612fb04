import type { ConfigEnv, UserConfig } from './types';

/**
 * Types a sous.config.ts. It returns its argument unchanged: an object, a
 * promise of one, or a function of the environment.
 *
 * @example
 * import { defineConfig } from '@sous/core';
 * export default defineConfig({ stack: 'node', build: { args: { NODE_ENV: 'production' } } });
 */
export function defineConfig(config: UserConfig): UserConfig;
export function defineConfig(config: Promise<UserConfig>): Promise<UserConfig>;
export function defineConfig(config: (env: ConfigEnv) => UserConfig | Promise<UserConfig>): (env: ConfigEnv) => UserConfig | Promise<UserConfig>;
export function defineConfig(config: unknown): unknown {
  return config;
}
