import * as path from 'node:path';
import { isSemver, type Logger } from '@sous/core';
import { fileNameFor, readJson, writeAtomic } from './files';
import type { Mirrors, RemoteTag } from './mirror';

interface Known {
  repo: string;
  /** tag → the object it named when last seen. */
  tags: Record<string, string>;
  /** Tags that are not semver, each logged once. */
  ignored: string[];
}

/** What the watcher reports: a tag that appeared or moved, or one that went away. */
export interface TagChange {
  repo: string;
  tag: string;
  kind: 'new' | 'deleted';
  remote?: RemoteTag;
}

/**
 * What the server knows of each repository's tags (`watch/<repo>.json`), so
 * that polling reports only what changed since the last look, across
 * restarts, and a non-semver tag is logged once, not on every poll.
 */
export class TagWatcher {
  private timer?: NodeJS.Timeout;
  private polling?: Promise<void>;
  private stopped = false;

  constructor(
    private readonly dir: string,
    private readonly mirrors: Mirrors,
    private readonly repos: () => Promise<string[]>,
    private readonly onChange: (c: TagChange) => Promise<void>,
    private readonly logger: Logger,
  ) {}

  private file(repo: string): string {
    return path.join(this.dir, `${fileNameFor(repo)}.json`);
  }

  private known(repo: string): Known | undefined {
    return readJson<Known>(this.file(repo));
  }

  private save(k: Known): void {
    writeAtomic(this.file(k.repo), JSON.stringify(k, null, 2) + '\n');
  }

  /**
   * Whether a tag counts; a tag that does not is logged the first time it is
   * seen. Returns false for non-semver tags.
   */
  counts(repo: string, tag: string): boolean {
    if (isSemver(tag)) return true;
    const k = this.known(repo) ?? { repo, tags: {}, ignored: [] };
    if (!k.ignored.includes(tag)) {
      this.logger.info(`tag ${tag} of ${repo} is not a semver version: not built`, { repo, tag });
      k.ignored.push(tag);
      this.save(k);
    }
    return false;
  }

  /** Notes a tag as seen (a webhook told of it), so the next poll does not report it again. */
  remember(repo: string, tag: string, object: string | undefined): void {
    const k = this.known(repo);
    if (!k) return;
    if (object) k.tags[tag] = object;
    else delete k.tags[tag];
    this.save(k);
  }

  /**
   * Looks at one repository's tags. The first look at a repository only
   * records what is there: tags pushed before the server watched it are not
   * intentions it heard of.
   */
  async look(repo: string): Promise<TagChange[]> {
    const remote = await this.mirrors.lsRemote(repo);
    const k = this.known(repo);
    const next: Known = { repo, tags: Object.fromEntries([...remote].map(([t, r]) => [t, r.object])), ignored: k?.ignored ?? [] };
    const changes: TagChange[] = [];
    if (k) {
      for (const [tag, r] of remote) if (k.tags[tag] !== r.object) changes.push({ repo, tag, kind: 'new', remote: r });
      for (const tag of Object.keys(k.tags)) if (!remote.has(tag)) changes.push({ repo, tag, kind: 'deleted' });
    } else {
      this.logger.info(`watching ${repo}: ${remote.size} tag(s) already there are not built`);
    }
    for (const c of changes.filter((x) => x.kind === 'new' && !isSemver(x.tag) && !next.ignored.includes(x.tag))) {
      this.logger.info(`tag ${c.tag} of ${repo} is not a semver version: not built`, { repo, tag: c.tag });
      next.ignored.push(c.tag);
    }
    this.save(next);
    return changes.filter((c) => isSemver(c.tag));
  }

  /** One pass over every registered repository; one that cannot be reached is logged and skipped. */
  async pollOnce(): Promise<void> {
    for (const repo of await this.repos()) {
      if (this.stopped) return;
      try {
        for (const c of await this.look(repo)) await this.onChange(c);
      } catch (e) {
        this.logger.warn(`polling ${repo} failed: ${(e as Error).message}`);
      }
    }
  }

  start(intervalMs: number): void {
    const tick = () => {
      this.polling = this.pollOnce()
        .catch((e) => this.logger.warn(`polling failed: ${(e as Error).message}`))
        .finally(() => {
          this.polling = undefined;
          if (!this.stopped) this.timer = setTimeout(tick, intervalMs);
        });
    };
    tick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.polling;
  }
}
