import type { Sous } from '../hooks/sous';
import type { SousPlugin } from '../hooks/plugin';
import { collectCaCerts, type CaBundle } from './ca';
import { checkStackOptions, mergePlan, resolveStackOptions, type StackOptionSpec } from './stack-options';
import type { BuildPlan, Workspace } from './types';

/**
 * What every stack plugin does, once: checks its options (the factory's and
 * `stacks.<stack>` from the config) in `validate`, claims a workspace in
 * `detectStack`, and plans the build in `buildPlan.for(stack)` with its
 * options resolved and the extra CA certificates collected. A stack says
 * only how to recognise its sources and what to build them with.
 */
export abstract class StackPlugin<O extends object> implements SousPlugin {
  abstract readonly name: string;
  /** The stack's id, as `detectStack` answers it and `stack` in the config names it. */
  abstract readonly stack: string;
  protected abstract readonly spec: StackOptionSpec;

  constructor(protected readonly opts: O = {} as O) {}

  /** Whether the application directory holds this stack's sources. */
  protected abstract detect(dir: string): boolean;

  /** The stack's part of the build plan. */
  protected abstract plan(ws: Workspace, opts: O, ca: CaBundle | undefined): Partial<BuildPlan>;

  apply(sous: Sous): void {
    sous.hooks.validate.tap(this.name, (config, report) => {
      report.errors.push(...checkStackOptions(this.stack, this.spec, this.opts, `the ${this.stack}Stack() options`), ...checkStackOptions(this.stack, this.spec, config.stacks[this.stack], 'the configuration'));
    });
    sous.hooks.detectStack.tapPromise(this.name, async (ws) => (this.detect(ws.dir) ? this.stack : undefined));
    sous.hooks.buildPlan.for(this.stack).tapPromise(this.name, async (plan, ws) => {
      const opts = resolveStackOptions(this.stack, this.spec, this.opts, ws.config);
      return mergePlan(plan, this.plan(ws, opts, collectCaCerts(ws.config)));
    });
  }
}
