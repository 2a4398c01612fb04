import { failure, isSousError, type BuiltImage, type Logger, type RegistryConfig } from '@sous/core';
import { CONTRACT_CODES } from './codes';
import { removeStrayContainers } from './cleanup';
import { ContractContainer, freePorts, StartFailed } from './container';
import { commandContract, httpContract } from './custom';
import { engineMessage, ensureImage, imageRef, isUnreachable, unreachable, type Engine } from './engine';
import { commandContractName, httpContractName, STANDARD_CONTRACTS, type ResolvedContractsOptions, type StandardContract } from './options';
import { Results, type ContractOutcome } from './result';
import { imageContracts, startupContracts, staysUp, stopsOnSigterm } from './standard';
import type { StartupSettings } from './startup';

/** Kinds that serve HTTP on PORT0 for as long as they run. */
export const SERVICE_KINDS: readonly string[] = ['http-service', 'on-demand'];
/** Kinds that run until stopped, serving nothing. */
export const WORKER_KINDS: readonly string[] = ['worker'];

export interface RunInput {
  engine: Engine;
  image: BuiltImage;
  kind: string;
  settings: StartupSettings;
  options: ResolvedContractsOptions;
  logger?: Logger;
  /** The config's registry settings: the credentials an image not on the engine is pulled with. */
  registries?: RegistryConfig;
}

const RUNTIME: Record<'service' | 'worker', StandardContract[]> = {
  service: ['port-answers-http', 'readiness', 'stops-on-sigterm'],
  worker: ['stays-up', 'stops-on-sigterm'],
};

/**
 * Runs every contract for the image's kind; the container is removed whatever
 * happens. The image's faults are results; the engine's are thrown
 * (ENGINE_UNREACHABLE, ENGINE_ERROR, IMAGE_NOT_FOUND, IMAGE_PULL_FAILED).
 */
export async function runContracts(input: RunInput): Promise<ContractOutcome[]> {
  try {
    return await run(input);
  } catch (e) {
    if (isSousError(e)) throw e;
    if (isUnreachable(e)) throw unreachable(input.engine, e);
    throw failure('ENGINE_ERROR', `the Docker engine at ${input.engine.host} failed a contract step: ${engineMessage(e)}`, { cause: e });
  }
}

async function run(input: RunInput): Promise<ContractOutcome[]> {
  const { engine, image, kind, options } = input;
  const results = new Results();
  // Containers of killed runs are removed on the side; failing to is no reason to fail the contracts.
  const sweep = removeStrayContainers(engine.docker).catch(() => [] as string[]);
  const info = await ensureImage(engine, image, input.registries);
  imageContracts(info, results, options.disable);
  const mode = SERVICE_KINDS.includes(kind) ? 'service' : WORKER_KINDS.includes(kind) ? 'worker' : undefined;
  if (mode) await runContainer(input, mode, results);
  else {
    const why = `a ${kind} runs to completion; runtime contracts need a long-running process`;
    for (const h of options.http) results.skipped(httpContractName(h), why);
    for (const c of options.commands) results.skipped(commandContractName(c), why);
  }
  const swept = await sweep;
  if (swept.length) input.logger?.info(`removed ${swept.length} contract container(s) left by interrupted runs`);
  return ordered(results.list, options);
}

async function startContainer(input: RunInput, ports: number[]): Promise<{ c: ContractContainer; ports: number[] }> {
  const { settings: st } = input;
  for (let attempt = 0; ; attempt++) {
    const env: Record<string, string> = { ...st.env, ...input.options.env };
    ports.forEach((p, i) => (env[`PORT${i}`] = String(p)));
    env.PORT = String(ports[0]);
    env.TASK_HOST = '127.0.0.1';
    try {
      const c = await ContractContainer.start(input.engine, {
        image: imageRef(input.image),
        imageRef: input.image.digest ? `${input.image.name}@${input.image.digest}` : (input.image.tags[0] ?? imageRef(input.image)),
        env,
        cmd: st.args,
        ports,
      });
      return { c, ports };
    } catch (e) {
      // Another process took a port between choosing and binding it: choose again.
      if (e instanceof StartFailed && (e as StartFailed & { portClash?: boolean }).portClash && attempt < 3) {
        ports = await freePorts(ports.length);
        continue;
      }
      throw e;
    }
  }
}

async function runContainer(input: RunInput, mode: 'service' | 'worker', results: Results): Promise<void> {
  const { options, settings: st, kind } = input;
  const t0 = Date.now();
  let started: { c: ContractContainer; ports: number[] };
  try {
    started = await startContainer(input, await freePorts(st.ports));
  } catch (e) {
    if (!(e instanceof StartFailed)) throw e;
    const names = RUNTIME[mode].filter((n) => !options.disable.has(n));
    results.failed(names[0] ?? 'container-starts', CONTRACT_CODES.containerStartFailed, { expected: 'the container starts', actual: e.message, message: e.message, since: t0 });
    for (const n of RUNTIME[mode]) if (n !== names[0]) results.skipped(n, options.disable.has(n) ? 'disabled in the contracts config' : 'the container did not start');
    for (const h of options.http) results.skipped(httpContractName(h), 'the container did not start');
    for (const c of options.commands) results.skipped(commandContractName(c), 'the container did not start');
    return;
  }
  const { c, ports } = started;
  input.logger?.debug(`contract container ${c.name} (${c.id.slice(0, 12)}) on 127.0.0.1:${ports.join(',')}`);
  try {
    let go: boolean;
    let why: string;
    if (mode === 'service') {
      go = (await startupContracts(c, ports, st, options, results, options.http.length > 0)) && !c.exit;
      why = c.exit ? 'the container exited' : 'the service never became ready';
    } else {
      for (const h of options.http) results.skipped(httpContractName(h), 'a worker serves no HTTP');
      go = await staysUp(c, options, results);
      why = 'the container exited';
    }
    await Promise.all([
      ...(mode === 'service' ? options.http : []).map((h) => (go ? httpContract(h, ports[0], st, results) : results.skipped(httpContractName(h), why))),
      ...options.commands.map((cmd) => (go ? commandContract(cmd, c, results) : results.skipped(commandContractName(cmd), why))),
    ]);
    await stopsOnSigterm(c, kind, options, results);
    const failed = results.list.filter((r) => r.status === 'failed' && r.name !== 'image-labels');
    if (failed.length) {
      const logs = await c.logs(options.logLines);
      for (const r of failed) r.logs = logs;
    }
  } finally {
    await c.remove();
  }
}

/** Standard contracts in their fixed order, custom ones as configured, the stop last. */
function ordered(list: ContractOutcome[], options: ResolvedContractsOptions): ContractOutcome[] {
  const names = [
    ...STANDARD_CONTRACTS.filter((n) => n !== 'stops-on-sigterm'),
    'container-starts',
    ...options.http.map(httpContractName),
    ...options.commands.map(commandContractName),
    'stops-on-sigterm',
  ];
  const rank = (n: string) => {
    const i = names.indexOf(n);
    return i < 0 ? names.length : i;
  };
  return [...list].sort((a, b) => rank(a.name) - rank(b.name));
}
