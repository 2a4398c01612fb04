import * as crypto from 'node:crypto';
import { legacyEtag, goJSON, TrustedNetworks } from './wire';
import { fromGoDeploySpec, goDeploySpec } from './shapes';

describe('the original server\'s wire form', () => {
  it('makes ETags as util/restful did: base64 URL alphabet with padding, of the MD5 of the JSON and its newline', () => {
    // base64.URLEncoding keeps the "==" padding.
    expect(goJSON({ a: 1 })).toBe('{"a":1}\n');
    expect(legacyEtag({ a: 1 })).toMatch(/^[A-Za-z0-9_-]{22}==$/);
    expect(legacyEtag({ a: 1 })).toBe(crypto.createHash('md5').update('{"a":1}\n').digest('base64').replace(/\+/g, '-').replace(/\//g, '_'));
    expect(legacyEtag({ a: 1 })).not.toBe(legacyEtag({ a: 2 }));
  });

  it('trusts only the networks listed, IPv4-mapped addresses included', () => {
    const t = new TrustedNetworks(['10.0.0.0/8', '192.168.1.7', 'fd00::/8']);
    expect(['10.1.2.3', '::ffff:10.9.9.9', '192.168.1.7', 'fd00::1'].map((a) => t.allows(a))).toEqual([true, true, true, true]);
    expect(['11.0.0.1', '192.168.1.8', '127.0.0.1', '::1', undefined].map((a) => t.allows(a))).toEqual([false, false, false, false, false]);
    expect(() => new TrustedNetworks(['10.0.0.0/33'])).toThrow(/prefix/);
    expect(() => new TrustedNetworks(['ten'])).toThrow(/not an address/);
  });

  it('decodes a DeploySpec as Go did and refuses the wrong types', () => {
    const errors: string[] = [];
    const spec = fromGoDeploySpec(goDeploySpec({ Resources: { cpus: '0.1', memory: '100', ports: '1' }, Env: { A: 'b' }, NumInstances: 2, Volumes: [], Startup: { CheckReadyURIPath: '/ready' }, Version: '1.2.0' }), 'Deployment', errors);
    expect(errors).toEqual([]);
    expect(spec).toMatchObject({ NumInstances: 2, Env: { A: 'b' }, Startup: { CheckReadyURIPath: '/ready' }, Version: '1.2.0' });
    fromGoDeploySpec({ NumInstances: '2', Env: [], Startup: { SkipCheck: 'yes' } }, 'Deployment', errors);
    expect(errors).toEqual(['Deployment.Env is not an object of strings', 'Deployment.NumInstances is not a whole number', 'Deployment.Startup.SkipCheck is not true or false']);
  });
});
