import { connectEngine, DEFAULT_DOCKER_HOST, pingEngine, resolveDockerHost } from './engine';
import { splitRepository } from './registry';
import { repositoryOf } from './build';
import { deadPort } from './testing/engine';

describe('finding the engine', () => {
  it('takes the given host, then the config, then DOCKER_HOST, then the local socket', () => {
    const env = { DOCKER_HOST: 'tcp://env:2375' };
    expect(resolveDockerHost('unix:///given.sock', env)).toBe('unix:///given.sock');
    expect(resolveDockerHost({ dockerHost: 'tcp://config:2375' }, env)).toBe('tcp://config:2375');
    expect(resolveDockerHost({}, env)).toBe('tcp://env:2375');
    expect(resolveDockerHost(undefined, {})).toBe(DEFAULT_DOCKER_HOST);
  });

  it('understands unix://, tcp:// and http(s):// addresses', () => {
    expect(connectEngine('unix:///run/x/docker.sock').modem).toMatchObject({ socketPath: '/run/x/docker.sock' });
    expect(connectEngine('tcp://10.0.0.1:2375').modem).toMatchObject({ host: '10.0.0.1', port: '2375', protocol: 'http' });
    expect(connectEngine('https://builder.example:2376').modem).toMatchObject({ host: 'builder.example', protocol: 'https' });
    expect(connectEngine('tcp://10.0.0.1:2375')).toBe(connectEngine('tcp://10.0.0.1:2375'));
  });

  it('refuses an address it cannot use, with a hint', () => {
    expect(() => connectEngine('ftp://x')).toThrow(expect.objectContaining({ code: 'DOCKER_HOST_INVALID' }));
  });

  it('says ENGINE_UNREACHABLE, with hints, when nothing listens', async () => {
    for (const host of ['unix:///nonexistent/docker.sock', `tcp://127.0.0.1:${await deadPort()}`]) {
      const e = await pingEngine(connectEngine(host)).then(
        () => undefined,
        (err) => err,
      );
      expect(e).toMatchObject({ code: 'ENGINE_UNREACHABLE' });
      expect(e.message).toContain(host.startsWith('unix') ? '/nonexistent/docker.sock' : host);
      expect(e.hints.join('\n')).toMatch(/DOCKER_HOST=.*\n.*node scripts\/local-engine\.js start/);
    }
  });
});

describe('image references', () => {
  it('splits registry and repository, and strips tags and digests', () => {
    expect(splitRepository('127.0.0.1:5000/acme/app')).toEqual({ host: '127.0.0.1:5000', repository: 'acme/app' });
    expect(splitRepository('registry.example/app')).toEqual({ host: 'registry.example', repository: 'app' });
    expect(splitRepository('acme/app')).toEqual({ host: 'docker.io', repository: 'acme/app' });
    expect(repositoryOf('127.0.0.1:5000/acme/app:1.0.0')).toBe('127.0.0.1:5000/acme/app');
    expect(repositoryOf(`127.0.0.1:5000/acme/app@sha256:${'a'.repeat(64)}`)).toBe('127.0.0.1:5000/acme/app');
    expect(repositoryOf('127.0.0.1:5000/acme/app')).toBe('127.0.0.1:5000/acme/app');
  });
});
