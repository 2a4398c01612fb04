import { COMMON_STACK_OPTIONS, type CommonStackOptions, type StackOptionSpec } from '@sous/core';

/**
 * Options of the node stack, from `nodeStack(opts)` and `stacks.node` in
 * sous.config.ts or the operator config (the config wins, key by key).
 */
export type NodeStackOptions = CommonStackOptions;

export const NODE_OPTION_SPEC: StackOptionSpec = COMMON_STACK_OPTIONS;

/** The conventional public images; `{version}` is the major from engines.node. */
export const NODE_DEFAULTS = {
  builderImage: 'node:{version}-bookworm-slim',
  runImage: 'node:{version}-bookworm-slim',
  /** The node major when engines.node does not say. */
  version: '22',
  user: '10001',
  port: 8080,
} as const;
