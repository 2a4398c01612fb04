import { SousCommand } from '../base';

export default class Version extends SousCommand {
  static summary = 'Print the Sous version.';
  static examples = ['<%= config.bin %> version', '<%= config.bin %> version --json'];

  async run() {
    await this.parseFlags(Version);
    const info = { version: this.config.version, node: process.version, platform: `${process.platform}-${process.arch}` };
    this.log(`sous ${info.version} (node ${info.node}, ${info.platform})`);
    return info;
  }
}
