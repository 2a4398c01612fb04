import { Flags } from '@oclif/core';
import { SousCommand, filterFlags, table } from '../../base';
import type { ServerClient } from '@sous/core';

/** A build job as GET /builds/:id answers. */
interface BuildDoc {
  id: string;
  source: string;
  tag: string;
  version: string;
  commit: string;
  state: string;
  reason?: string;
  trigger: string;
  delivery?: string;
  author?: { name: string; email: string };
  attempts: number;
  interruptions: number;
  createdAt: string;
  finishedAt?: string;
  phase?: { name: string; status: string };
  result?: { reference: string; digest: string; signature?: { tag: string; keyId: string } };
  error?: { code: string; message: string };
  removed?: string[];
  autoDeploy?: { cluster: string; status: string; message: string; code?: string }[];
}

/** The configured Sous server: builds of pushed tags live only there. */
async function server(client: ServerClient | undefined): Promise<ServerClient> {
  if (client) return client;
  const { usageError } = await import('@sous/core');
  throw usageError('NO_SERVER', 'builds of pushed tags are kept by the Sous server, and none is configured', {
    hints: ['Set SOUS_SERVER=http://host:7070 and SOUS_TOKEN (a read token is enough)'],
  });
}

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
    const client = await server(await this.serverClient());
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
