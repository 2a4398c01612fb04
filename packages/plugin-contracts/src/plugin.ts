import type { ContractReport, Sous, SousPlugin } from '@sous/core';
import { engineFor } from './engine';
import { checkContractsOptions, contractsFile, resolveOptions, type ContractsOptions } from './options';
import { runContracts } from './run';
import { startupSettings } from './startup';

/**
 * Runs the contracts against each built image before it may be pushed:
 * standard ones for its kind (http-service, worker) and the application's own
 * from `contracts` in sous.config.ts. Failures go into the report; core then
 * stops the build with CONTRACT_FAILED.
 */
export class ContractsPlugin implements SousPlugin {
  static readonly PLUGIN_NAME = 'sous:contracts';
  readonly name = ContractsPlugin.PLUGIN_NAME;

  constructor(private readonly opts: ContractsOptions = {}) {}

  apply(sous: Sous): void {
    sous.hooks.validate.tap(this.name, (config, report) => {
      report.errors.push(...checkContractsOptions(this.opts, { label: 'contracts() options' }));
      report.errors.push(...checkContractsOptions(config.contracts, { file: contractsFile(config), label: 'contracts' }));
    });
    sous.hooks.testImage.tapPromise(this.name, async (report: ContractReport) => {
      const options = resolveOptions(this.opts, sous.config.contracts);
      const settings = startupSettings(report, options);
      const logger = sous.context(this.name).logger;
      const results = await runContracts({ engine: engineFor(sous.config.dockerHost), image: report.image, kind: report.kind, settings, options, logger, registries: sous.config });
      report.results.push(...results);
    });
  }
}

/** The contracts plugin, for `plugins` in sous.config.ts (the CLI applies it by default). */
export const contracts = (opts?: ContractsOptions): ContractsPlugin => new ContractsPlugin(opts);
