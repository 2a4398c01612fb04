export { sleep } from '../util/async';

/** Capped exponential backoff with full jitter: attempt 1 waits up to 250 ms, then 500 ms, ... at most 10 s. */
export function backoff(attempt: number, baseMs = 250, capMs = 10_000): number {
  return Math.random() * Math.min(capMs, baseMs * 2 ** (attempt - 1));
}

/** Runs at most `n` of the given tasks at once. */
export function limiter(n: number): <T>(task: () => Promise<T>) => Promise<T> {
  let active = 0;
  const queue: (() => void)[] = [];
  const next = () => {
    if (active >= n) return;
    const go = queue.shift();
    if (go) go();
  };
  return <T>(task: () => Promise<T>) =>
    new Promise<T>((resolve, reject) => {
      queue.push(() => {
        active++;
        task()
          .then(resolve, reject)
          .finally(() => {
            active--;
            next();
          });
      });
      next();
    });
}
