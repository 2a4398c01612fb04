/**
 * Telling people: the typed event catalogue, `emitEvent`, routing rules,
 * and the outbox every notifier plugin delivers through.
 */
export * from './catalogue';
export * from './emit';
export * from './routing';
export * from './entry-check';
export * from './backoff';
export * from './outbox';
export * from './delivery';
export * from './registry';
export * from './notifier';
export * from './http';
export * from './format';
export * from './console-notifier';
