/**
 * Which notifiers a Sous has, and the bounded wait before a process ends:
 * a short-lived CLI process waits a few seconds for its deliveries, then
 * leaves the rest in the outbox for the next process.
 */
import type { Sous } from '../hooks/sous';
import type { Channel } from './delivery';

const bySous = new WeakMap<Sous, Set<Channel>>();
const handled = new WeakMap<Sous, Map<string, string>>();
const live = new Set<Channel>();

/** How long a process that is about to end waits for its deliveries. */
export const DEFAULT_EXIT_WAIT_MS = 5000;
let exitHookInstalled = false;

/**
 * Records that `plugin` handles notifier entries of `type` on this Sous.
 * False when another plugin already does: the caller then stays idle, so an
 * event is not sent twice.
 */
export function claimNotifierType(sous: Sous, type: string, plugin: string): boolean {
  let m = handled.get(sous);
  if (!m) handled.set(sous, (m = new Map()));
  if (m.has(type)) return false;
  m.set(type, plugin);
  return true;
}

/** The notifier types some plugin on this Sous handles, with the plugin's name. */
export function handledNotifierTypes(sous: Sous): ReadonlyMap<string, string> {
  return handled.get(sous) ?? new Map();
}

export function registerChannel(sous: Sous, ch: Channel): void {
  let set = bySous.get(sous);
  if (!set) bySous.set(sous, (set = new Set()));
  set.add(ch);
  live.add(ch);
  installExitHook();
}

export function channelsOf(sous: Sous): Channel[] {
  return [...(bySous.get(sous) ?? [])];
}

/**
 * Waits up to `timeoutMs` for the deliveries this process started on this
 * Sous; with `close`, then stops them (what is left stays in the outbox).
 * Returns how many deliveries were still outstanding.
 */
export async function flushNotifications(sous: Sous, opts: { timeoutMs?: number; close?: boolean } = {}): Promise<number> {
  return flushChannels(channelsOf(sous), opts);
}

async function flushChannels(channels: Channel[], opts: { timeoutMs?: number; close?: boolean }): Promise<number> {
  const deadline = Date.now() + (opts.timeoutMs ?? DEFAULT_EXIT_WAIT_MS);
  await Promise.all(channels.map((c) => c.flush(deadline)));
  const left = channels.reduce((n, c) => n + c.outstanding, 0);
  if (opts.close) {
    await Promise.all(channels.map((c) => c.close()));
    for (const c of channels) live.delete(c);
  }
  return left;
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // beforeExit comes when nothing else keeps the process alive: retries wait
  // on unref'd timers, so this is where a CLI command decides how long to stay.
  process.once('beforeExit', () => {
    const busy = [...live].filter((c) => c.outstanding > 0);
    if (!busy.length) return;
    void flushChannels(busy, { timeoutMs: DEFAULT_EXIT_WAIT_MS, close: true });
  });
}
