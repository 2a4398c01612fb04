import { Args, Flags } from '@oclif/core';
import { SousCommand } from '../../../base';

export default class TokenRevoke extends SousCommand {
  static summary = 'Revoke a token by id or name.';
  static examples = ['<%= config.bin %> server token revoke ci'];
  static args = { token: Args.string({ description: 'the token id or name', required: true }) };
  static flags = { tokens: Flags.string({ description: 'the token file' }) };

  async run() {
    const { flags, args } = await this.parseFlags(TokenRevoke);
    // The token store alone: loading all of @sous/server (fastify and the build queue) is not needed here.
    const { TokenStore, tokensFileFor } = await import('@sous/server/dist/auth');
    const { usageError } = await import('@sous/core');
    const cfg = await this.config_();
    const n = await new TokenStore(flags.tokens ?? tokensFileFor(cfg.stateLocation)).revoke(args.token);
    if (!n) throw usageError('TOKEN_NOT_FOUND', `no token ${JSON.stringify(args.token)}`, { hints: ['List them: sous server token list'] });
    this.log(`Revoked ${n} token(s).`);
    return { revoked: n };
  }
}
