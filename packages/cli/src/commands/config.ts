import { Args } from '@oclif/core';
import { SousCommand } from '../base';

export default class Config extends SousCommand {
  static summary = 'Show the resolved configuration and where each setting came from, or read or set one key.';
  static description =
    "Settings come from defaults, the repository's sous.config.*, the user/operator config ($XDG_CONFIG_HOME/sous/config.yaml or --config), SOUS_* environment variables and flags, each overriding the ones before. Secrets are not shown. With KEY, prints that setting's value; with KEY and VALUE, writes it into the user config file (created when missing). Keys are today's (registry, user.email, rectify.concurrency) or the original Sous's (Docker.RegistryHost, User.Email); a config in the original's form is written in that form.";
  static examples = [
    '<%= config.bin %> config',
    '<%= config.bin %> config --json',
    '<%= config.bin %> config server',
    '<%= config.bin %> config Docker.RegistryHost docker.example.com',
    '<%= config.bin %> config rectify.concurrency 20',
    'SOUS_STATE_LOCATION=/srv/sous/state <%= config.bin %> config',
  ];
  static args = {
    key: Args.string({ description: 'a setting (server, registry, user.email, ...) or the original\'s key (Server, Docker.RegistryHost, User.Email, ...)' }),
    value: Args.string({ description: 'the value to write into the user config' }),
  };
  protected readsRepoConfig = true;

  async run() {
    const { args } = await this.parseFlags(Config);
    const cfg = await this.config_();
    const core = await import('@sous/core');
    if (args.key && args.value !== undefined) {
      const r = await core.setConfigValue(core.userConfigTarget(cfg), args.key, args.value);
      this.log(`set ${r.written} to ${JSON.stringify(r.value)} in ${r.file}`);
      return r;
    }
    if (args.key) {
      const r = core.configValue(cfg, args.key);
      this.log(r.value === undefined ? '' : typeof r.value === 'string' ? r.value : JSON.stringify(r.value));
      return r;
    }
    const shown: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(cfg)) {
      if (k === 'origins' || k === 'warnings' || k === 'files') continue;
      if (k === 'token') shown[k] = v ? '[set]' : undefined;
      else if (k === 'plugins') shown[k] = (v as { name: string }[]).map((p) => p.name);
      // Notifier secrets, passwords in URLs and anything marked secret are not shown.
      else shown[k] = core.redact({ [k]: v })?.[k];
    }
    for (const [k, v] of Object.entries(shown)) {
      if (v === undefined) continue;
      const origin = cfg.origins[k] ?? 'default';
      this.log(`${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}  (${origin})`);
    }
    if (cfg.files.repo) this.log(`repo config: ${cfg.files.repo}`);
    if (cfg.files.user) this.log(`user config: ${cfg.files.user}`);
    return { config: shown, origins: cfg.origins, files: cfg.files, warnings: cfg.warnings };
  }
}
