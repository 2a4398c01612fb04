/** How a notifier retries one delivery: capped exponential backoff with jitter. */
export interface RetryPolicy {
  /** Attempts in all, the first included; then the delivery is given up and logged. */
  attempts: number;
  /** The delay before the second attempt (before jitter). */
  minDelayMs: number;
  /** No delay is longer than this. */
  maxDelayMs: number;
}

/** About ten minutes of trying: 1 s, 2 s, 4 s, ... up to 5 minutes apart. */
export const DEFAULT_RETRY: RetryPolicy = { attempts: 10, minDelayMs: 1000, maxDelayMs: 5 * 60_000 };

/**
 * The wait after failed attempt number `attempt` (1-based). Half of the
 * exponential step is fixed and half random, so receivers that come back
 * are not hit by every sender at once, and no wait collapses to zero.
 */
export function retryDelay(policy: RetryPolicy, attempt: number, random: () => number = Math.random): number {
  const step = Math.min(policy.maxDelayMs, policy.minDelayMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(step / 2 + random() * (step / 2));
}
