/**
 * The original Sous's user config (`~/.config/sous/config.yaml`, PascalCase:
 * `StateLocation`, `Server`, `Docker.RegistryHost`, `User.Name`, ...; its
 * config/config.go) read as it is: mapped onto today's settings, keys with
 * no counterpart warned about once, never refused.
 */
import type { UserConfig } from './types';

/** The original's top-level config keys (config/config.go, at its last release). */
export const LEGACY_TOP_KEYS = [
  'StateLocation',
  'Server',
  'Database',
  'DatabasePrimary',
  'SiblingURLs',
  'BuildStateDir',
  'Docker',
  'Logging',
  'User',
  'MaxHTTPConcurrencySingularity',
  'PollIntervalForClient',
  'SlackHookURL',
  'SlackChannel',
  'AdditionalSlackChannels',
] as const;

/** An original key (dotted path) and the setting it becomes. */
export interface LegacyKey {
  key: string;
  /** Today's setting (dotted), or undefined when this Sous has no counterpart. */
  setting?: string;
  /** Why an unmapped key is not needed, for the warning and the migration guide. */
  note?: string;
}

/** Every key the original's `sous config` knew, and what it is here. */
export const LEGACY_KEYS: readonly LegacyKey[] = [
  { key: 'StateLocation', setting: 'stateLocation' },
  { key: 'Server', setting: 'server' },
  { key: 'Docker.RegistryHost', setting: 'registry' },
  { key: 'User.Name', setting: 'user.name' },
  { key: 'User.Email', setting: 'user.email' },
  { key: 'Logging.Basic.Level', setting: 'logLevel' },
  { key: 'MaxHTTPConcurrencySingularity', setting: 'rectify.concurrency' },
  { key: 'SiblingURLs', note: 'servers.yaml in the GDM says which server rectifies which cluster (sous server --url records it)' },
  { key: 'BuildStateDir', note: 'builds are recorded in the GDM\'s artifact index' },
  { key: 'Docker.DatabaseDriver', note: 'the artifact index lives in the GDM' },
  { key: 'Docker.DatabaseConnection', note: 'the artifact index lives in the GDM' },
  { key: 'Database', note: 'the GDM is a git repository; PostgreSQL is not used' },
  { key: 'DatabasePrimary', note: 'the GDM is a git repository; PostgreSQL is not used' },
  { key: 'PollIntervalForClient', note: 'sous deploy waits on the server\'s queue item' },
  { key: 'SlackHookURL', note: 'notifiers: [{ type: slack, url, channel }] (@sous/plugin-notify-slack)' },
  { key: 'SlackChannel', note: 'notifiers: [{ type: slack, url, channel }] (@sous/plugin-notify-slack)' },
  { key: 'AdditionalSlackChannels', note: 'notifiers with routing rules (manifests, owners, clusters)' },
  { key: 'Logging', note: 'logs are JSON lines on stderr (-v, --debug)' },
];

const LOG_LEVELS: Record<string, string> = { critical: 'fatal', fatal: 'fatal', error: 'error', warn: 'warn', warning: 'warn', info: 'info', debug: 'debug', extra1: 'debug', extradebug1: 'debug', extra2: 'trace', extradebug2: 'trace', extra3: 'trace', extradebug3: 'trace' };

/** True for a document in the original's form: every top-level key PascalCase, as the original's were and none of today's is. */
export function isLegacyConfig(doc: Record<string, unknown>): boolean {
  const keys = Object.keys(doc);
  return keys.length > 0 && keys.every((k) => /^[A-Z]/.test(k));
}

function get(doc: unknown, dotted: string): unknown {
  let v = doc;
  for (const k of dotted.split('.')) v = v && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined;
  return v;
}

function set(out: Record<string, unknown>, dotted: string, value: unknown): void {
  const parts = dotted.split('.');
  let o = out;
  for (const p of parts.slice(0, -1)) o = (o[p] ??= {}) as Record<string, unknown>;
  o[parts[parts.length - 1]] = value;
}

function empty(v: unknown): boolean {
  return v === undefined || v === null || v === '' || (typeof v === 'object' && Object.values(v as object).every(empty));
}

/** Every leaf path of a document (`Docker.RegistryHost`), maps of names counted as one leaf. */
function leaves(doc: unknown, prefix = ''): string[] {
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) return [prefix];
  const out: string[] = [];
  for (const [k, v] of Object.entries(doc as Record<string, unknown>)) {
    const p = prefix ? `${prefix}.${k}` : k;
    // SiblingURLs and AdditionalSlackChannels are maps of names, not settings.
    if (['SiblingURLs', 'AdditionalSlackChannels'].includes(p)) out.push(p);
    else out.push(...leaves(v, p));
  }
  return out;
}

/**
 * Maps the original's config onto today's settings. Empty values are the
 * original's "use the default" and are skipped; keys this Sous has no
 * counterpart for (and unknown keys) are named in one warning.
 */
export function mapLegacyConfig(doc: Record<string, unknown>, file: string): { config: UserConfig; warnings: string[] } {
  const out: Record<string, unknown> = {};
  const unmapped: string[] = [];
  const known = new Map(LEGACY_KEYS.map((k) => [k.key, k]));
  for (const leaf of leaves(doc)) {
    const value = get(doc, leaf);
    const entry = known.get(leaf) ?? (leaf.startsWith('Logging.') && leaf !== 'Logging.Basic.Level' ? known.get('Logging') : undefined) ?? (leaf.startsWith('Database.') ? known.get('Database') : undefined);
    if (!entry?.setting) {
      if (!empty(value)) unmapped.push(entry ? leaf : `${leaf} (unknown)`);
      continue;
    }
    if (empty(value)) continue;
    if (entry.setting === 'logLevel') {
      const level = LOG_LEVELS[String(value).toLowerCase()];
      if (level) out.logLevel = level;
      else unmapped.push(`${leaf} (${JSON.stringify(value)} is not a level)`);
    } else if (entry.setting === 'rectify.concurrency') {
      const n = Number(value);
      if (Number.isInteger(n) && n > 0) set(out, entry.setting, n);
      else unmapped.push(`${leaf} (${JSON.stringify(value)} is not a positive whole number)`);
    } else set(out, entry.setting, String(value));
  }
  const warnings = unmapped.length ? [`${file} is the original Sous's config; not used here: ${unmapped.join(', ')} (see docs/migrating-from-go-sous.md)`] : [];
  return { config: out as UserConfig, warnings };
}

/** The setting a `sous config` key names: today's name, or the original's (case as the original wrote it). */
export function settingForKey(key: string): { setting: string; legacy?: LegacyKey } | undefined {
  const legacy = LEGACY_KEYS.find((k) => k.key === key);
  if (legacy) return legacy.setting ? { setting: legacy.setting, legacy } : { setting: '', legacy };
  return undefined;
}
