import { Flags } from '@oclif/core';
import { SousCommand, table } from '../../../base';

export default class TokenList extends SousCommand {
  static summary = 'List the server\'s tokens (names and scopes, never secrets).';
  static examples = ['<%= config.bin %> server token list'];
  static flags = { tokens: Flags.string({ description: 'the token file' }) };

  async run() {
    const { flags } = await this.parseFlags(TokenList);
    // The token store alone: loading all of @sous/server (fastify and the build queue) is not needed here.
    const { TokenStore, tokensFileFor } = await import('@sous/server/dist/auth');
    const cfg = await this.config_();
    const tokens = await new TokenStore(flags.tokens ?? tokensFileFor(cfg.stateLocation)).list();
    this.log(tokens.length ? table(['ID', 'NAME', 'SCOPE', 'CREATED', 'EXPIRES'], tokens.map((t) => [t.id, t.name, t.scope, t.createdAt, t.expiresAt ?? '-'])).trimEnd() : 'No tokens.');
    return { tokens };
  }
}
