import type { ResolvedConfig } from './config/types';
import type { SousPlugin } from './hooks/plugin';
import { CoreVerifyPlugin } from './deploy/verify-plugin';
import { coreNotifyPlugins } from './events/console-notifier';
import { MemorySchedulerPlugin } from './rectify/memory-scheduler';

/**
 * Core's defaults, applied from the resolved configuration by `Sous.create`:
 * the deploy checks, the console notifier, and the `memory` cluster kind (a
 * scheduler that keeps deployments in the process: for trying Sous out with
 * a long-running server, and for tests).
 */
export function internalPlugins(config: ResolvedConfig): SousPlugin[] {
  void config;
  return [new CoreVerifyPlugin(), ...coreNotifyPlugins(), new MemorySchedulerPlugin()];
}
