/* eslint-disable */
// Generated from schemas/ by scripts/gen-types.js. Do not edit by hand: edit the schema and run `npm run gen:types`.

/**
 * What sous.config.ts (a repository) and the user/operator config file may say. Environment variables (SOUS_*) and flags override files.
 */
export interface SousConfig {
  /**
   * Force a stack (node, go, java, dockerfile) instead of detecting one.
   */
  stack?: string;
  /**
   * Options per stack, read by the stack plugins (base images, build args, command, extra files).
   */
  stacks?: {
    [k: string]: {};
  };
  build?: BuildConfig;
  /**
   * Contracts run against the built image (read by the contracts plugin).
   */
  contracts?: {};
  /**
   * Signing options (read by the sign plugin).
   */
  sign?: {};
  /**
   * Settings of the secret providers, one section per provider (file, env, command, or a plugin's), read by the machine that rectifies.
   */
  secrets?: {
    file?: {
      /**
       * The directory holding one file per key (default: $XDG_CONFIG_HOME/sous/secrets).
       */
      dir?: string;
    };
    env?: {};
    command?: {
      /**
       * The command and its arguments; {key} in an argument is replaced by the key, else the key is the last argument. The value is read from its stdout.
       *
       * @minItems 1
       */
      run: [string, ...string[]];
      /**
       * How long the command may take (default 10).
       */
      timeoutSeconds?: number;
    };
    [k: string]: unknown;
  };
  /**
   * The file holding the key of the keyed hashes schedulers keep of Env and secret values (default: .git/sous/secret-hash.key in the state directory, beside the rectifier's outcomes; made on first use). Rectifiers of one cluster share it.
   */
  secretHashKeyFile?: string;
  /**
   * Plugins: objects with apply(sous).
   */
  plugins?: unknown[];
  /**
   * The Sous server URL; unset means the embedded store.
   */
  server?: string;
  /**
   * The bearer token for the server.
   */
  token?: string;
  /**
   * The GDM state directory (a git repository).
   */
  stateLocation?: string;
  /**
   * A git remote the state directory pulls from and pushes to.
   */
  stateRemote?: string;
  /**
   * The registry images are pushed to (host[:port]).
   */
  registry?: string;
  /**
   * Per registry (host or host:port, as images name it: ghcr.io, registry.acme.com:5000, docker.io): how Sous logs in, which CA it trusts, whether it may speak plain HTTP, and how images are named there. Credentials people already keep in ~/.docker/config.json need no entry.
   */
  registries?: {
    [k: string]: RegistrySettings;
  };
  /**
   * The image name template for registries without one of their own: {registry} {host} {owner} {name} {repo} {offset}; default {registry}/{repo}/{offset}. It starts with {registry}/.
   */
  imageName?: string;
  /**
   * The Docker engine (unix:///path or tcp://host:port).
   */
  dockerHost?: string;
  user?: {
    name?: string;
    email?: string;
  };
  /**
   * Public keys (paths or PEM) trusted by sous verify.
   */
  trustedKeys?: string[];
  /**
   * Path to the PEM private key used to sign built images.
   */
  signingKey?: string;
  /**
   * Where events go: one entry per notifier (webhook, slack, email, console), each read by the plugin for its type.
   */
  notifiers?: NotifierConfig[];
  logLevel?: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /**
   * Per repository, as manifests name it (github.com/acme/shop): where the Sous server fetches it from for tag builds. Unlisted repositories are fetched from https://<repo>.git.
   */
  repositories?: {
    [k: string]: RepositoryConfig;
  };
  /**
   * The secret GitHub-style push webhooks to the Sous server are signed with (X-Hub-Signature-256). SOUS_WEBHOOK_SECRET when unset.
   */
  webhookSecret?: string;
  tagBuilds?: TagBuildsConfig;
  rectify?: {
    concurrency?: number;
    retries?: number;
    holdAfterFailures?: number;
    resyncSeconds?: number;
  };
}
/**
 * This interface was referenced by `SousConfig`'s JSON-Schema
 * via the `definition` "BuildConfig".
 */
export interface BuildConfig {
  /**
   * Build args handed to every stack.
   */
  args?: {
    [k: string]: string;
  };
  /**
   * A Dockerfile to build with instead of a stack.
   */
  dockerfile?: string;
  /**
   * Extra CA certificate files handed to the build steps that fetch packages.
   */
  caCerts?: string[];
  platform?: string;
  /**
   * Fail the build on any advisory.
   */
  strict?: boolean;
}
/**
 * This interface was referenced by `SousConfig`'s JSON-Schema
 * via the `definition` "RegistrySettings".
 */
export interface RegistrySettings {
  /**
   * The user to log in as; the password or access token comes from passwordEnv.
   */
  username?: string;
  /**
   * The environment variable holding the password or access token.
   */
  passwordEnv?: string;
  /**
   * A docker-credential-<name> helper to ask for this registry (the name only: pass, ecr-login, gcloud).
   */
  credentialHelper?: string;
  /**
   * A PEM file of the CA that signed the registry's certificate (else /etc/docker/certs.d/<host[:port]>/ca.crt).
   */
  caFile?: string;
  /**
   * Allow plain HTTP, or HTTPS without checking the certificate. Loopback registries may speak plain HTTP without it.
   */
  insecure?: boolean;
  /**
   * The image name template for this registry (see imageName).
   */
  imageName?: string;
}
/**
 * One notifier: its type, routing rules, and the fields its plugin reads (checked by that plugin).
 *
 * This interface was referenced by `SousConfig`'s JSON-Schema
 * via the `definition` "NotifierConfig".
 */
export interface NotifierConfig {
  /**
   * webhook, slack, email, console, or the type of a notifier plugin of your own.
   */
  type: string;
  /**
   * A label for logs.
   */
  name?: string;
  /**
   * Event types or patterns (deploy.*, *); default every event.
   */
  events?: string[];
  /**
   * Globs on the manifestID (github.com/acme/*).
   */
  manifests?: string[];
  /**
   * E-mail addresses (globs allowed): the manifest's owners or the event's user.
   */
  owners?: string[];
  /**
   * Cluster names (globs allowed).
   */
  clusters?: string[];
  /**
   * The outbox directory (default $XDG_DATA_HOME/sous/outbox).
   */
  outbox?: string;
  /**
   * How long one delivery attempt may take.
   */
  timeoutMs?: number;
  /**
   * attempts (the first included), minDelayMs, maxDelayMs: capped exponential backoff with jitter.
   */
  retry?: {
    attempts?: number;
    minDelayMs?: number;
    maxDelayMs?: number;
  };
  [k: string]: unknown;
}
/**
 * This interface was referenced by `SousConfig`'s JSON-Schema
 * via the `definition` "RepositoryConfig".
 */
export interface RepositoryConfig {
  /**
   * The clone URL: https://, git://, ssh://, file:// or user@host:path.
   */
  url: string;
}
/**
 * How the Sous server builds pushed semver tags.
 *
 * This interface was referenced by `SousConfig`'s JSON-Schema
 * via the `definition` "TagBuildsConfig".
 */
export interface TagBuildsConfig {
  /**
   * Ask every registered repository for its tags (git ls-remote) this often; 0 (the default) polls never, for servers that get webhooks.
   */
  pollSeconds?: number;
  /**
   * Builds run at once (default 1).
   */
  concurrency?: number;
  /**
   * Finished build jobs (and their logs) kept (default 500).
   */
  keepJobs?: number;
}
