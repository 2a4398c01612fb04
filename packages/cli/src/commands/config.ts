import { SousCommand } from '../base';

export default class Config extends SousCommand {
  static summary = 'Show the resolved configuration and where each setting came from.';
  static description = 'Settings come from defaults, the repository\'s sous.config.*, the user/operator config ($XDG_CONFIG_HOME/sous/config.yaml or --config), SOUS_* environment variables and flags, each overriding the ones before. Secrets are not shown.';
  static examples = ['<%= config.bin %> config', '<%= config.bin %> config --json', 'SOUS_STATE_LOCATION=/srv/sous/state <%= config.bin %> config'];
  protected readsRepoConfig = true;

  async run() {
    await this.parseFlags(Config);
    const cfg = await this.config_();
    const { redact } = await import('@sous/core');
    const shown: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(cfg)) {
      if (k === 'origins' || k === 'warnings' || k === 'files') continue;
      if (k === 'token') shown[k] = v ? '[set]' : undefined;
      else if (k === 'plugins') shown[k] = (v as { name: string }[]).map((p) => p.name);
      // Notifier secrets, passwords in URLs and anything marked secret are not shown.
      else shown[k] = redact({ [k]: v })?.[k];
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
