import { Flags } from '@oclif/core';
import { SousCommand } from '../base';
import { durationFlag } from '../flags';
import { createSous } from '../sous';

export default class Server extends SousCommand {
  static summary = 'Serve the GDM over HTTP and, with --autoresolver, rectify the clusters behind it.';
  static description = `The API the CLI uses when SOUS_SERVER is set (reads, manifest edits, deploys, queues, status, builds), with bearer tokens (sous server token create) and an audit trail of every write. A pushed semver tag of a registered repository becomes a build: GitHub push webhooks to POST /hooks/github (signed with the webhook secret) or polling (--poll) report new tags, and the server builds them one at a time (sous builds list). With --autoresolver the server rectifies its clusters right after each accepted write and on the resync interval, one pass at a time. Several servers can share one GDM through a git remote, each rectifying its own --cluster list; each records its --url in the GDM so the CLI finds the server of every cluster. A status page for people is at / (a login form takes a token once and keeps an HttpOnly session cookie; --public-status opens the read-only pages on a trusted network), kept live by server-sent events. --tls-cert and --tls-key serve HTTPS (SIGHUP reads them again); --metrics-listen serves Prometheus metrics without authentication on a listener of its own. SIGTERM finishes the actions in flight, then exits.`;
  static examples = [
    '<%= config.bin %> server --listen 127.0.0.1:7070 --autoresolver',
    '<%= config.bin %> server --listen 0.0.0.0:7070 --cluster prod-east --url https://sous-east.example.com --autoresolver',
    '<%= config.bin %> server -listen 127.0.0.1:7070 -cluster local -autoresolver',
    '<%= config.bin %> server --listen 0.0.0.0:7443 --tls-cert /etc/sous/tls/server.crt --tls-key /etc/sous/tls/server.key --autoresolver   # kill -HUP reloads the certificate',
    '<%= config.bin %> server --listen 10.0.0.5:7070 --public-status --metrics-listen 10.0.0.5:9464',
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
    'tls-cert': Flags.string({ description: 'serve HTTPS with this certificate (PEM, chain first); read again on SIGHUP', helpGroup: 'HTTPS' }),
    'tls-key': Flags.string({ description: 'the private key of --tls-cert (PEM); read again on SIGHUP', helpGroup: 'HTTPS' }),
    'public-status': Flags.boolean({ description: 'open the read-only status pages without signing in (for a trusted network; logs still need a session)', helpGroup: 'STATUS PAGE' }),
    'session-ttl': durationFlag({ description: 'how long a status page session lasts (default 12h)', helpGroup: 'STATUS PAGE' }),
    'metrics-listen': Flags.string({ description: 'serve /metrics without authentication on this host:port as well (the main listener needs a read token for it)' }),
  };

  async run() {
    const { flags } = await this.parseFlags(Server);
    const { createServer, loadTls, startMetricsListener } = await import('@sous/server');
    const { isLoopback } = await import('@sous/server/dist/tls');
    const { usageError, markSecret } = await import('@sous/core');
    const hostPort = (flag: string, v: string, example: string) => {
      const hp = /^(.*):(\d+)$/.exec(v);
      if (!hp || !hp[1] || Number(hp[2]) > 65535) throw usageError('INVALID_LISTEN', `--${flag} ${JSON.stringify(v)} is not host:port`, { hints: [`--${flag} ${example}`] });
      return { host: hp[1].replace(/^\[|\]$/g, ''), port: Number(hp[2]) };
    };
    const listen = hostPort('listen', flags.listen, '127.0.0.1:7070');
    const metricsAt = flags['metrics-listen'] ? hostPort('metrics-listen', flags['metrics-listen'], '127.0.0.1:9464') : undefined;
    const tlsFiles = flags['tls-cert'] || flags['tls-key'] ? { cert: flags['tls-cert'], key: flags['tls-key'] } : undefined;
    const tls = tlsFiles ? loadTls(tlsFiles) : undefined;
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
      tls,
      publicStatus: flags['public-status'],
      sessionTtlMs: flags['session-ttl'],
    });
    const address = await server.app.listen({ host: listen.host, port: listen.port });
    const metricsListener = metricsAt ? await startMetricsListener(server.ctx.metrics, metricsAt.host, metricsAt.port) : undefined;
    if (!tls && !isLoopback(listen.host)) {
      this.logToStderr(`Warning: listening on ${listen.host} over plain HTTP: bearer tokens and session cookies cross the network in the clear. Serve HTTPS with --tls-cert and --tls-key (or put a TLS proxy in front).`);
    }
    if (tls) {
      this.logToStderr(`HTTPS with ${tls.subject} (valid to ${tls.validTo}); kill -HUP ${process.pid} reads --tls-cert and --tls-key again`);
      process.on('SIGHUP', () => {
        try {
          const fresh = loadTls(tlsFiles!);
          server.reloadTls(fresh);
          this.logToStderr(`reloaded the TLS certificate: ${fresh.subject} (valid to ${fresh.validTo}, ${fresh.fingerprint.slice(0, 23)})`);
        } catch (e) {
          this.logToStderr(`TLS reload refused, the certificate in use stays: ${(e as Error).message}`);
        }
      });
    }
    if (metricsListener) this.logToStderr(`metrics on ${metricsListener.address}/metrics (no authentication)`);
    const tb = server.ctx.builds!.opts;
    const watching = [tb.webhookSecret ? 'webhooks' : '', tb.pollMs ? `polling every ${tb.pollMs / 1000}s` : ''].filter(Boolean).join(' and ');
    this.logToStderr(`sous server listening on ${address}${flags.autoresolver ? ', rectifying ' + (flags.cluster?.join(', ') ?? 'every cluster') : ''}${watching ? `; building pushed tags (${watching})` : ''}${trust ? `; the original's API for ${trust.cidrs.join(', ')}` : ''}`);
    await new Promise<void>((resolve) => {
      // Kept installed (not once): signal-exit, loaded by the lock library, re-raises a signal when it sees no other listener.
      process.on('SIGTERM', () => resolve());
      process.on('SIGINT', () => resolve());
    });
    this.logToStderr('stopping: finishing the actions in flight');
    await metricsListener?.close();
    await server.close();
    return { address };
  }
}
