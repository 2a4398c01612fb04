import { STAGE, type Sous, type SousPlugin } from '@sous/core';
import { lookupBuilt } from './lookup';
import { precache } from './precache';

/** Options of the cache plugin. */
export interface CachePluginOptions {
  /** Registries (host or host:port) spoken to over plain HTTP or unverified TLS, besides those the config's registries mark insecure. */
  insecureRegistries?: string[];
  /** Blobs copied at once into each registry (default 4). */
  concurrency?: number;
  /** Reuse an earlier build's image when the inputs are identical (default true). */
  reuseBuilds?: boolean;
}

/**
 * Pre-caches every built image, with its signature, into the registries of
 * the clusters it targets, and reuses an earlier build of identical inputs
 * instead of building again.
 */
export class CachePlugin implements SousPlugin {
  static readonly PLUGIN_NAME = 'sous:cache';
  readonly name = CachePlugin.PLUGIN_NAME;

  constructor(private readonly opts: CachePluginOptions = {}) {}

  private insecure(): string[] {
    return this.opts.insecureRegistries ?? [];
  }

  apply(sous: Sous): void {
    const log = () => sous.context(this.name).logger;

    sous.hooks.precache.tapPromise(this.name, async (artifact) => {
      const tags = artifact.image.tags.map((t) => t.slice(t.lastIndexOf(':') + 1)).filter((t) => t && !t.includes('/'));
      const results = await precache({ reference: artifact.reference, tags, targets: artifact.targets, insecure: this.insecure(), concurrency: this.opts.concurrency, config: sous.config, source: { repo: artifact.source.repo, offset: artifact.source.offset } });
      for (const [cluster, r] of Object.entries(results)) {
        artifact.precache[cluster] = r;
        if (r.status === 'failed') log().warn(`pre-caching into ${cluster} (${r.registry}) failed: ${r.message}`, { cluster, registry: r.registry });
        else log().info(`pre-cached into ${cluster} (${r.registry}): ${r.status}, ${r.bytesSent ?? 0} bytes sent`, { cluster });
      }
    });

    if (this.opts.reuseBuilds !== false) {
      sous.hooks.cacheLookup.tapPromise({ name: this.name, stage: STAGE.NORMAL }, async (query) =>
        lookupBuilt(query, { insecure: this.insecure(), config: sous.config, onMiss: (why) => log().debug(`build cache miss: ${why}`) }),
      );
    }
  }
}

/** The cache plugin, for sous.config.ts: `plugins: [cache({ concurrency: 2 })]`. */
export const cache = (opts?: CachePluginOptions): CachePlugin => new CachePlugin(opts);
