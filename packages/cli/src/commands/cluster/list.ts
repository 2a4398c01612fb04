import { Flags } from '@oclif/core';
import { SousCommand, table } from '../../base';

export default class ClusterList extends SousCommand {
  static summary = 'List the clusters in defs.yaml.';
  static aliases = ['query:clusters'];
  static examples = ['<%= config.bin %> cluster list', '<%= config.bin %> query clusters --json', '<%= config.bin %> query clusters -include-urls'];
  static flags = { 'include-urls': Flags.boolean({ description: 'add the URL of the Sous server that rectifies each cluster (servers.yaml)' }) };

  async run() {
    const { flags } = await this.parseFlags(ClusterList);
    const { listClusters } = await import('@sous/core');
    const backend = await this.backend();
    const clusters = await listClusters(backend);
    const servers = flags['include-urls'] ? (await backend.read()).servers : {};
    if (clusters.length === 0) this.log('No clusters. Add one with: sous cluster add --name local --kind docker --base-url unix:///var/run/docker.sock');
    else
      this.log(
        table(
          ['NAME', 'KIND', 'BASE URL', 'REGISTRY', 'SIGNATURES', 'ALLOWED ADVISORIES', ...(flags['include-urls'] ? ['SOUS URL'] : [])],
          clusters.map(({ name, cluster: c }) => [name, c.Kind, c.BaseURL ?? '', c.Registry ?? '', c.RequireSignature ? 'required' : '-', (c.AllowedAdvisories ?? []).join(', ') || '-', ...(flags['include-urls'] ? [servers[name] ?? '-'] : [])]),
        ).trimEnd(),
      );
    return { clusters: clusters.map(({ name, cluster }) => ({ name, ...cluster, ...(flags['include-urls'] ? { url: servers[name] ?? null } : {}) })) };
  }
}
