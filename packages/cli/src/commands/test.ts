import { Flags } from '@oclif/core';
import { SousCommand, filterFlags } from '../base';
import { createSous } from '../sous';

export default class Test extends SousCommand {
  static summary = 'Run the contracts again against a version that was already built.';
  static description = `Finds the version's image in the artifact index, pulls it by digest when the local engine lacks it, and runs the same contracts the build ran: the standard ones for the manifest's kind and the custom ones in sous.config.ts. Prints the results (with --json, returns them) and exits 1 when any failed. Changes nothing in the GDM.`;
  static examples = [
    '<%= config.bin %> test --tag 1.2.0',
    '<%= config.bin %> test --tag 1.2.0 --repo github.com/acme/shop --offset api',
    '<%= config.bin %> test -t 1.2.0 --json',
  ];
  static flags = {
    tag: Flags.string({ char: 't', required: true, description: 'the version to test (built before by sous build)' }),
    repo: filterFlags.repo,
    offset: filterFlags.offset,
    flavor: filterFlags.flavor,
    source: filterFlags.source,
  };
  protected readsRepoConfig = true;

  async run() {
    const { flags } = await this.parseFlags(Test);
    const core = await import('@sous/core');
    const { renderContractResults } = await import('@sous/plugin-contracts');
    const id = await this.manifestID(flags);
    const version = core.parseVersion(flags.tag).raw;
    const source = core.formatSourceLocation(id.source);
    const backend = await this.backend();
    const record = await backend.artifact(id.source, version);
    if (!record) {
      throw core.usageError('ARTIFACT_NOT_FOUND', `${source} ${version} was never built: the artifact index has no record of it`, {
        hints: [`Build it first: sous build --tag ${version}`, `See the versions built: sous query artifacts --repo ${id.source.repo}${id.source.dir ? ` --offset ${id.source.dir}` : ''}`],
      });
    }
    const state = await backend.read();
    const manifests = [...state.manifests.values()].map((m) => m.manifest).filter((m) => m.Source === source);
    const manifest = manifests.find((m) => (m.Flavor ?? '') === id.flavor) ?? (flags.flavor === undefined ? manifests[0] : undefined);
    if (flags.flavor !== undefined && !manifest) {
      throw core.usageError('MANIFEST_NOT_FOUND', `${source} has no manifest with flavor ${JSON.stringify(flags.flavor)}`, {
        hints: [manifests.length ? `flavors: ${manifests.map((m) => JSON.stringify(m.Flavor ?? '')).join(', ')}` : 'Drop --flavor'],
      });
    }
    const config = await this.config_();
    const sous = createSous(config, this.logger());
    const reference = `${record.Image}@${record.Digest}`;
    const report: import('@sous/core').ContractReport = {
      // No engine id: the contracts plugin runs (and if need be pulls) the image by its digest.
      image: { id: '', name: record.Image, tags: (record.Tags ?? []).map((t) => `${record.Image}:${t}`), labels: record.Labels ?? {}, contentKey: record.ContentKey ?? '', digest: record.Digest },
      kind: manifest?.Kind ?? 'http-service',
      manifest,
      results: [],
      clusters: state.defs.Clusters ?? {},
    };
    if (!this.jsonEnabled()) process.stderr.write(`Testing ${source} ${version} (${reference}) as ${report.kind}\n`);
    await sous.hooks.testImage.promise(report);
    const results = report.results;
    if (!this.jsonEnabled()) process.stdout.write(renderContractResults(results, { tty: process.stdout.isTTY, columns: process.stdout.columns }));
    const failed = results.filter((r) => r.status === 'failed');
    if (failed.length) {
      throw new core.SousError(
        'CONTRACT_FAILED',
        `${failed.length} contract(s) failed on ${source} ${version}: ${failed.map((f) => `${f.name}: expected ${f.expected ?? '?'}, got ${f.actual ?? f.message ?? '?'}`).join('; ')}`,
        {
          hints: ['The container logs of each failure are above (with --json: in details.contracts[].logs)'],
          details: { source, version, reference, codes: failed.map((f) => (f as { code?: string }).code).filter(Boolean), contracts: results },
        },
      );
    }
    return { source, version, reference, kind: report.kind, contracts: results };
  }
}
