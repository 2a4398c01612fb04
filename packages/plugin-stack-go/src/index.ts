import * as fs from 'node:fs';
import * as path from 'node:path';
import { checkStackOptions, collectCaCerts, mergePlan, resolveStackOptions, type Sous, type SousPlugin } from '@sous/core';
import { GO_OPTION_SPEC, type GoStackOptions } from './options';
import { goPlan } from './plan';

export { GO_DEFAULTS, GO_OPTION_SPEC, type GoStackOptions } from './options';
export { goPlan, type GoPlan } from './plan';
export { mainPackage, readGoMod, type GoMod } from './gomod';

/**
 * The go stack: a module (go.mod) is built with the go version it names into
 * a static binary, which alone goes onto a minimal run image as a non-root user.
 */
export class GoStackPlugin implements SousPlugin {
  static readonly PLUGIN_NAME = 'sous:stack-go';
  static readonly STACK = 'go';
  readonly name = GoStackPlugin.PLUGIN_NAME;

  constructor(private readonly opts: GoStackOptions = {}) {}

  apply(sous: Sous): void {
    const stack = GoStackPlugin.STACK;
    sous.hooks.validate.tap(this.name, (config, report) => {
      report.errors.push(...checkStackOptions(stack, GO_OPTION_SPEC, this.opts, 'the goStack() options'), ...checkStackOptions(stack, GO_OPTION_SPEC, config.stacks[stack], 'the configuration'));
    });
    sous.hooks.detectStack.tapPromise(this.name, async (ws) => (fs.existsSync(path.join(ws.dir, 'go.mod')) ? stack : undefined));
    sous.hooks.buildPlan.for(stack).tapPromise(this.name, async (plan, ws) => {
      const opts = resolveStackOptions(stack, GO_OPTION_SPEC, this.opts, ws.config);
      return mergePlan(plan, goPlan(ws.dir, opts, collectCaCerts(ws.config), ws.config.build.args));
    });
  }
}

/** The go stack plugin, for `plugins` in sous.config.ts (its options under `stacks.go` win). */
export const goStack = (opts?: GoStackOptions): GoStackPlugin => new GoStackPlugin(opts);
