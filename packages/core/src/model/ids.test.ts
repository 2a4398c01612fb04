import {
  formatDeploymentID,
  formatManifestID,
  formatSourceID,
  formatSourceLocation,
  parseDeploymentID,
  parseManifestID,
  parseSourceID,
  parseSourceLocation,
  manifestIDEquals,
  type SourceLocation,
} from './ids';
import type { SousError } from '../errors';

function code(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    return (e as SousError).code;
  }
  return 'NO_ERROR';
}

describe('SourceLocation repo[,dir]', () => {
  it.each([
    ['github.com/opentable/sous', { repo: 'github.com/opentable/sous', dir: '' }],
    ['github.com/acme/shop,api', { repo: 'github.com/acme/shop', dir: 'api' }],
    ['github.com/acme/shop,services/api', { repo: 'github.com/acme/shop', dir: 'services/api' }],
    // A first character outside A-Za-z0-9./ is the delimiter instead of a comma.
    ['|github.com/acme/shop|dir,with,commas', { repo: 'github.com/acme/shop', dir: 'dir,with,commas' }],
    [';github.com/a,b;d', { repo: 'github.com/a,b', dir: 'd' }],
    ['./relative,x', { repo: './relative', dir: 'x' }],
    ['1repo,x', { repo: '1repo', dir: 'x' }],
  ])('parses %j', (s, want) => {
    expect(parseSourceLocation(s)).toEqual(want);
  });

  it.each([
    ['', 'MISSING_REPO'],
    ['|', 'MISSING_REPO'],
    ['github.com/a/b,dir,extra', 'INVALID_SOURCE_LOCATION'],
    ['github.com/a/b,my dir', 'INVALID_ID'],
    ['github.com/a/b\t', 'INVALID_ID'],
  ])('refuses %j with %s', (s, c) => {
    expect(code(() => parseSourceLocation(s))).toBe(c);
  });

  it.each<[SourceLocation, string]>([
    [{ repo: 'github.com/acme/shop', dir: '' }, 'github.com/acme/shop'],
    [{ repo: 'github.com/acme/shop', dir: 'api' }, 'github.com/acme/shop,api'],
    [{ repo: 'github.com/acme/shop', dir: 'a,b' }, '|github.com/acme/shop|a,b'],
    [{ repo: 'r,1', dir: '' }, '|r,1'],
  ])('formats %j as %j and parses it back', (sl, s) => {
    expect(formatSourceLocation(sl)).toBe(s);
    expect(parseSourceLocation(s)).toEqual(sl);
  });

  it('picks another delimiter when | is taken', () => {
    const sl = { repo: 'r|x', dir: 'a,b' };
    const s = formatSourceLocation(sl);
    expect(s).toBe(';r|x;a,b');
    expect(parseSourceLocation(s)).toEqual(sl);
  });

  it('normalises to NFC', () => {
    expect(parseSourceLocation('github.com/a/cafe\u0301').repo).toBe('github.com/a/caf\u00e9');
  });
});

describe('SourceID repo,version[,dir]', () => {
  it.each([
    ['github.com/opentable/sous,1.0.0-rc.1+deadbeef', { location: { repo: 'github.com/opentable/sous', dir: '' }, version: '1.0.0-rc.1+deadbeef' }],
    ['github.com/acme/shop,2.3.4,api', { location: { repo: 'github.com/acme/shop', dir: 'api' }, version: '2.3.4' }],
    ['|github.com/acme/shop|1.0.0|a,b', { location: { repo: 'github.com/acme/shop', dir: 'a,b' }, version: '1.0.0' }],
    ['github.com/acme/shop,v1.2.3', { location: { repo: 'github.com/acme/shop', dir: '' }, version: '1.2.3' }],
  ])('parses %j', (s, want) => {
    expect(parseSourceID(s)).toEqual(want);
  });

  it.each([
    ['', 'MISSING_REPO'],
    ['github.com/acme/shop', 'MISSING_VERSION'],
    ['github.com/acme/shop,', 'MISSING_VERSION'],
    ['github.com/acme/shop,latest', 'NOT_SEMVER'],
    ['github.com/acme/shop,1.2', 'NOT_SEMVER'],
    ['github.com/acme/shop,1.0.0,a,b', 'INVALID_SOURCE_ID'],
  ])('refuses %j with %s', (s, c) => {
    expect(code(() => parseSourceID(s))).toBe(c);
  });

  it('formats and parses back', () => {
    for (const sid of [
      { location: { repo: 'github.com/a/b', dir: '' }, version: '1.0.0' },
      { location: { repo: 'github.com/a/b', dir: 'x/y' }, version: '1.0.0-rc.1+abc' },
      { location: { repo: 'github.com/a/b', dir: 'x,y' }, version: '0.0.1' },
    ]) {
      expect(parseSourceID(formatSourceID(sid))).toEqual(sid);
    }
    expect(formatSourceID({ location: { repo: 'github.com/a/b', dir: 'x' }, version: '1.0.0' })).toBe('github.com/a/b,1.0.0,x');
  });
});

describe('ManifestID repo[,dir][~flavor]', () => {
  it.each([
    ['github.com/acme/shop', { source: { repo: 'github.com/acme/shop', dir: '' }, flavor: '' }],
    ['github.com/acme/shop~canary', { source: { repo: 'github.com/acme/shop', dir: '' }, flavor: 'canary' }],
    ['github.com/acme/shop,api~canary', { source: { repo: 'github.com/acme/shop', dir: 'api' }, flavor: 'canary' }],
    ['|github.com/acme/shop|a,b~f', { source: { repo: 'github.com/acme/shop', dir: 'a,b' }, flavor: 'f' }],
  ])('parses %j', (s, want) => {
    expect(parseManifestID(s)).toEqual(want);
    expect(formatManifestID(want)).toBe(s);
  });

  it.each([
    ['github.com/a/b~x~y', 'INVALID_MANIFEST_ID'],
    ['~flavor', 'MISSING_REPO'],
    ['github.com/a/b~my flavor', 'INVALID_ID'],
  ])('refuses %j with %s', (s, c) => {
    expect(code(() => parseManifestID(s))).toBe(c);
  });

  it('compares by value', () => {
    expect(manifestIDEquals(parseManifestID('github.com/a/b,x~f'), { source: { repo: 'github.com/a/b', dir: 'x' }, flavor: 'f' })).toBe(true);
    expect(manifestIDEquals(parseManifestID('github.com/a/b,x~f'), parseManifestID('github.com/a/b,x'))).toBe(false);
  });
});

describe('DeploymentID cluster:manifestID', () => {
  it('parses and formats', () => {
    const did = parseDeploymentID('prod:github.com/acme/shop,api~canary');
    expect(did).toEqual({ cluster: 'prod', manifestID: { source: { repo: 'github.com/acme/shop', dir: 'api' }, flavor: 'canary' } });
    expect(formatDeploymentID(did)).toBe('prod:github.com/acme/shop,api~canary');
    expect(formatDeploymentID({ cluster: 'cluster-1', manifestID: parseManifestID('github.com/opentable/sous') })).toBe('cluster-1:github.com/opentable/sous');
  });

  it.each([
    ['github.com/acme/shop', 'INVALID_DEPLOYMENT_ID'],
    [':github.com/acme/shop', 'INVALID_DEPLOYMENT_ID'],
    ['prod:', 'MISSING_REPO'],
    ['my prod:github.com/a/b', 'INVALID_ID'],
  ])('refuses %j with %s', (s, c) => {
    expect(code(() => parseDeploymentID(s))).toBe(c);
  });
});
