import { Flags } from '@oclif/core';
import { SousCommand, table } from '../../../base';

export default class TokenList extends SousCommand {
  static summary = 'List the server\'s tokens (names and scopes, never secrets).';
  static examples = ['<%= config.bin %> server token list'];
  static flags = { tokens: Flags.string({ description: 'the token file' }) };

  async run() {
    const { flags } = await this.parseFlags(TokenList);
    const { TokenStore, sousDir } = await import('@sous/server');
    const path = await import('node:path');
    const cfg = await this.config_();
    const tokens = await new TokenStore(flags.tokens ?? path.join(sousDir(cfg.stateLocation), 'tokens.json')).list();
    this.log(tokens.length ? table(['ID', 'NAME', 'SCOPE', 'CREATED'], tokens.map((t) => [t.id, t.name, t.scope, t.createdAt])).trimEnd() : 'No tokens.');
    return { tokens };
  }
}
