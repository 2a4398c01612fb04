import { Flags } from '@oclif/core';
import { SousCommand } from '../../../base';

export default class TokenCreate extends SousCommand {
  static summary = 'Make a bearer token for the Sous server.';
  static description = 'Prints the token once; only its hash is stored. Scopes: read (GET), deploy (manifests, artifacts, deploys, rectify), admin (everything, including defs and servers).';
  static examples = ['<%= config.bin %> server token create --name ci --scope deploy', '<%= config.bin %> server token create --name dashboards --scope read --json'];
  static flags = {
    name: Flags.string({ description: 'who uses it (recorded as the author of their writes)', required: true }),
    scope: Flags.string({ description: 'what it may do', options: ['read', 'deploy', 'admin'], required: true }),
    email: Flags.string({ description: 'the email recorded with their writes' }),
    tokens: Flags.string({ description: 'the token file (default: the server\'s, inside the state directory)' }),
  };

  async run() {
    const { flags } = await this.parseFlags(TokenCreate);
    // The token store alone: loading all of @sous/server (fastify and the build queue) is not needed here.
    const { TokenStore, tokensFileFor } = await import('@sous/server/dist/auth');
    const cfg = await this.config_();
    const store = new TokenStore(flags.tokens ?? tokensFileFor(cfg.stateLocation));
    const t = await store.create(flags.name, flags.scope as 'read' | 'deploy' | 'admin', flags.email);
    this.log(t.token);
    this.logToStderr(`Token ${t.id} for ${t.name} (${t.scope}). Keep it secret: it is not shown again.`);
    return t;
  }
}
