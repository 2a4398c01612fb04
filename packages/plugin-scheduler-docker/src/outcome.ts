import type { Action, ActionOutcome } from '@sous/core';

/** How a rollout ended: ready (Active), failed and rolled back (Failed), or still going when waiting stopped (Pending). */
export interface RolloutResult {
  status: 'Active' | 'Failed' | 'Pending';
  message: string;
}

/** Makes an action's outcome: one attempt, timed from when `outcomeTimer` was called. */
export type OutcomeOf = (status: ActionOutcome['status'], resolution: ActionOutcome['resolution'], message?: string) => ActionOutcome;

/** Starts timing one attempt at `action`; the function returned makes its outcome. */
export function outcomeTimer(action: Action): OutcomeOf {
  const t0 = Date.now();
  return (status, resolution, message) => ({ action, status, resolution, message, attempts: 1, durationMs: Date.now() - t0 });
}

/** The outcome of a create or update, from how its rollout ended. */
export function rolloutOutcome(action: Action, r: RolloutResult, done: OutcomeOf): ActionOutcome {
  const create = action.kind === 'create';
  if (r.status === 'Active') return done('Active', create ? 'created' : 'updated', r.message);
  if (r.status === 'Pending') return done('Pending', 'coming', r.message);
  return done('Failed', create ? 'not created' : 'not updated', r.message);
}

/** A failure message followed by an instance's last log lines, when it left any. */
export function withLogLines(message: string, lines: string[]): string {
  return lines.length ? `${message}; last log lines:\n${lines.map((l) => `  ${l}`).join('\n')}` : message;
}
