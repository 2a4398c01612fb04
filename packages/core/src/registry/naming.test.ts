import { checkImageNameTemplate, imageNameFor, imageNameIn } from './naming';
import { imageName, pinnedImage } from '../pipeline/image';
import { isSousError } from '../errors';

function code(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (isSousError(e)) return e.code;
    throw e;
  }
  return 'NO_ERROR';
}

describe('image names', () => {
  it('keeps the original layout by default', () => {
    expect(imageNameFor({}, '127.0.0.1:5000', 'github.com/Acme/Shop', 'api/v2')).toBe('127.0.0.1:5000/github.com/acme/shop/api/v2');
    expect(imageNameFor({}, '127.0.0.1:5000', 'github.com/acme/shop', '')).toBe(imageName('127.0.0.1:5000', 'github.com/acme/shop', ''));
    expect(imageName('127.0.0.1:5000', 'github.com/acme/shop', '', {})).toBe('127.0.0.1:5000/github.com/acme/shop');
  });

  it('renders templates per registry, then globally', () => {
    const config = { imageName: '{registry}/{owner}/{name}', registries: { 'ghcr.io': { imageName: '{registry}/{owner}/{name}-{offset}' }, 'docker.io': { imageName: '{registry}/{name}' } } };
    expect(imageNameFor(config, 'ghcr.io', 'github.com/acme/shop', 'api')).toBe('ghcr.io/acme/shop-api');
    expect(imageNameFor(config, 'ghcr.io', 'github.com/acme/shop', '')).toBe('ghcr.io/acme/shop');
    expect(imageNameFor(config, 'registry.acme.com', 'gitlab.com/group/sub/Proj', '')).toBe('registry.acme.com/group/sub/proj');
    // Docker Hub: a one-component name is an official image's, under library/.
    expect(imageNameFor(config, 'docker.io', 'github.com/acme/shop', '')).toBe('docker.io/library/shop');
    expect(imageNameFor({ imageName: '{registry}/{host}/{repo}' }, 'r.io:5000', 'github.com/acme/shop', '')).toBe('r.io:5000/github.com/github.com/acme/shop');
  });

  it('names the image in a cluster registry by its template, else by the pushed path', () => {
    expect(imageNameIn({}, 'cache.prod:5000', '127.0.0.1:5000/github.com/acme/shop', 'github.com/acme/shop', '')).toBe('cache.prod:5000/github.com/acme/shop');
    expect(imageNameIn({ registries: { 'cache.prod:5000': { imageName: '{registry}/{name}' } } }, 'cache.prod:5000', '127.0.0.1:5000/github.com/acme/shop', 'github.com/acme/shop', '')).toBe('cache.prod:5000/shop');
  });

  it('names the image a kubernetes or singularity deployment pins by the registry\'s template', () => {
    const d = `sha256:${'c'.repeat(64)}`;
    const state = { id: 'prod:github.com/acme/shop', cluster: 'prod', manifestID: { source: { repo: 'github.com/acme/shop', dir: '' }, flavor: '' }, spec: { Version: '1.0.0', Digest: d } } as never;
    const sched = { code: 'KUBERNETES', factory: 'kubernetesScheduler' };
    expect(pinnedImage(state, 'ghcr.io', sched)).toBe(`ghcr.io/github.com/acme/shop@${d}`);
    expect(pinnedImage(state, 'ghcr.io', sched, { registries: { 'ghcr.io': { imageName: '{registry}/{owner}/{name}' } } })).toBe(`ghcr.io/acme/shop@${d}`);
  });

  it.each([
    ['{owner}/{name}', 'must start with {registry}/'],
    ['{registry}/{owner}/{nme}', 'unknown placeholder {nme}'],
    ['{registry}/{name}-{flavor}', '{flavor}'],
    ['{registry}/Acme/{name}', 'characters'],
    ['{registry}/{owner}', 'neither {name} nor {repo}'],
    ['{registry}/{name', 'unmatched brace'],
  ])('refuses the template %s', (t, why) => {
    const e = checkImageNameTemplate(t, 'imageName');
    expect(e?.code).toBe('IMAGE_NAME_INVALID');
    expect(e?.exit).toBe(2);
    expect(e?.message).toContain(why);
  });

  it('refuses a rendered name registries do not take, naming the application', () => {
    const long = `github.com/acme/${'x'.repeat(260)}`;
    let err: unknown;
    try {
      imageNameFor({ imageName: '{registry}/{repo}' }, 'ghcr.io', long, '');
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ code: 'IMAGE_NAME_INVALID', exit: 2 });
    expect((err as Error).message).toContain(long);
    expect(code(() => imageNameFor({ imageName: '{registry}/{repo}' }, 'ghcr.io', 'github.com/acme/shop', ''))).toBe('NO_ERROR');
  });
});
