import { Sous, pluginError } from './sous';
import { STAGE, type Logger, type SousPlugin } from './plugin';
import { SousError, isSousError, usageError } from '../errors';
import type { ResolvedConfig } from '../config/types';

const config = { warnings: [] } as unknown as ResolvedConfig;

function recordingLogger(): Logger & { lines: { msg: string; fields?: Record<string, unknown> }[] } {
  const lines: { msg: string; fields?: Record<string, unknown> }[] = [];
  const l = {
    lines,
    trace() {},
    debug() {},
    info() {},
    warn() {},
    error(msg: string, fields?: Record<string, unknown>) {
      lines.push({ msg, fields });
    },
    child() {
      return l;
    },
  };
  return l;
}

const plugin = (name: string, apply: (sous: Sous) => void): SousPlugin => ({ name, apply });

async function caught(p: Promise<unknown> | (() => unknown)): Promise<SousError> {
  try {
    if (typeof p === 'function') p();
    else await p;
  } catch (e) {
    expect(isSousError(e)).toBe(true);
    return e as SousError;
  }
  throw new Error('expected an error');
}

describe('Sous hooks object', () => {
  it('is one frozen object holding every hook', () => {
    const sous = new Sous(config);
    expect(Object.isFrozen(sous.hooks)).toBe(true);
    expect(() => {
      (sous.hooks as unknown as Record<string, unknown>).detectStack = null;
    }).toThrow(TypeError);
    for (const name of ['validate', 'resolvedConfig', 'sourceContext', 'detectStack', 'buildPlan', 'cacheLookup', 'cacheStore', 'buildImage', 'testImage', 'publish', 'sign', 'precache', 'artifactReady', 'verifyArtifact', 'updateManifest', 'scheduler', 'plan', 'beforeAction', 'afterAction', 'rectified', 'failed', 'event']) {
      expect(sous.hooks).toHaveProperty(name);
    }
  });

  it('applies plugins in order and remembers them', () => {
    const seen: string[] = [];
    const sous = new Sous(config).use(plugin('a', () => seen.push('a')), plugin('b', () => seen.push('b')));
    expect(seen).toEqual(['a', 'b']);
    expect(sous.plugins.map((p) => p.name)).toEqual(['a', 'b']);
  });

  it('reports a plugin whose apply throws by name, keeping its code', async () => {
    const sous = new Sous(config);
    const e = await caught(() =>
      sous.use(
        plugin('sous:broken', () => {
          throw usageError('BROKEN_OPTIONS', 'bad options', { hints: ['fix them'] });
        }),
      ),
    );
    expect(e.code).toBe('BROKEN_OPTIONS');
    expect(e.message).toBe('[sous:broken] apply: bad options');
    expect(e.exit).toBe(2);
    expect(e.hints).toEqual(['fix them']);
    expect(e.details).toMatchObject({ plugin: 'sous:broken', hook: 'apply' });
    expect(sous.plugins).toHaveLength(0);
  });
});

describe('tap order', () => {
  it('runs taps by STAGE, whatever order they were tapped in', async () => {
    const sous = new Sous(config);
    const order: string[] = [];
    const tap = (name: string, stage: number) =>
      sous.hooks.artifactReady.tapPromise({ name, stage }, async () => {
        order.push(name);
      });
    tap('enforce', STAGE.ENFORCE);
    tap('normal', STAGE.NORMAL);
    tap('late', STAGE.LATE);
    tap('defaults', STAGE.DEFAULTS);
    tap('early', STAGE.EARLY);
    await sous.hooks.artifactReady.promise({} as never);
    expect(order).toEqual(['defaults', 'early', 'normal', 'late', 'enforce']);
  });

  it('keeps tap order within one stage', async () => {
    const sous = new Sous(config);
    const order: string[] = [];
    for (const n of ['x', 'y', 'z']) sous.hooks.rectified.tap(n, () => void order.push(n));
    await sous.hooks.rectified.promise({} as never);
    expect(order).toEqual(['x', 'y', 'z']);
  });

  it('orders the stage constants DEFAULTS < EARLY < NORMAL < LATE < ENFORCE', () => {
    expect(STAGE.DEFAULTS).toBeLessThan(STAGE.EARLY);
    expect(STAGE.EARLY).toBeLessThan(STAGE.NORMAL);
    expect(STAGE.NORMAL).toBeLessThan(STAGE.LATE);
    expect(STAGE.LATE).toBeLessThan(STAGE.ENFORCE);
    expect(Object.isFrozen(STAGE)).toBe(true);
  });
});

describe('bail and waterfall', () => {
  it('bail: the first tap that answers wins and later taps are not called', async () => {
    const sous = new Sous(config);
    const called: string[] = [];
    sous.hooks.detectStack.tapPromise('none', async () => {
      called.push('none');
      return undefined;
    });
    sous.hooks.detectStack.tapPromise('node', async () => {
      called.push('node');
      return 'node';
    });
    sous.hooks.detectStack.tapPromise('go', async () => {
      called.push('go');
      return 'go';
    });
    expect(await sous.hooks.detectStack.promise({} as never)).toBe('node');
    expect(called).toEqual(['none', 'node']);
  });

  it('bail: a DEFAULTS-stage tap only answers when no other does', async () => {
    const sous = new Sous(config);
    sous.hooks.detectStack.tapPromise({ name: 'fallback', stage: STAGE.DEFAULTS }, async () => 'dockerfile');
    expect(await sous.hooks.detectStack.promise({} as never)).toBe('dockerfile');
    const sous2 = new Sous(config);
    sous2.hooks.detectStack.tapPromise('node', async () => 'node');
    sous2.hooks.detectStack.tapPromise({ name: 'fallback', stage: STAGE.DEFAULTS }, async () => 'dockerfile');
    expect(await sous2.hooks.detectStack.promise({} as never)).toBe('dockerfile');
  });

  it('bail: undefined from every tap gives undefined', async () => {
    const sous = new Sous(config);
    sous.hooks.detectStack.tapPromise('a', async () => undefined);
    expect(await sous.hooks.detectStack.promise({} as never)).toBeUndefined();
  });

  it('sync bail through a HookMap: scheduler.for(kind)', () => {
    const sous = new Sous(config);
    const sched = { kind: 'docker' } as never;
    sous.hooks.scheduler.for('docker').tap('sous:scheduler-docker', () => sched);
    expect(sous.hooks.scheduler.for('docker').call({} as never)).toBe(sched);
    expect(sous.hooks.scheduler.for('swarm').call({} as never)).toBeUndefined();
  });

  it('waterfall: each tap gets the value the one before returned', async () => {
    const sous = new Sous(config);
    sous.hooks.buildPlan.for('node').tapPromise('b', async (plan) => ({ ...plan, dockerfile: plan.dockerfile + ' b' }));
    sous.hooks.buildPlan.for('node').tapPromise({ name: 'a', stage: STAGE.EARLY }, async (plan) => ({ ...plan, dockerfile: plan.dockerfile + ' a' }));
    sous.hooks.buildPlan.for('node').tap({ name: 'c', stage: STAGE.LATE }, (plan) => ({ ...plan, dockerfile: plan.dockerfile + ' c' }));
    const out = await sous.hooks.buildPlan.for('node').promise({ dockerfile: 'FROM x' } as never, {} as never);
    expect(out.dockerfile).toBe('FROM x a b c');
    // Another key of the map is another hook.
    const go = await sous.hooks.buildPlan.for('go').promise({ dockerfile: 'FROM y' } as never, {} as never);
    expect(go.dockerfile).toBe('FROM y');
  });

  it('sync waterfall: resolvedConfig', () => {
    const sous = new Sous(config);
    sous.hooks.resolvedConfig.tap('p', (c) => ({ ...c, stack: 'go' }));
    expect(sous.hooks.resolvedConfig.call(config).stack).toBe('go');
  });
});

describe('a tap that throws', () => {
  it('is reported with plugin and hook name, keeping its code, exit, hints and details', async () => {
    const sous = new Sous(config);
    sous.hooks.publish.tapPromise('sous:docker', async () => {
      throw new SousError('REGISTRY_UNREACHABLE', 'cannot reach 127.0.0.1:5000', { exit: 1, hints: ['start it'], details: { addr: '127.0.0.1:5000' }, file: 'x', field: 'y' });
    });
    const e = await caught(sous.hooks.publish.promise({} as never));
    expect(e.code).toBe('REGISTRY_UNREACHABLE');
    expect(e.message).toBe('[sous:docker] publish: cannot reach 127.0.0.1:5000');
    expect(e.exit).toBe(1);
    expect(e.hints).toEqual(['start it']);
    expect(e.file).toBe('x');
    expect(e.field).toBe('y');
    expect(e.details).toEqual({ addr: '127.0.0.1:5000', plugin: 'sous:docker', hook: 'publish' });
    expect(isSousError(e.cause)).toBe(true);
  });

  it('a plain Error becomes PLUGIN_ERROR', async () => {
    const sous = new Sous(config);
    sous.hooks.buildImage.tapPromise('sous:docker', async () => {
      throw new Error('boom');
    });
    const e = await caught(sous.hooks.buildImage.promise({} as never));
    expect(e.code).toBe('PLUGIN_ERROR');
    expect(e.message).toBe('[sous:docker] buildImage: boom');
    expect(e.details).toEqual({ plugin: 'sous:docker', hook: 'buildImage' });
  });

  it('a non-Error thrown value is reported too', async () => {
    const sous = new Sous(config);
    sous.hooks.sign.tapPromise('p', () => Promise.reject('a string'));
    const e = await caught(sous.hooks.sign.promise({} as never));
    expect(e.message).toBe('[p] sign: a string');
  });

  it('wraps sync taps, callback taps and HookMap taps, naming the map key', async () => {
    const sous = new Sous(config);
    sous.hooks.validate.tap('sous:v', () => {
      throw usageError('CONFIG_BAD', 'no');
    });
    const sync = await caught(() => sous.hooks.validate.call(config, { errors: [], warnings: [] }));
    expect(sync.message).toBe('[sous:v] validate: no');
    expect(sync.exit).toBe(2);

    sous.hooks.cacheStore.tapAsync('sous:cache', (_q, _i, cb) => cb(new Error('disk full')));
    const cbErr = await caught(sous.hooks.cacheStore.promise({} as never, {} as never));
    expect(cbErr.message).toBe('[sous:cache] cacheStore: disk full');

    sous.hooks.cacheLookup.tapAsync('sous:cache2', () => {
      throw new Error('sync throw in async tap');
    });
    const cbThrow = await caught(sous.hooks.cacheLookup.promise({} as never));
    expect(cbThrow.message).toBe('[sous:cache2] cacheLookup: sync throw in async tap');

    sous.hooks.buildPlan.for('go').tapPromise('sous:stack-go', async () => {
      throw new SousError('GO_MOD_MISSING', 'no go.mod');
    });
    const m = await caught(sous.hooks.buildPlan.for('go').promise({} as never, {} as never));
    expect(m.code).toBe('GO_MOD_MISSING');
    expect(m.message).toBe('[sous:stack-go] buildPlan.for(go): no go.mod');
    expect(m.details).toMatchObject({ plugin: 'sous:stack-go', hook: 'buildPlan.for(go)' });

    sous.hooks.scheduler.for('k8s').tap('sous:k8s', () => {
      throw new Error('no api');
    });
    const s = await caught(() => sous.hooks.scheduler.for('k8s').call({} as never));
    expect(s.message).toBe('[sous:k8s] scheduler.for(k8s): no api');
  });

  it('stops the hook: later taps do not run', async () => {
    const sous = new Sous(config);
    const ran: string[] = [];
    sous.hooks.precache.tapPromise('a', async () => {
      throw new Error('x');
    });
    sous.hooks.precache.tapPromise('b', async () => void ran.push('b'));
    await caught(sous.hooks.precache.promise({} as never));
    expect(ran).toEqual([]);
  });

  it('is not wrapped twice when one hook calls another', async () => {
    const inner = pluginError(new Error('deep'), 'inner', 'publish');
    expect(pluginError(inner, 'outer', 'artifactReady')).toBe(inner);
  });
});

describe('event hook', () => {
  it('delivers every event to every tap; a failing tap is logged and never reaches the caller', async () => {
    const logger = recordingLogger();
    const sous = new Sous(config, { logger });
    const got: string[] = [];
    sous.hooks.event.tapPromise('sous:notify-bad', async () => {
      throw new SousError('WEBHOOK_DOWN', 'connection refused');
    });
    sous.hooks.event.tap('sous:notify-sync-bad', () => {
      throw new Error('sync fail');
    });
    sous.hooks.event.tapAsync('sous:notify-cb-bad', (_e, cb) => cb(new Error('cb fail')));
    sous.hooks.event.tapPromise('sous:notify-good', async (e) => void got.push(e.type));
    await expect(sous.emit('deploy.started', { cluster: 'prod' })).resolves.toBeUndefined();
    await expect(sous.emit('deploy.finished')).resolves.toBeUndefined();
    expect(got).toEqual(['deploy.started', 'deploy.finished']);
    expect(logger.lines).toHaveLength(6);
    const bad = logger.lines.find((l) => l.fields?.plugin === 'sous:notify-bad');
    expect(bad?.msg).toContain('[sous:notify-bad] event: connection refused');
    expect(bad?.fields).toMatchObject({ code: 'WEBHOOK_DOWN', plugin: 'sous:notify-bad' });
    expect(logger.lines.map((l) => l.fields?.plugin)).toEqual(expect.arrayContaining(['sous:notify-sync-bad', 'sous:notify-cb-bad']));
  });

  it('gives each event a type and a time', async () => {
    const sous = new Sous(config);
    let seen: Record<string, unknown> | undefined;
    sous.hooks.event.tap('p', (e) => void (seen = e));
    await sous.emit('x', { a: 1 });
    expect(seen).toMatchObject({ type: 'x', a: 1 });
    expect(typeof seen!.time).toBe('string');
  });
});

describe('validateConfig and context', () => {
  it('throws the first error a validate tap reports and returns warnings', () => {
    const sous = new Sous({ warnings: ['w0'] } as unknown as ResolvedConfig);
    sous.hooks.validate.tap('a', (_c, r) => void r.warnings.push('w1'));
    expect(sous.validateConfig().warnings).toEqual(['w0', 'w1']);
    sous.hooks.validate.tap('b', (_c, r) => void r.errors.push(usageError('STACK_UNKNOWN', 'no such stack')));
    expect(() => sous.validateConfig()).toThrow('no such stack');
  });

  it('gives a plugin a cache directory named after it', () => {
    const prev = process.env.SOUS_CACHE_DIR;
    process.env.SOUS_CACHE_DIR = '/tmp/sous-cache-test';
    try {
      const ctx = new Sous(config).context('sous:stack-node');
      expect(ctx.name).toBe('sous:stack-node');
      expect(ctx.cacheDir).toBe('/tmp/sous-cache-test/plugins/sous_stack-node');
    } finally {
      if (prev === undefined) delete process.env.SOUS_CACHE_DIR;
      else process.env.SOUS_CACHE_DIR = prev;
    }
  });
});
