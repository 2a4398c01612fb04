import { Mirrors, parseLsRemote } from './mirror';

describe('parseLsRemote', () => {
  it('gives each tag its object and the commit under it (peeled for annotated tags)', () => {
    const c = 'c'.repeat(40);
    const t = 't'.replace('t', 'a').repeat(40);
    const out = [`${c}\trefs/tags/light`, `${t}\trefs/tags/v1.0.0`, `${c}\trefs/tags/v1.0.0^{}`, 'garbage', ''].join('\n');
    expect([...parseLsRemote(out)]).toEqual([
      ['light', { object: c, commit: c }],
      ['v1.0.0', { object: t, commit: c }],
    ]);
  });
});

describe('Mirrors.urlOf', () => {
  it('defaults to https://<repo>.git and refuses URLs git would run commands for', () => {
    const m = (url?: string) => new Mirrors('/tmp/none', { repositories: url ? { 'github.com/acme/shop': { url } } : {} });
    expect(m().urlOf('github.com/acme/shop')).toBe('https://github.com/acme/shop.git');
    expect(m('git://127.0.0.1:9418/shop.git').urlOf('github.com/acme/shop')).toBe('git://127.0.0.1:9418/shop.git');
    for (const bad of ['ext::sh -c touch% /tmp/pwned', '--upload-pack=touch /tmp/x', '/srv/git/shop.git']) {
      expect(() => m(bad).urlOf('github.com/acme/shop')).toThrow(expect.objectContaining({ code: 'INVALID_REPOSITORY_URL' }));
    }
  });
});
