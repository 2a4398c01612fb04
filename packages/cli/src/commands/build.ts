import { Args, Flags } from '@oclif/core';
import { SousCommand } from '../base';
import { createSous } from '../sous';
import { taskList } from '../ui/tasks';

export default class Build extends SousCommand {
  static summary = 'Build, test, sign and publish the image of a version of the application.';
  static description = `Builds the image from the source at the version tag (a clean checkout of the tag's commit, never the working tree), by the stack's conventions (node, go, java) or the application's own Dockerfile. Contracts run against the image while it is pushed under the build's own revision tag; only when they pass is it given the version tag, signed and pre-cached in the clusters its manifest targets, and recorded in the artifact index as deployable. A version already built is not built again (--force does).`;
  static examples = [
    '<%= config.bin %> build --tag 1.2.0',
    '<%= config.bin %> build -tag 1.2.0 examples/hello-node',
    '<%= config.bin %> build --dev            # the working tree, marked as a developer build',
    '<%= config.bin %> build --tag 1.2.0 --strict --json',
  ];
  static args = { path: Args.string({ description: 'the application directory (default: the current one)', default: '.' }) };
  static flags = {
    tag: Flags.string({ char: 't', description: 'the version tag to build (default: the semver tag on HEAD)' }),
    dev: Flags.boolean({ description: 'build the working tree as a developer build, with no version tag needed' }),
    strict: Flags.boolean({ description: 'fail when the build would carry any advisory' }),
    force: Flags.boolean({ description: 'build again even if this version was already built' }),
  };
  protected readsRepoConfig = true;

  async run() {
    const { flags, args } = await this.parseFlags(Build);
    const { build, findBuilt, parseVersion, readSourceContext, STAGE } = await import('@sous/core');
    const path = await import('node:path');
    const dir = path.resolve(args.path);
    process.chdir(dir);
    // The git facts need no config: reading them overlaps loading it and the plugins.
    const source = readSourceContext({ dir, tag: flags.tag, dev: flags.dev });
    source.catch(() => undefined);
    const config = await this.config_();
    const backend = this.backend();
    backend.catch(() => undefined);
    const ui = taskList(process.stderr, this.jsonEnabled());
    // A version built before is answered without loading the build's plugins at all.
    const known = !flags.force && !flags.dev ? await source.then(async (ctx) => (ctx.version ? findBuilt(await backend, ctx, parseVersion(ctx.version).raw) : undefined), () => undefined) : undefined;
    if (known) {
      ui.phase('source', 'done', 'already built');
      ui.close();
      this.log(`${known.source} ${known.version} was already built: ${known.reference} (use --force to build it again)`);
      return known;
    }
    const sous = createSous(config, this.logger());
    // The contract results, as the last tap sees them, shown under the test phase.
    let contracts: import('@sous/core').ContractResult[] = [];
    sous.hooks.testImage.tap({ name: 'sous:cli', stage: STAGE.ENFORCE }, (report) => void (contracts = report.results));
    const showContracts = () => {
      if (!contracts.length || this.jsonEnabled()) return;
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { renderContractResults } = require('@sous/plugin-contracts') as typeof import('@sous/plugin-contracts');
      process.stderr.write(renderContractResults(contracts, { tty: process.stderr.isTTY, columns: process.stderr.columns }));
    };
    try {
      const r = await build(sous, {
        dir,
        tag: flags.tag,
        dev: flags.dev,
        strict: flags.strict,
        force: flags.force,
        backend: await backend,
        user: await this.user(),
        source,
        observer: {
          phase: (p, s, d) => {
            ui.phase(p, s, d);
            if (p === 'test' && (s === 'done' || s === 'fail')) showContracts();
          },
          progress: (p) => ui.progress(p.message),
        },
      });
      ui.close();
      if (r.status === 'already-built') this.log(`${r.source} ${r.version} was already built: ${r.reference} (use --force to build it again)`);
      else this.log(`Built ${r.source} ${r.version}: ${r.reference}${r.advisories.length ? `\nAdvisories: ${r.advisories.join(', ')}` : ''}`);
      return r;
    } finally {
      ui.close();
    }
  }
}
