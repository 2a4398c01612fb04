import { Flags } from '@oclif/core';
import { SousCommand } from '../base';

export default class Context extends SousCommand {
  static summary = 'Show what Sous sees in the current directory: repo, offset, revision, version, advisories.';
  static examples = ['<%= config.bin %> context', '<%= config.bin %> context --tag 1.2.0 --json'];
  static flags = {
    tag: Flags.string({ char: 't', description: 'the version tag to describe (default: the semver tag on HEAD)' }),
    dev: Flags.boolean({ description: 'a developer build' }),
  };

  async run() {
    const { flags } = await this.parseFlags(Context);
    const { readSourceContext } = await import('@sous/core');
    const c = await readSourceContext({ dir: process.cwd(), tag: flags.tag, dev: flags.dev });
    const rows: [string, string][] = [
      ['Repo', c.repo],
      ['Offset', c.offset || '(root)'],
      ['Revision', c.revision],
      ['Version', c.version ?? '(none: no semver tag)'],
      ['Tag', c.tag ?? '-'],
      ['Commit time', c.commitTime],
      ['Dirty', c.dirty ? 'yes' : 'no'],
      ['Pushed', c.pushed ? 'yes' : 'no'],
      ['Advisories', c.advisories.join(', ') || 'none'],
    ];
    const w = Math.max(...rows.map((r) => r[0].length));
    this.log(rows.map(([k, v]) => `${k.padEnd(w)}  ${v}`).join('\n'));
    return c;
  }
}
