import { Flags } from '@oclif/core';
import { SousCommand } from '../../../base';
import { durationFlag } from '../../../flags';

export default class TokenCreate extends SousCommand {
  static summary = 'Make a bearer token for the Sous server.';
  static description = 'Prints the token once; only its hash is stored. Scopes: read (GET), deploy (manifests, artifacts, deploys, rectify), admin (everything, including defs and servers).';
  static examples = ['<%= config.bin %> server token create --name ci --scope deploy', '<%= config.bin %> server token create --name dashboards --scope read --json', '<%= config.bin %> server token create --name oncall --scope read --expires 12h'];
  static flags = {
    name: Flags.string({ description: 'who uses it (recorded as the author of their writes)', required: true }),
    scope: Flags.string({ description: 'what it may do', options: ['read', 'deploy', 'admin'], required: true }),
    email: Flags.string({ description: 'the email recorded with their writes' }),
    tokens: Flags.string({ description: 'the token file (default: the server\'s, inside the state directory)' }),
    expires: durationFlag({ description: 'the token stops working after this long (e.g. 12h, 30d); default: never' }),
  };

  async run() {
    const { flags } = await this.parseFlags(TokenCreate);
    // The token store alone: loading all of @sous/server (fastify and the build queue) is not needed here.
    const { TokenStore, tokensFileFor } = await import('@sous/server/dist/auth');
    const cfg = await this.config_();
    const store = new TokenStore(flags.tokens ?? tokensFileFor(cfg.stateLocation));
    const t = await store.create(flags.name, flags.scope as 'read' | 'deploy' | 'admin', flags.email, flags.expires ? { expiresAt: new Date(Date.now() + flags.expires).toISOString() } : {});
    this.log(t.token);
    this.logToStderr(`Token ${t.id} for ${t.name} (${t.scope}${t.expiresAt ? `, until ${t.expiresAt}` : ''}). Keep it secret: it is not shown again.`);
    return t;
  }
}
