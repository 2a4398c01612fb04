/** Waits `ms`, or less when `signal` aborts; its abort listener goes when the wait ends, so polling never piles listeners up on one signal. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, Math.max(0, ms));
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** How many times a write that lost a race (GDM_CONFLICT, HTTP 412) is computed again from a fresh read. */
export const CONFLICT_RETRIES = 50;

/**
 * How long such a write waits before it reads again: random and growing with
 * each attempt, so writers of one file that all lost at once spread out
 * instead of colliding again.
 */
export function conflictDelay(attempt: number, capMs = 250): number {
  return Math.random() * Math.min(10 * (attempt + 1), capMs);
}
