import type { SousConfig, BuildConfig, RegistrySettings } from '../generated/sous-config';
import type { SousPlugin } from '../hooks/plugin';

/** What a user writes in sous.config.ts or the operator config: every field optional. */
export type UserConfig = Omit<SousConfig, 'plugins'> & {
  plugins?: SousPlugin[];
};

/** The environment a config function is called with. */
export interface ConfigEnv {
  /** The sous command being run (build, deploy, ...). */
  command: string;
  env: Record<string, string | undefined>;
}

export type UserConfigExport = UserConfig | Promise<UserConfig> | ((env: ConfigEnv) => UserConfig | Promise<UserConfig>);

/** Where one setting came from. */
export type ConfigSource = 'default' | 'repo' | 'user' | 'env' | 'flag';

/** The configuration the program uses: defaults applied, read-only. */
export interface ResolvedConfig {
  readonly stateLocation: string;
  readonly stateRemote?: string;
  readonly server?: string;
  readonly token?: string;
  readonly registry?: string;
  /** Per registry (host[:port]): credentials, CA, insecure, image name template. */
  readonly registries: Readonly<Record<string, Readonly<RegistrySettings>>>;
  /** The image name template for registries without their own (default: the original's layout). */
  readonly imageName?: string;
  readonly dockerHost?: string;
  readonly user: { readonly name: string; readonly email: string };
  readonly stack?: string;
  readonly stacks: Readonly<Record<string, Record<string, unknown>>>;
  readonly build: Readonly<BuildConfig>;
  readonly contracts: Readonly<Record<string, unknown>>;
  readonly sign: Readonly<Record<string, unknown>>;
  /** Secret provider settings, one section per provider. */
  readonly secrets: Readonly<Record<string, Record<string, unknown>>>;
  /** Where the key of the keyed hashes of Env and secret values is kept. */
  readonly secretHashKeyFile: string;
  readonly trustedKeys: readonly string[];
  readonly signingKey?: string;
  readonly notifiers: readonly Record<string, unknown>[];
  readonly logLevel: NonNullable<SousConfig['logLevel']>;
  readonly rectify: Readonly<Required<NonNullable<SousConfig['rectify']>>>;
  /** Where the server fetches each repository from for tag builds (repo → clone URL settings). */
  readonly repositories: Readonly<NonNullable<SousConfig['repositories']>>;
  /** The secret push webhooks to the server are signed with (config webhookSecret, else SOUS_WEBHOOK_SECRET). */
  readonly webhookSecret?: string;
  readonly tagBuilds: Readonly<Required<NonNullable<SousConfig['tagBuilds']>>>;
  readonly plugins: readonly SousPlugin[];
  /** The files the configuration was read from. */
  readonly files: { readonly repo?: string; readonly user?: string };
  /** Where each top-level setting came from. */
  readonly origins: Readonly<Record<string, ConfigSource>>;
  /** Warnings found while resolving (unknown SOUS_* variables, say). */
  readonly warnings: readonly string[];
}
