import { proxyFor } from './proxy';
import { networkFailure } from './fetch';

describe('proxyFor', () => {
  const env = { HTTPS_PROXY: 'http://proxy.corp:3128', http_proxy: 'proxy.corp:8080', NO_PROXY: 'internal.corp, .lan,10.0.0.0/8,registry.acme.com:5000' };
  it.each([
    ['https://ghcr.io/v2/', 'http://proxy.corp:3128'],
    ['http://plain.example.com/', 'http://proxy.corp:8080'],
    ['https://internal.corp/v2/', undefined],
    ['https://a.internal.corp/v2/', undefined],
    ['https://x.lan/', undefined],
    ['https://lan/', undefined],
    ['https://10.1.2.3/', undefined],
    ['https://11.1.2.3/', 'http://proxy.corp:3128'],
    ['https://registry.acme.com:5000/', undefined],
    ['https://registry.acme.com/', 'http://proxy.corp:3128'],
    ['https://127.0.0.1:5000/', undefined],
    ['http://localhost:5000/', undefined],
    ['https://[::1]:5000/', undefined],
  ])('%s → %s', (url, want) => {
    expect(proxyFor(url, env)).toBe(want);
  });
  it('sends nothing through a proxy without the variables, and everything but loopback with NO_PROXY unset', () => {
    expect(proxyFor('https://ghcr.io/', {})).toBeUndefined();
    expect(proxyFor('https://ghcr.io/', { HTTPS_PROXY: 'http://p:1', NO_PROXY: '*' })).toBeUndefined();
    expect(proxyFor('https://ghcr.io/', { HTTPS_PROXY: 'http://p:1' })).toBe('http://p:1');
    // https does not fall back on HTTP_PROXY, as curl and Go read them.
    expect(proxyFor('https://ghcr.io/', { HTTP_PROXY: 'http://p:1' })).toBeUndefined();
  });
});

describe('networkFailure', () => {
  const wrap = (cause: object) => Object.assign(new TypeError('fetch failed'), { cause });
  it('tells TLS, proxy and network failures apart', () => {
    expect(networkFailure(wrap({ code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', message: 'unable to verify the first certificate' })).kind).toBe('tls-untrusted');
    expect(networkFailure(wrap({ code: 'ERR_TLS_CERT_ALTNAME_INVALID' })).kind).toBe('tls-mismatch');
    expect(networkFailure(wrap({ code: 'ERR_SSL_WRONG_VERSION_NUMBER' })).kind).toBe('not-tls');
    expect(networkFailure(wrap({ message: 'Proxy response (403) !== 200 when HTTP Tunneling' })).kind).toBe('proxy');
    expect(networkFailure(wrap({ code: 'ECONNREFUSED' })).kind).toBe('network');
  });
});
