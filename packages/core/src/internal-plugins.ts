import type { ResolvedConfig } from './config/types';
import type { SousPlugin } from './hooks/plugin';
import { CoreVerifyPlugin } from './deploy/verify-plugin';

/** Core's defaults, applied from the resolved configuration by `Sous.create`. */
export function internalPlugins(config: ResolvedConfig): SousPlugin[] {
  void config;
  return [new CoreVerifyPlugin()];
}
