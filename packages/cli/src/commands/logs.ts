import { Flags } from '@oclif/core';
import { SousCommand, clusterFlag, filterFlags } from '../base';
import { createSous } from '../sous';

/** Returned when the lines went out as they came (--follow --json): nothing is left to print. */
const STREAMED = Symbol('streamed');

export default class Logs extends SousCommand {
  static summary = "Print the application's output from its cluster, each line prefixed with its instance.";
  static description = `Through the cluster's scheduler: docker and swarm container logs, Kubernetes pod logs, Singularity's sandbox files (stdout, stderr). --follow keeps printing as lines are written (Ctrl-C ends it). With --json the lines are one JSON document; with --follow --json, one JSON object per line as they come.`;
  static examples = [
    '<%= config.bin %> logs --cluster prod',
    '<%= config.bin %> logs -cluster prod --follow --since 10m',
    '<%= config.bin %> logs --cluster prod --tail 50 --instance sous-prod-shop-1-2f3a',
    '<%= config.bin %> logs --cluster prod --since 2026-01-02T03:04:05Z --json',
  ];
  static flags = {
    cluster: { ...clusterFlag, required: true } as typeof clusterFlag,
    follow: Flags.boolean({ char: 'f', description: 'keep printing lines as they are written' }),
    since: Flags.string({ description: 'only lines written since then: a duration back from now (90s, 10m, 2h, 1d) or a time' }),
    tail: Flags.integer({ description: 'only the last N lines of each instance (before following)', min: 0 }),
    instance: Flags.string({ description: 'only this instance (its name as the lines show it, or the start of its id)' }),
    ...filterFlags,
  };

  protected logJson(json: unknown): void {
    if (json !== STREAMED) super.logJson(json);
  }

  async run() {
    const { flags } = await this.parseFlags(Logs);
    const core = await import('@sous/core');
    const id = await this.manifestID(flags);
    const since = flags.since === undefined ? undefined : core.parseSince(flags.since);
    const abort = new AbortController();
    const stop = () => abort.abort();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    const server = await this.serverClient();
    const json = this.jsonEnabled();
    const deploymentID = `${flags.cluster}:${core.formatManifestID(id)}`;
    let lines: AsyncIterable<import('@sous/core').LogLine>;
    if (server) {
      lines = core.remoteLogs(server, { id, cluster: flags.cluster!, follow: flags.follow, since: flags.since, tail: flags.tail, instance: flags.instance, signal: abort.signal });
    } else {
      const config = await this.config_();
      const state = await (await this.backend()).read();
      lines = core.deploymentLogs(createSous(config, this.logger()), state, { id, cluster: flags.cluster!, follow: flags.follow, since, tail: flags.tail, instance: flags.instance, signal: abort.signal }).lines;
    }
    const all: import('@sous/core').LogLine[] = [];
    try {
      for await (const l of lines) {
        if (abort.signal.aborted) break;
        if (json && flags.follow) process.stdout.write(JSON.stringify(l) + '\n');
        else if (json) all.push(l);
        else process.stdout.write(`${l.instance} | ${l.text}\n`);
      }
    } catch (e) {
      if (!abort.signal.aborted) throw e;
    } finally {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
    }
    return json && flags.follow ? (STREAMED as never) : { deploymentID, lines: all };
  }
}
