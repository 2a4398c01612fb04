/**
 * Image names per registry. The default is the original Sous's layout,
 * `<registry>/<repo path lowercased>[/<offset>]`; hosted registries want
 * names under an account (`ghcr.io/<owner>/<name>`, `docker.io/<user>/<name>`,
 * ECR's `<repository>`), so a template may be set globally (`imageName`) or
 * per registry (`registries.<host>.imageName`).
 *
 * Placeholders, from the source location `github.com/acme/shop,api`:
 * `{registry}` the registry (host[:port][/path]), `{host}` github.com,
 * `{owner}` acme (every component between host and name), `{name}` shop,
 * `{repo}` github.com/acme/shop, `{offset}` api. Each value is lowercased and
 * made a valid path component; empty components disappear.
 */
import { usageError, type SousError } from '../errors';
import { parseImageReference } from './reference';
import { canonicalRegistry, registrySettings, type RegistryConfig } from './settings';

export const DEFAULT_IMAGE_NAME = '{registry}/{repo}/{offset}';
export const IMAGE_NAME_PLACEHOLDERS = ['registry', 'host', 'owner', 'name', 'repo', 'offset'] as const;
/** The distribution registry refuses longer names (host and path together). */
export const MAX_NAME_LENGTH = 255;

const LITERAL = /^[a-z0-9._/-]*$/;

function invalid(template: string, field: string, why: string, hints: string[] = []): SousError {
  return usageError('IMAGE_NAME_INVALID', `${field}: the image name template ${JSON.stringify(template)} ${why}`, {
    field,
    hints: [...hints, `Placeholders: ${IMAGE_NAME_PLACEHOLDERS.map((p) => `{${p}}`).join(' ')}; e.g. "{registry}/{owner}/{name}" (docs/registries.md has one per hosted registry)`],
  });
}

/** Checks a template as the config is read: it starts with {registry}/, names only known placeholders, and its literal parts are valid in a repository name. */
export function checkImageNameTemplate(template: string, field: string): SousError | undefined {
  if (!template.startsWith('{registry}/')) return invalid(template, field, 'must start with {registry}/', ['The registry part comes from `registry`, DockerRepo or the cluster\'s Registry']);
  for (const m of template.matchAll(/\{([^{}]*)\}/g)) {
    if (m[1] === 'flavor') {
      return invalid(template, field, 'uses {flavor}, which no image name can carry: one image is built per source location and serves every flavor of it', ['Leave {flavor} out']);
    }
    if (!(IMAGE_NAME_PLACEHOLDERS as readonly string[]).includes(m[1])) return invalid(template, field, `names an unknown placeholder {${m[1]}}`);
  }
  const literal = template.replace(/\{[^{}]*\}/g, '');
  if (/[{}]/.test(literal)) return invalid(template, field, 'has an unmatched brace');
  if (!LITERAL.test(literal)) return invalid(template, field, 'has characters no repository name may hold (lowercase letters, digits, . _ - and / only)');
  if (!/\{(name|repo)\}/.test(template)) return invalid(template, field, 'names neither {name} nor {repo}: every application would get the same image name');
  return undefined;
}

/** The template that applies to a registry, and where it was set. */
export function imageNameTemplate(config: RegistryConfig | undefined, registry: string): { template: string; from: string; configured: boolean } {
  const { key, settings } = registrySettings(canonicalRegistry(registry), config);
  if (settings.imageName) return { template: settings.imageName, from: `registries.${key}.imageName`, configured: true };
  if (config?.imageName) return { template: config.imageName, from: 'imageName', configured: true };
  return { template: DEFAULT_IMAGE_NAME, from: 'the default layout', configured: false };
}

/** One path component, made valid as the original's layout always made it (pipeline/image.ts). */
function component(s: string): string {
  const c = s
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/^[._-]+|[._-]+$/g, '');
  return c || 'x';
}

/** The placeholder values of a source location. */
export function namePlaceholders(registry: string, repo: string, offset: string): Record<(typeof IMAGE_NAME_PLACEHOLDERS)[number], string> {
  const parts = repo.split('/').filter(Boolean);
  return {
    registry: registry.replace(/\/+$/, ''),
    host: parts[0] ?? '',
    owner: parts.slice(1, -1).join('/'),
    name: parts.length > 1 ? parts[parts.length - 1] : '',
    repo: parts.join('/'),
    offset: offset.split('/').filter(Boolean).join('/'),
  };
}

/** Renders a template (checked beforehand) into `registry/repository`. */
export function renderImageName(template: string, registry: string, repo: string, offset: string): string {
  const values = namePlaceholders(registry, repo, offset);
  const rest = template.slice('{registry}/'.length).replace(/\{([a-z]+)\}/g, (_m, p: keyof typeof values) => values[p] ?? '');
  const path = rest
    .split('/')
    .filter(Boolean)
    .map(component)
    .join('/');
  const host = values.registry;
  const repository = canonicalRegistry(host) === 'docker.io' && !path.includes('/') && !host.includes('/') ? `library/${path}` : path;
  return `${host}/${repository}`;
}

/**
 * The image name of a source location in a registry: the registry's
 * template, else the config's, else the default layout. A name the OCI
 * distribution rules refuse is IMAGE_NAME_INVALID naming the application and
 * the template.
 */
export function imageNameFor(config: RegistryConfig | undefined, registry: string, repo: string, offset: string): string {
  const t = imageNameTemplate(config, registry);
  const app = `${repo}${offset ? `,${offset}` : ''}`;
  const problem = checkImageNameTemplate(t.template, t.from);
  if (problem) throw problem;
  const name = renderImageName(t.template, registry, repo, offset);
  const why = (reason: string) =>
    usageError('IMAGE_NAME_INVALID', `the image name of ${app} from ${t.from} (${JSON.stringify(t.template)}) is ${JSON.stringify(name)}, which ${reason}`, {
      field: t.from === 'the default layout' ? undefined : t.from,
      hints: ['Change the template so every application gets a valid name (docs/registries.md)'],
      details: { manifest: app, template: t.template, name },
    });
  if (name.endsWith('/') || name.split('/').length < 2 || !name.slice(name.indexOf('/') + 1)) throw why('has no repository path');
  if (name.length > MAX_NAME_LENGTH) throw why(`is longer than the ${MAX_NAME_LENGTH} characters registries take`);
  try {
    parseImageReference(name);
  } catch (e) {
    throw why(`is not a valid image name: ${(e as Error).message}`);
  }
  return name;
}

/**
 * The name an image has in another registry (a cluster's, pre-cached there):
 * that registry's template when one is configured, else the image's own
 * repository path under that registry (the original's rule).
 */
export function imageNameIn(config: RegistryConfig | undefined, registry: string, image: string, repo: string, offset: string): string {
  if (imageNameTemplate(config, registry).configured) return imageNameFor(config, registry, repo, offset);
  return `${registry.replace(/\/+$/, '')}/${parseImageReference(image).repository}`;
}
