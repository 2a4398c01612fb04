import { Flags } from '@oclif/core';
import { SousCommand } from '../base';
import { durationFlag } from '../flags';
import { createSous } from '../sous';

export default class Server extends SousCommand {
  static summary = 'Serve the GDM over HTTP and, with --autoresolver, rectify the clusters behind it.';
  static description = `The API the CLI uses when SOUS_SERVER is set (reads, manifest edits, deploys, queues, status, builds), with bearer tokens (sous server token create) and an audit trail of every write. A pushed semver tag of a registered repository becomes a build: GitHub push webhooks to POST /hooks/github (signed with the webhook secret) or polling (--poll) report new tags, and the server builds them one at a time (sous builds list). With --autoresolver the server rectifies its clusters right after each accepted write and on the resync interval, one pass at a time. Several servers can share one GDM through a git remote, each rectifying its own --cluster list; each records its --url in the GDM so the CLI finds the server of every cluster. SIGTERM finishes the actions in flight, then exits.`;
  static examples = [
    '<%= config.bin %> server --listen 127.0.0.1:7070 --autoresolver',
    '<%= config.bin %> server --listen 0.0.0.0:7070 --cluster prod-east --url https://sous-east.example.com --autoresolver',
    '<%= config.bin %> server -listen 127.0.0.1:7070 -cluster local -autoresolver',
    'SOUS_WEBHOOK_SECRET=$(cat /etc/sous/hook-secret) <%= config.bin %> server --autoresolver --poll 5m',
  ];
  static flags = {
    listen: Flags.string({ description: 'host:port to listen on', default: '127.0.0.1:7070' }),
    cluster: Flags.string({ char: 'c', description: 'a cluster this server rectifies (repeatable; default: all)', multiple: true }),
    autoresolver: Flags.boolean({ description: 'run the rectifier' }),
    url: Flags.string({ description: 'the URL others reach this server at (recorded for its clusters)' }),
    tokens: Flags.string({ description: 'the token file (default: inside the state directory, beside the GDM)' }),
    resync: durationFlag({ description: 'a full rectify pass at least this often (default 60s)' }),
    poll: durationFlag({ description: 'ask every registered repository for new tags this often (git ls-remote), for hosts without webhooks (default: tagBuilds.pollSeconds, 0 = never)', helpGroup: 'TAG BUILDS' }),
    'build-concurrency': Flags.integer({ description: 'tag builds run at once (default: tagBuilds.concurrency, 1)', min: 1, max: 16, helpGroup: 'TAG BUILDS' }),
    'webhook-secret-env': Flags.string({ description: 'the environment variable holding the secret push webhooks are signed with (default: webhookSecret, then SOUS_WEBHOOK_SECRET)', helpGroup: 'TAG BUILDS' }),
  };

  async run() {
    const { flags } = await this.parseFlags(Server);
    const { createServer } = await import('@sous/server');
    const { usageError, markSecret } = await import('@sous/core');
    const m = /^(.*):(\d+)$/.exec(flags.listen);
    if (!m) throw usageError('INVALID_LISTEN', `--listen ${JSON.stringify(flags.listen)} is not host:port`, { hints: ['--listen 127.0.0.1:7070'] });
    const config = await this.config_();
    let webhookSecret: string | undefined;
    if (flags['webhook-secret-env']) {
      webhookSecret = process.env[flags['webhook-secret-env']];
      if (!webhookSecret) throw usageError('WEBHOOK_SECRET_UNSET', `--webhook-secret-env: ${flags['webhook-secret-env']} is not set`, { hints: [`export ${flags['webhook-secret-env']}=$(openssl rand -hex 32)`] });
    }
    const secret = webhookSecret ?? config.webhookSecret;
    if (secret !== undefined && secret.length < 16) throw usageError('WEBHOOK_SECRET_SHORT', 'the webhook secret is shorter than 16 characters', { hints: ['Generate one: openssl rand -hex 32'] });
    if (secret) markSecret(secret);
    const logger = this.logger();
    const server = await createServer({
      config,
      sous: createSous(config, logger),
      logger,
      clusters: flags.cluster,
      autoresolver: flags.autoresolver,
      url: flags.url,
      tokensFile: flags.tokens,
      resyncMs: flags.resync,
      builds: { pollMs: flags.poll, concurrency: flags['build-concurrency'], webhookSecret },
      version: this.config.version,
    });
    const address = await server.app.listen({ host: m[1], port: Number(m[2]) });
    const tb = server.ctx.builds!.opts;
    const watching = [tb.webhookSecret ? 'webhooks' : '', tb.pollMs ? `polling every ${tb.pollMs / 1000}s` : ''].filter(Boolean).join(' and ');
    this.logToStderr(`sous server listening on ${address}${flags.autoresolver ? ', rectifying ' + (flags.cluster?.join(', ') ?? 'every cluster') : ''}${watching ? `; building pushed tags (${watching})` : ''}`);
    await new Promise<void>((resolve) => {
      // Kept installed (not once): signal-exit, loaded by the lock library, re-raises a signal when it sees no other listener.
      process.on('SIGTERM', () => resolve());
      process.on('SIGINT', () => resolve());
    });
    this.logToStderr('stopping: finishing the actions in flight');
    await server.close();
    return { address };
  }
}
