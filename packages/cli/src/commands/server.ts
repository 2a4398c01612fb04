import { Flags } from '@oclif/core';
import { SousCommand } from '../base';
import { durationFlag } from '../flags';
import { createSous } from '../sous';

export default class Server extends SousCommand {
  static summary = 'Serve the GDM over HTTP and, with --autoresolver, rectify the clusters behind it.';
  static description = `The API the CLI uses when SOUS_SERVER is set (reads, manifest edits, deploys, queues, status), with bearer tokens (sous server token create) and an audit trail of every write. With --autoresolver the server rectifies its clusters right after each accepted write and on the resync interval, one pass at a time. Several servers can share one GDM through a git remote, each rectifying its own --cluster list; each records its --url in the GDM so the CLI finds the server of every cluster. SIGTERM finishes the actions in flight, then exits.`;
  static examples = [
    '<%= config.bin %> server --listen 127.0.0.1:7070 --autoresolver',
    '<%= config.bin %> server --listen 0.0.0.0:7070 --cluster prod-east --url https://sous-east.example.com --autoresolver',
    '<%= config.bin %> server -listen 127.0.0.1:7070 -cluster local -autoresolver',
  ];
  static flags = {
    listen: Flags.string({ description: 'host:port to listen on', default: '127.0.0.1:7070' }),
    cluster: Flags.string({ char: 'c', description: 'a cluster this server rectifies (repeatable; default: all)', multiple: true }),
    autoresolver: Flags.boolean({ description: 'run the rectifier' }),
    url: Flags.string({ description: 'the URL others reach this server at (recorded for its clusters)' }),
    tokens: Flags.string({ description: 'the token file (default: inside the state directory, beside the GDM)' }),
    resync: durationFlag({ description: 'a full rectify pass at least this often (default 60s)' }),
  };

  async run() {
    const { flags } = await this.parseFlags(Server);
    const { createServer } = await import('@sous/server');
    const { usageError } = await import('@sous/core');
    const m = /^(.*):(\d+)$/.exec(flags.listen);
    if (!m) throw usageError('INVALID_LISTEN', `--listen ${JSON.stringify(flags.listen)} is not host:port`, { hints: ['--listen 127.0.0.1:7070'] });
    const config = await this.config_();
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
      version: this.config.version,
    });
    const address = await server.app.listen({ host: m[1], port: Number(m[2]) });
    this.logToStderr(`sous server listening on ${address}${flags.autoresolver ? ', rectifying ' + (flags.cluster?.join(', ') ?? 'every cluster') : ''}`);
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
