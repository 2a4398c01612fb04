import { inspectOutbox, type AttemptRecord } from '@sous/core';

/**
 * The webhook delivery log from the outbox on disk (default
 * $XDG_DATA_HOME/sous/outbox): every attempt of every webhook entry, oldest
 * first, with the entry's URL origin.
 */
export async function readDeliveryLog(outboxDir?: string): Promise<(AttemptRecord & { url?: string })[]> {
  const reports = await inspectOutbox(outboxDir, 'webhook');
  return reports
    .flatMap((r) => r.attempts.map((a) => ({ ...a, url: typeof r.notifier.url === 'string' ? r.notifier.url : undefined })))
    .sort((x, y) => x.time.localeCompare(y.time));
}
