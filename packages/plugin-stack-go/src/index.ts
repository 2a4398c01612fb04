import * as fs from 'node:fs';
import * as path from 'node:path';
import { StackPlugin, type BuildPlan, type CaBundle, type Workspace } from '@sous/core';
import { GO_OPTION_SPEC, type GoStackOptions } from './options';
import { goPlan } from './plan';

export { GO_DEFAULTS, GO_OPTION_SPEC, type GoStackOptions } from './options';
export { goPlan, type GoPlan } from './plan';
export { mainPackage, readGoMod, type GoMod } from './gomod';

/**
 * The go stack: a module (go.mod) is built with the go version it names into
 * a static binary, which alone goes onto a minimal run image as a non-root user.
 */
export class GoStackPlugin extends StackPlugin<GoStackOptions> {
  static readonly PLUGIN_NAME = 'sous:stack-go';
  static readonly STACK = 'go';
  readonly name = GoStackPlugin.PLUGIN_NAME;
  readonly stack = GoStackPlugin.STACK;
  protected readonly spec = GO_OPTION_SPEC;

  protected detect(dir: string): boolean {
    return fs.existsSync(path.join(dir, 'go.mod'));
  }

  protected plan(ws: Workspace, opts: GoStackOptions, ca: CaBundle | undefined): Partial<BuildPlan> {
    return goPlan(ws.dir, opts, ca, ws.config.build.args);
  }
}

/** The go stack plugin, for `plugins` in sous.config.ts (its options under `stacks.go` win). */
export const goStack = (opts?: GoStackOptions): GoStackPlugin => new GoStackPlugin(opts);
