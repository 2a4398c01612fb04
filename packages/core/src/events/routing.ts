/**
 * Routing rules of a notifier entry: which events, manifests, owners and
 * clusters it hears about. Every list is optional; an absent list matches
 * everything, and an entry matches when every list it has matches.
 */
import { closest } from '../util/text';
import { EVENT_TYPES, type TypedEvent } from './catalogue';

/** The routing part of a `notifiers` entry. */
export interface NotifierRoute {
  /** Event types or patterns: `deploy.succeeded`, `deploy.*`, `*`. Default: every event. */
  events?: string[];
  /** Globs on the manifestID (`*` any run of characters, `?` one): `github.com/acme/*`. */
  manifests?: string[];
  /** E-mail addresses (globs allowed): matches the manifest's owners and the event's user. */
  owners?: string[];
  /** Cluster names (globs allowed). An event without a cluster (a build) does not match. */
  clusters?: string[];
}

const globCache = new Map<string, RegExp>();

/** `*` matches any run of characters (slashes too), `?` exactly one; matching ignores case. */
export function globToRegExp(glob: string): RegExp {
  let re = globCache.get(glob);
  if (!re) {
    const body = glob
      .split('')
      .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.+^${}()|[\]\\]/g, '\\$&')))
      .join('');
    re = new RegExp(`^${body}$`, 'i');
    globCache.set(glob, re);
  }
  return re;
}

export function globMatch(glob: string, value: string): boolean {
  return globToRegExp(glob).test(value);
}

/** The event types an events pattern names (empty when it names none). */
export function eventsMatching(pattern: string): string[] {
  return EVENT_TYPES.filter((t) => globMatch(pattern, t));
}

/** A "did you mean" for an events pattern that matches nothing. */
export function suggestEventPattern(pattern: string): string | undefined {
  const prefixes = [...new Set(EVENT_TYPES.map((t) => t.split('.')[0] + '.*'))];
  return closest(pattern, [...EVENT_TYPES, ...prefixes, '*']);
}

export function routeMatches(route: NotifierRoute, event: TypedEvent): boolean {
  if (route.events?.length && !route.events.some((p) => globMatch(p, event.type))) return false;
  if (route.manifests?.length && !route.manifests.some((g) => globMatch(g, event.manifestID))) return false;
  if (route.clusters?.length) {
    const cluster = event.cluster;
    if (!cluster || !route.clusters.some((g) => globMatch(g, cluster))) return false;
  }
  if (route.owners?.length) {
    const people = [...(event.owners ?? []), event.user?.email].filter((x): x is string => !!x);
    if (!route.owners.some((g) => people.some((p) => globMatch(g, p)))) return false;
  }
  return true;
}
