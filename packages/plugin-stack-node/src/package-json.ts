import * as fs from 'node:fs';
import * as path from 'node:path';
import * as semver from 'semver';
import { usageError } from '@sous/core';

/** The parts of package.json the node stack reads. */
export interface PackageJson {
  name?: string;
  main?: string;
  engines?: { node?: string };
  scripts?: Record<string, string>;
  packageManager?: string;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
}

/** Whether package.json names any package to install (of any kind: npm installs peers too). */
export function declaresDependencies(pkg: PackageJson): boolean {
  return [pkg.dependencies, pkg.devDependencies, pkg.optionalDependencies, pkg.peerDependencies].some((d) => !!d && typeof d === 'object' && Object.keys(d).length > 0);
}

export type PackageManagerName = 'npm' | 'yarn' | 'yarn-berry' | 'pnpm';

/** How the application's dependencies are installed, as its lockfile says. */
export interface PackageManager {
  name: PackageManagerName;
  /** The lockfile found, if any. */
  lockfile?: string;
  /** The files the install reads: copied before the sources so the install layer survives source changes. */
  manifests: string[];
}

/** Reads and checks `<dir>/package.json`. */
export function readPackageJson(dir: string): PackageJson {
  const file = path.join(dir, 'package.json');
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw usageError('NODE_PACKAGE_JSON_UNREADABLE', `cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`, { file });
  }
  let pkg: unknown;
  try {
    pkg = JSON.parse(text);
  } catch (e) {
    throw usageError('NODE_PACKAGE_JSON_INVALID', `${file} is not valid JSON: ${(e as Error).message}`, {
      file,
      hints: ['Check it with: node -e "JSON.parse(require(\'fs\').readFileSync(\'package.json\', \'utf8\'))"'],
    });
  }
  if (!pkg || typeof pkg !== 'object' || Array.isArray(pkg)) {
    throw usageError('NODE_PACKAGE_JSON_INVALID', `${file} must hold a JSON object`, { file });
  }
  const p = pkg as Record<string, unknown>;
  const field = (name: string, ok: boolean, want: string) => {
    if (p[name] !== undefined && !ok) throw usageError('NODE_PACKAGE_JSON_INVALID', `${file}: "${name}" must be ${want}`, { file, field: name });
  };
  field('main', typeof p.main === 'string', 'a string');
  field('packageManager', typeof p.packageManager === 'string', 'a string such as "pnpm@9.1.0"');
  const isStringMap = (v: unknown) => !!v && typeof v === 'object' && !Array.isArray(v) && Object.values(v).every((x) => typeof x === 'string');
  field('scripts', isStringMap(p.scripts), 'an object of script names to commands');
  field('engines', isStringMap(p.engines), 'an object such as { "node": ">=20" }');
  return p as PackageJson;
}

const LOCKFILES: [string, PackageManagerName][] = [
  ['package-lock.json', 'npm'],
  ['npm-shrinkwrap.json', 'npm'],
  ['yarn.lock', 'yarn'],
  ['pnpm-lock.yaml', 'pnpm'],
];

/** Config files each package manager reads during an install, when present. */
const INSTALL_CONFIG: Record<PackageManagerName, string[]> = {
  npm: ['.npmrc'],
  yarn: ['.npmrc', '.yarnrc'],
  'yarn-berry': ['.npmrc', '.yarnrc.yml', '.yarn/releases', '.yarn/plugins', '.yarn/patches'],
  pnpm: ['.npmrc', 'pnpm-workspace.yaml', '.pnpmfile.cjs', 'patches'],
};

function exists(dir: string, f: string): boolean {
  return fs.existsSync(path.join(dir, f));
}

/**
 * The package manager by lockfile (package-lock.json / npm-shrinkwrap.json →
 * npm, yarn.lock → yarn, pnpm-lock.yaml → pnpm); the `packageManager` field
 * decides between several lockfiles and between yarn 1 and yarn 2+.
 */
export function detectPackageManager(dir: string, pkg: PackageJson): PackageManager {
  const found = LOCKFILES.filter(([f]) => exists(dir, f));
  const declared = /^(npm|yarn|pnpm)@(\d+)/.exec(pkg.packageManager ?? '');
  let chosen: [string, PackageManagerName] | undefined;
  if (declared) {
    chosen = found.find(([, n]) => n === declared[1]);
  } else if (new Set(found.map(([, n]) => n)).size > 1) {
    throw usageError('NODE_LOCKFILES_CONFLICT', `${path.join(dir, 'package.json')}: lockfiles of several package managers (${found.map(([f]) => f).join(', ')})`, {
      file: path.join(dir, 'package.json'),
      hints: ['Delete the lockfiles of the package managers you do not use, or name yours in package.json: "packageManager": "pnpm@9.1.0"'],
    });
  } else {
    chosen = found[0];
  }
  let name: PackageManagerName = chosen?.[1] ?? ((declared?.[1] as PackageManagerName | undefined) ?? 'npm');
  if (name === 'yarn') {
    const berry = declared ? declared[1] === 'yarn' && Number(declared[2]) >= 2 : exists(dir, '.yarnrc.yml');
    if (berry) name = 'yarn-berry';
  }
  const lockfile = chosen?.[0];
  const manifests = ['package.json', ...(lockfile ? [lockfile] : []), ...INSTALL_CONFIG[name].filter((f) => exists(dir, f))];
  return { name, lockfile, manifests };
}

/**
 * The node major version from `engines.node`: the lowest version the range
 * allows (">=20.19" → 20, "^18 || ^20" → 18); `fallback` when unset or "*".
 */
export function nodeMajor(pkg: PackageJson, fallback: string, file = 'package.json'): string {
  const range = pkg.engines?.node?.trim();
  if (!range) return fallback;
  let min: semver.SemVer | null;
  try {
    min = semver.minVersion(range);
  } catch {
    min = null;
  }
  if (!min || !semver.validRange(range)) {
    throw usageError('NODE_ENGINES_INVALID', `${file}: engines.node ${JSON.stringify(range)} is not a semver range`, {
      file,
      field: 'engines.node',
      hints: ['Write a range such as ">=20", "^20.11.0" or "20.x"'],
    });
  }
  return min.major === 0 ? fallback : String(min.major);
}

const SHELL_SYNTAX = /[|&;<>()$`\\"'*?[\]{}~#]/;

/**
 * The command the image runs: the start script (run directly when it is a
 * plain `node ...` line, so node is PID 1 and gets signals; else `npm start`),
 * else `node <main>`, else `node server.js` when it exists (npm's own default).
 */
export function startCommand(dir: string, pkg: PackageJson, file = 'package.json'): string[] {
  const start = pkg.scripts?.start?.trim();
  if (start) {
    const words = start.split(/\s+/);
    if (words[0] === 'node' && !SHELL_SYNTAX.test(start)) return words;
    return ['npm', 'start'];
  }
  if (pkg.main) return ['node', pkg.main];
  if (exists(dir, 'server.js')) return ['node', 'server.js'];
  throw usageError('NODE_NO_START', `${file} has no "start" script and no "main", so there is nothing to run`, {
    file,
    field: 'scripts.start',
    hints: ['Add one: "scripts": { "start": "node server.js" }, or "main": "server.js"', 'Or set the command in sous.config.ts: stacks: { node: { command: ["node", "app.js"] } }'],
  });
}
