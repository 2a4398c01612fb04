import { Args, Flags } from '@oclif/core';
import { SousCommand } from '../../base';
import { buildServer } from '../../builds';

const FINAL = ['built', 'skipped', 'failed', 'cancelled'];

export default class BuildsLog extends SousCommand {
  static summary = "Print a build's log: its phases, the builder's progress, and how it ended.";
  static examples = ['<%= config.bin %> builds log 0m1x2k3a4-1a2b3c', '<%= config.bin %> builds log 0m1x2k3a4-1a2b3c --follow'];
  static args = { id: Args.string({ description: 'the build id (sous builds list)', required: true }) };
  static flags = {
    follow: Flags.boolean({ char: 'f', description: 'keep printing until the build ends' }),
  };

  async run() {
    const { args, flags } = await this.parseFlags(BuildsLog);
    const client = await buildServer(await this.serverClient());
    const path = `/builds/${encodeURIComponent(args.id)}/log`;
    let offset = 0;
    let all = '';
    let state = '';
    for (;;) {
      const r = (await client.request<{ text: string; size: number; state: string }>('GET', path, { query: { offset: String(offset) } })).body;
      if (r.text) {
        if (!this.jsonEnabled()) process.stdout.write(r.text);
        all += r.text;
      }
      offset = r.size;
      state = r.state;
      if (!flags.follow || FINAL.includes(state)) break;
      await new Promise((res) => setTimeout(res, 1000));
    }
    return { id: args.id, state, log: all };
  }
}
