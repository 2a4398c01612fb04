import * as fs from 'node:fs';
import * as path from 'node:path';
import { StackPlugin, type BuildPlan, type CaBundle, type Workspace } from '@sous/core';
import { NODE_OPTION_SPEC, type NodeStackOptions } from './options';
import { nodePlan } from './plan';

export { NODE_DEFAULTS, NODE_OPTION_SPEC, type NodeStackOptions } from './options';
export { nodePlan, type NodePlan } from './plan';
export { detectPackageManager, nodeMajor, readPackageJson, startCommand, type PackageJson, type PackageManager } from './package-json';

/**
 * The node stack: an application with a package.json is built by npm, yarn
 * or pnpm (by lockfile) on the node version engines.node asks for, its
 * dependencies in their own layer, and run as a non-root user.
 */
export class NodeStackPlugin extends StackPlugin<NodeStackOptions> {
  static readonly PLUGIN_NAME = 'sous:stack-node';
  static readonly STACK = 'node';
  readonly name = NodeStackPlugin.PLUGIN_NAME;
  readonly stack = NodeStackPlugin.STACK;
  protected readonly spec = NODE_OPTION_SPEC;

  protected detect(dir: string): boolean {
    return fs.existsSync(path.join(dir, 'package.json'));
  }

  protected plan(ws: Workspace, opts: NodeStackOptions, ca: CaBundle | undefined): Partial<BuildPlan> {
    return nodePlan(ws.dir, opts, ca, ws.config.build.args);
  }
}

/** The node stack plugin, for `plugins` in sous.config.ts (its options under `stacks.node` win). */
export const nodeStack = (opts?: NodeStackOptions): NodeStackPlugin => new NodeStackPlugin(opts);
