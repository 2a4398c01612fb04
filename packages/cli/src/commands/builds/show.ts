import { Args } from '@oclif/core';
import { SousCommand } from '../../base';
import { type BuildDoc, buildServer } from '../../builds';

export default class BuildsShow extends SousCommand {
  static summary = 'Show one build of a pushed tag: its state, what it made, and its auto-deploys.';
  static examples = ['<%= config.bin %> builds show 0m1x2k3a4-1a2b3c', '<%= config.bin %> builds show 0m1x2k3a4-1a2b3c --json'];
  static args = { id: Args.string({ description: 'the build id (sous builds list)', required: true }) };

  async run() {
    const { args } = await this.parseFlags(BuildsShow);
    const client = await buildServer(await this.serverClient());
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
