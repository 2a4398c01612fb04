import { COMMON_STACK_OPTIONS, type CommonStackOptions, type StackOptionSpec } from '@sous/core';

/** Options of the go stack, from `goStack(opts)` and `stacks.go` in the config (the config wins). */
export interface GoStackOptions extends Omit<CommonStackOptions, 'version'> {
  /** The main package to build (default: the module root, or the one ./cmd/<name>). */
  package?: string;
}

// go.mod always names the go version, so there is no version option.
const { version: _version, ...common } = COMMON_STACK_OPTIONS;
export const GO_OPTION_SPEC: StackOptionSpec = { ...common, package: 'string' };

/** The conventional public images; `{version}` is the go version from go.mod (its toolchain line when there is one). */
export const GO_DEFAULTS = {
  builderImage: 'golang:{version}-bookworm',
  runImage: 'gcr.io/distroless/static-debian12:nonroot',
  user: '10001',
  port: 8080,
  install: 'go mod download',
} as const;
