import { Args } from '@oclif/core';
import { SousCommand } from '../../base';
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

export default class BuildsShow extends SousCommand {
  static summary = 'Show one build of a pushed tag: its state, what it made, and its auto-deploys.';
  static examples = ['<%= config.bin %> builds show 0m1x2k3a4-1a2b3c', '<%= config.bin %> builds show 0m1x2k3a4-1a2b3c --json'];
  static args = { id: Args.string({ description: 'the build id (sous builds list)', required: true }) };

  async run() {
    const { args } = await this.parseFlags(BuildsShow);
    const client = await server(await this.serverClient());
    const b = (await client.request<BuildDoc>('GET', `/builds/${encodeURIComponent(args.id)}`)).body;
    const lines: [string, string | undefined][] = [
      ['build', b.id],
      ['source', `${b.source} ${b.tag} (${b.version}) at ${b.commit.slice(0, 12)}`],
      ['state', `${b.state}${b.reason ? `: ${b.reason}` : ''}`],
      ['trigger', `${b.trigger}${b.delivery ? ` (delivery ${b.delivery})` : ''}`],
      ['author', b.author ? `${b.author.name} <${b.author.email}>` : undefined],
      ['attempts', `${b.attempts}${b.interruptions ? ` (${b.interruptions} interrupted)` : ''}`],
      ['created', b.createdAt],
      ['finished', b.finishedAt],
      ['phase', b.state === 'running' && b.phase ? `${b.phase.name} ${b.phase.status}` : undefined],
      ['image', b.result?.reference],
      ['signature', b.result?.signature ? `${b.result.signature.tag} (key ${b.result.signature.keyId})` : undefined],
      ['error', b.error ? `${b.error.message}  [${b.error.code}]` : undefined],
      ['removed', b.removed?.length ? b.removed.join(', ') : undefined],
    ];
    for (const a of b.autoDeploy ?? []) lines.push([`deploy ${a.cluster}`, `${a.status}: ${a.message}${a.code ? `  [${a.code}]` : ''}`]);
    const width = Math.max(...lines.map(([k]) => k.length));
    for (const [k, v] of lines) if (v !== undefined) this.log(`${k.padEnd(width)}  ${v}`);
    return b;
  }
}
