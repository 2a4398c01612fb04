import { Flags } from '@oclif/core';
import { SousCommand } from '../../base';

export default class ClusterAdd extends SousCommand {
  static summary = 'Define a cluster in defs.yaml.';
  static description = 'A cluster is a scheduler Sous deploys to: one Docker engine (kind docker), a Swarm manager (swarm), a Kubernetes API (kubernetes) or Singularity (singularity), or a kind a configured plugin adds. A kind no installed plugin schedules is refused (UNKNOWN_CLUSTER_KIND), since nothing could deploy there; --force defines it anyway, with a warning. Its env values are defaults for every deployment in it; its allowed advisories say which suspect images it accepts.';
  static examples = [
    '<%= config.bin %> cluster add --name local --kind docker --base-url unix:///var/run/docker.sock',
    '<%= config.bin %> cluster add --name prod --kind swarm --base-url tcp://10.0.0.5:2375 --registry registry.prod:5000 --require-signature --trusted-key /etc/sous/keys/ci.pub',
    '<%= config.bin %> cluster add --name dev --kind docker --allow-advisory "dirty workspace" --env LOG_LEVEL=debug',
    '<%= config.bin %> cluster add --name edge --kind nomad --base-url http://10.0.0.9:4646 --force   # a kind whose plugin is installed later',
  ];
  static flags = {
    name: Flags.string({ description: 'the cluster name', required: true }),
    kind: Flags.string({ description: 'the scheduler kind (docker, swarm, kubernetes, singularity)', required: true }),
    'base-url': Flags.string({ description: 'where the scheduler answers: unix:///path, tcp://host:port or http(s)://...' }),
    registry: Flags.string({ description: "the cluster's own registry (host:port); images are pre-cached there" }),
    env: Flags.string({ description: 'a default environment variable KEY=VALUE (repeatable)', multiple: true }),
    'allow-advisory': Flags.string({ description: 'an advisory images may carry and still deploy here (repeatable)', multiple: true }),
    'require-signature': Flags.boolean({ description: 'refuse images without a valid signature from a trusted key', allowNo: true }),
    'trusted-key': Flags.string({ description: 'a public key (PEM file) whose signatures the cluster trusts (repeatable)', multiple: true }),
    'allow-prune': Flags.boolean({ description: 'let the rectifier delete deployments no longer intended', allowNo: true }),
    'allow-auto-deploy': Flags.boolean({ description: "let manifests' AutoDeploy ranges deploy new versions here by themselves (staging, not production)", allowNo: true }),
    replace: Flags.boolean({ description: 'redefine an existing cluster' }),
    force: Flags.boolean({ description: 'define the cluster even when no installed plugin schedules its kind (a warning instead of a refusal)' }),
  };

  async run() {
    const { flags } = await this.parseFlags(ClusterAdd);
    const { addCluster, closest, usageError } = await import('@sous/core');
    const { createSous } = await import('../../sous');
    const kinds = createSous(await this.config_(), this.logger()).schedulerKinds();
    if (/^[a-z][a-z0-9-]*$/.test(flags.kind) && !kinds.includes(flags.kind)) {
      const near = closest(flags.kind, kinds);
      const what = `no installed plugin schedules clusters of kind ${JSON.stringify(flags.kind)}`;
      if (!flags.force) {
        throw usageError('UNKNOWN_CLUSTER_KIND', `${what}, so nothing could deploy to cluster ${flags.name}; nothing was written`, {
          hints: [...(near ? [`did you mean ${JSON.stringify(near)}?`] : []), `kinds this installation schedules: ${kinds.join(', ')}`, "Add the kind's plugin to the config's plugins, or define the cluster anyway with --force"],
        });
      }
      this.logToStderr(`Warning: ${what}; plan and rectify will report cluster ${flags.name} as unreadable until one does [UNKNOWN_CLUSTER_KIND]`);
    }
    const env: Record<string, string> = {};
    for (const kv of flags.env ?? []) {
      const i = kv.indexOf('=');
      if (i <= 0) throw usageError('INVALID_FLAG_VALUE', `--env ${JSON.stringify(kv)} is not KEY=VALUE`, { hints: ['--env LOG_LEVEL=debug'] });
      env[kv.slice(0, i)] = kv.slice(i + 1);
    }
    const r = await addCluster(
      await this.backend(),
      {
        name: flags.name,
        kind: flags.kind,
        baseURL: flags['base-url'],
        registry: flags.registry,
        env: flags.env ? env : undefined,
        allowedAdvisories: flags['allow-advisory'],
        requireSignature: flags['require-signature'],
        trustedKeys: flags['trusted-key'],
        allowPrune: flags['allow-prune'],
        allowAutoDeploy: flags['allow-auto-deploy'],
      },
      await this.user(),
      { replace: flags.replace },
    );
    this.log(r.changed ? `${flags.replace ? 'Redefined' : 'Added'} cluster ${flags.name} (${flags.kind}).` : `Cluster ${flags.name} is already so.`);
    return { name: flags.name, cluster: r.cluster, revision: r.revision, changed: r.changed };
  }
}
