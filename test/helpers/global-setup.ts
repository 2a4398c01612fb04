/**
 * Integration tests run against a real Docker engine and OCI registry. This
 * starts them (scripts/local-engine.js) unless they already answer, hands their
 * addresses to the tests through the environment, and remembers what it
 * started so that global-teardown.ts stops only that.
 */
import * as path from 'node:path';

interface Engine {
  start(opts?: { registryPort?: number }): Promise<{ dockerHost: string; registry: string; startedEngine: boolean; startedRegistry: boolean }>;
}

export default async function globalSetup(): Promise<void> {
  if (process.env.SOUS_TEST_NO_ENGINE === '1') return;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const engine = require(path.resolve(__dirname, '../../scripts/local-engine.js')) as Engine;
  const r = await engine.start();
  // Test workers are forked after this, so they inherit these.
  process.env.DOCKER_HOST = r.dockerHost;
  process.env.SOUS_TEST_DOCKER_HOST = r.dockerHost;
  process.env.SOUS_TEST_REGISTRY = r.registry;
  (globalThis as { __sousEngine?: unknown }).__sousEngine = { startedEngine: r.startedEngine, startedRegistry: r.startedRegistry };
}
