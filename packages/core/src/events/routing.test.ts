import { completeEvent } from './emit';
import { eventsMatching, globMatch, routeMatches, suggestEventPattern } from './routing';
import type { TypedEvent } from './catalogue';

const user = { name: 'Bob', email: 'bob@example.com' };
const deployed = completeEvent(
  { type: 'deploy.succeeded', manifestID: 'github.com/acme/shop', cluster: 'prod', version: '1.0.0', owners: ['alice@example.com'] },
  { user },
) as TypedEvent;
const built = completeEvent({ type: 'build.failed', manifestID: 'github.com/other/app', version: '1.0.0', source: { repo: 'github.com/other/app', offset: '', revision: 'x' }, phase: 'build', error: { code: 'E', message: 'm' } }, { user }) as TypedEvent;

describe('routing', () => {
  it('matches event patterns, manifest globs, owners and clusters', () => {
    expect(routeMatches({}, deployed)).toBe(true);
    expect(routeMatches({ events: ['deploy.*'] }, deployed)).toBe(true);
    expect(routeMatches({ events: ['deploy.*'] }, built)).toBe(false);
    expect(routeMatches({ events: ['build.failed', 'deploy.failed'] }, built)).toBe(true);
    expect(routeMatches({ manifests: ['github.com/acme/*'] }, deployed)).toBe(true);
    expect(routeMatches({ manifests: ['github.com/acme/*'] }, built)).toBe(false);
    expect(routeMatches({ owners: ['alice@example.com'] }, deployed)).toBe(true);
    expect(routeMatches({ owners: ['*@example.com'] }, built)).toBe(true);
    expect(routeMatches({ owners: ['carol@example.com'] }, deployed)).toBe(false);
    expect(routeMatches({ clusters: ['prod'] }, deployed)).toBe(true);
    expect(routeMatches({ clusters: ['staging'] }, deployed)).toBe(false);
    expect(routeMatches({ clusters: ['prod'] }, built)).toBe(false);
    expect(routeMatches({ events: ['deploy.*'], manifests: ['github.com/acme/*'], clusters: ['stag*'] }, deployed)).toBe(false);
  });

  it('reads globs literally apart from * and ?', () => {
    expect(globMatch('github.com/acme/shop', 'github.com/acme/shop')).toBe(true);
    expect(globMatch('github.com/acme/sho?', 'github.com/acme/shop')).toBe(true);
    expect(globMatch('github.com/acme/shop', 'githubXcom/acme/shop')).toBe(false);
    expect(globMatch('github.com/acme/*', 'github.com/acme/mono,api~canary')).toBe(true);
  });

  it('knows which events a pattern names, and suggests one for a typo', () => {
    expect(eventsMatching('deploy.*')).toEqual(['deploy.requested', 'deploy.succeeded', 'deploy.failed']);
    expect(eventsMatching('*')).toHaveLength(10);
    expect(eventsMatching('deploy.finished')).toEqual([]);
    expect(suggestEventPattern('deploy.succeded')).toBe('deploy.succeeded');
    expect(suggestEventPattern('deploys.*')).toBe('deploy.*');
    expect(suggestEventPattern('zzzzzzzzzz')).toBeUndefined();
  });
});
