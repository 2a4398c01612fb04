/** Stops the engine and registry only when global-setup.ts started them. */
import * as path from 'node:path';

interface Engine {
  stopEngine(): Promise<void>;
  stopRegistry(): Promise<void>;
}

export default async function globalTeardown(): Promise<void> {
  const started = (globalThis as { __sousEngine?: { startedEngine: boolean; startedRegistry: boolean } }).__sousEngine;
  if (!started) return;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const engine = require(path.resolve(__dirname, '../../scripts/local-engine.js')) as Engine;
  if (started.startedRegistry) await engine.stopRegistry();
  if (started.startedEngine) await engine.stopEngine();
}
