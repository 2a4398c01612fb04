import type { ResolvedConfig } from './config/types';
import type { SousPlugin } from './hooks/plugin';
import { CoreVerifyPlugin } from './deploy/verify-plugin';
import { coreNotifyPlugins } from './events/console-notifier';

/** Core's defaults, applied from the resolved configuration by `Sous.create`. */
export function internalPlugins(config: ResolvedConfig): SousPlugin[] {
  void config;
  return [new CoreVerifyPlugin(), ...coreNotifyPlugins()];
}
