import { SousCommand, table } from '../../base';

export default class ClusterList extends SousCommand {
  static summary = 'List the clusters in defs.yaml.';
  static aliases = ['query:clusters'];
  static examples = ['<%= config.bin %> cluster list', '<%= config.bin %> query clusters --json'];

  async run() {
    await this.parseFlags(ClusterList);
    const { listClusters } = await import('@sous/core');
    const clusters = await listClusters(await this.backend());
    if (clusters.length === 0) this.log('No clusters. Add one with: sous cluster add --name local --kind docker --base-url unix:///var/run/docker.sock');
    else
      this.log(
        table(
          ['NAME', 'KIND', 'BASE URL', 'REGISTRY', 'SIGNATURES', 'ALLOWED ADVISORIES'],
          clusters.map(({ name, cluster: c }) => [name, c.Kind, c.BaseURL ?? '', c.Registry ?? '', c.RequireSignature ? 'required' : '-', (c.AllowedAdvisories ?? []).join(', ') || '-']),
        ).trimEnd(),
      );
    return { clusters: clusters.map(({ name, cluster }) => ({ name, ...cluster })) };
  }
}
