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
    '<%= config.bin %> server --listen 0.0.0.0:7070 --autoresolver --legacy-api --legacy-trust 10.0.0.0/8',
    '<%= config.bin %> server -gdm-repo git@github.com:acme/gdm.git -cluster prod -autoresolver',
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
    'gdm-repo': Flags.string({ description: 'the git repository the GDM is shared through (stateRemote): cloned into the state location when it is empty, pulled before reads and pushed after writes' }),
    'legacy-api': Flags.boolean({ description: "also serve the original Sous's API, for its CLI: requests without an Authorization header to its routes, only from --legacy-trust networks, the user from its Sous-User-* headers, every write audited as legacy", helpGroup: 'LEGACY' }),
    'legacy-trust': Flags.string({ description: 'a network (CIDR, or one address) whose Sous-User-* headers are believed (repeatable; needed with --legacy-api)', multiple: true, helpGroup: 'LEGACY' }),
    'webhook-secret-env': Flags.string({ description: 'the environment variable holding the secret push webhooks are signed with (default: webhookSecret, then SOUS_WEBHOOK_SECRET)', helpGroup: 'TAG BUILDS' }),
  };

  async run() {
    const { flags } = await this.parseFlags(Server);
    const { createServer } = await import('@sous/server');
    const { usageError, markSecret } = await import('@sous/core');
    const m = /^(.*):(\d+)$/.exec(flags.listen);
    if (!m) throw usageError('INVALID_LISTEN', `--listen ${JSON.stringify(flags.listen)} is not host:port`, { hints: ['--listen 127.0.0.1:7070'] });
    if (flags['gdm-repo']) this.configFlags = { stateRemote: flags['gdm-repo'] };
    let trust: import('@sous/server').TrustedNetworks | undefined;
    if (flags['legacy-api']) {
      if (!flags['legacy-trust']?.length) {
        throw usageError('LEGACY_TRUST_MISSING', '--legacy-api needs --legacy-trust: the networks whose Sous-User-* headers the server may believe', { hints: ['sous server --legacy-api --legacy-trust 10.0.0.0/8', 'Only the machines the original CLI runs on (CI agents, say) should be listed'] });
      }
      const { TrustedNetworks } = await import('@sous/server');
      try {
        trust = new TrustedNetworks(flags['legacy-trust']);
      } catch (e) {
        throw usageError('LEGACY_TRUST_INVALID', `--legacy-trust: ${(e as Error).message}`, { hints: ['CIDR networks like 10.0.0.0/8, 192.168.1.0/24, fd00::/8, or one address'] });
      }
    } else if (flags['legacy-trust']?.length) {
      throw usageError('LEGACY_TRUST_WITHOUT_API', '--legacy-trust only means something with --legacy-api', { hints: ['sous server --legacy-api --legacy-trust 10.0.0.0/8'] });
    }
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
      legacy: trust ? { trust } : undefined,
    });
    const address = await server.app.listen({ host: m[1], port: Number(m[2]) });
    const tb = server.ctx.builds!.opts;
    const watching = [tb.webhookSecret ? 'webhooks' : '', tb.pollMs ? `polling every ${tb.pollMs / 1000}s` : ''].filter(Boolean).join(' and ');
    this.logToStderr(`sous server listening on ${address}${flags.autoresolver ? ', rectifying ' + (flags.cluster?.join(', ') ?? 'every cluster') : ''}${watching ? `; building pushed tags (${watching})` : ''}${trust ? `; the original's API for ${trust.cidrs.join(', ')}` : ''}`);
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
