import { Flags } from '@oclif/core';
import { SousCommand, filterFlags, table } from '../../base';
import { type BuildDoc, buildServer } from '../../builds';

export default class BuildsList extends SousCommand {
  static summary = 'List the builds the server made of pushed tags, newest first.';
  static description = 'Each pushed semver tag of a registered repository is one build job on the Sous server (SOUS_SERVER, with a read token in SOUS_TOKEN): queued, running, built, skipped (already built), failed or cancelled (the tag was deleted or moved before the build started).';
  static examples = ['<%= config.bin %> builds list', '<%= config.bin %> builds list --repo github.com/acme/shop --state failed', '<%= config.bin %> builds list --json --limit 5'];
  static flags = {
    repo: filterFlags.repo,
    offset: filterFlags.offset,
    state: Flags.string({ description: 'only builds in these states (comma-separated: queued,running,built,skipped,failed,cancelled)' }),
    limit: Flags.integer({ description: 'at most this many', default: 20, min: 1, max: 1000 }),
  };

  async run() {
    const { flags } = await this.parseFlags(BuildsList);
    const client = await buildServer(await this.serverClient());
    const r = await client.request<{ builds: BuildDoc[]; total: number }>('GET', '/builds', {
      query: { repo: flags.repo, offset: flags.offset, state: flags.state, limit: String(flags.limit) },
    });
    const builds = r.body.builds;
    this.log(
      builds.length
        ? table(
            ['ID', 'SOURCE', 'TAG', 'STATE', 'CREATED', 'DETAIL'],
            builds.map((b) => [b.id, b.source, b.tag, b.state, b.createdAt.replace(/\.\d+Z$/, 'Z'), b.error ? `${b.error.code}: ${b.error.message}` : (b.reason ?? b.result?.reference ?? b.phase?.name ?? '')]),
          ).trimEnd()
        : 'No builds.',
    );
    return { builds, total: r.body.total };
  }
}
