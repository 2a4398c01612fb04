import * as fs from 'node:fs';
import * as path from 'node:path';
import { checkStackOptions, collectCaCerts, mergePlan, resolveStackOptions, type Sous, type SousPlugin } from '@sous/core';
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
export class NodeStackPlugin implements SousPlugin {
  static readonly PLUGIN_NAME = 'sous:stack-node';
  static readonly STACK = 'node';
  readonly name = NodeStackPlugin.PLUGIN_NAME;

  constructor(private readonly opts: NodeStackOptions = {}) {}

  apply(sous: Sous): void {
    const stack = NodeStackPlugin.STACK;
    sous.hooks.validate.tap(this.name, (config, report) => {
      report.errors.push(...checkStackOptions(stack, NODE_OPTION_SPEC, this.opts, 'the nodeStack() options'), ...checkStackOptions(stack, NODE_OPTION_SPEC, config.stacks[stack], 'the configuration'));
    });
    sous.hooks.detectStack.tapPromise(this.name, async (ws) => (fs.existsSync(path.join(ws.dir, 'package.json')) ? stack : undefined));
    sous.hooks.buildPlan.for(stack).tapPromise(this.name, async (plan, ws) => {
      const opts = resolveStackOptions(stack, NODE_OPTION_SPEC, this.opts, ws.config);
      return mergePlan(plan, nodePlan(ws.dir, opts, collectCaCerts(ws.config), ws.config.build.args));
    });
  }
}

/** The node stack plugin, for `plugins` in sous.config.ts (its options under `stacks.node` win). */
export const nodeStack = (opts?: NodeStackOptions): NodeStackPlugin => new NodeStackPlugin(opts);
