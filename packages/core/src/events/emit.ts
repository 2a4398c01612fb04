import { randomUUID } from 'node:crypto';
import { SousError } from '../errors';
import { describeErrors, validatorFor } from '../schema';
import { closest } from '../util/text';
import type { Sous } from '../hooks/sous';
import type { Logger } from '../hooks/plugin';
import type { SousEvent } from '../pipeline/types';
import { EVENT_TYPES, definitionOf, isEventType, type EventInput, type EventOf, type EventType, type TypedEvent } from './catalogue';

/**
 * Completes an event: a fresh id and the time unless given, the configured
 * user when none is given, empty links, and deploymentID from cluster and
 * manifestID. Throws EVENT_UNKNOWN_TYPE / EVENT_INVALID when the result does
 * not match schemas/events.schema.json.
 */
export function completeEvent<T extends EventType>(input: EventInput<T> & { type: T }, defaults: { user?: { name: string; email: string } } = {}): EventOf<T> {
  const type = (input as { type: string }).type;
  if (!isEventType(type)) {
    const near = closest(String(type), EVENT_TYPES);
    throw new SousError('EVENT_UNKNOWN_TYPE', `unknown event type ${JSON.stringify(type)}`, {
      hints: [near ? `did you mean ${JSON.stringify(near)}?` : `known types: ${EVENT_TYPES.join(', ')}`],
    });
  }
  // A JSON copy: what receivers get is JSON, so undefined fields go at every depth.
  const e = JSON.parse(JSON.stringify(input)) as Record<string, unknown>;
  e.id ??= randomUUID();
  e.time ??= new Date().toISOString();
  e.user ??= defaults.user ? { name: defaults.user.name, email: defaults.user.email } : undefined;
  e.links ??= {};
  if (e.deploymentID === undefined && typeof e.cluster === 'string' && typeof e.manifestID === 'string') e.deploymentID = `${e.cluster}:${e.manifestID}`;
  for (const [k, v] of Object.entries(e)) if (v === undefined) delete e[k];
  const validate = validatorFor('events', `/definitions/${definitionOf(type)}`);
  if (!validate(e)) {
    const problems = describeErrors(validate.errors ?? []);
    throw new SousError('EVENT_INVALID', `event ${type}: ${problems[0]?.message ?? 'invalid'}`, {
      field: problems[0]?.field,
      hints: ['The event shapes are in schemas/events.schema.json'],
      details: { problems },
    });
  }
  return e as unknown as EventOf<T>;
}

/**
 * Emits a typed event to every notifier: completes and validates it (see
 * `completeEvent`), then runs the `event` hook. Notifier failures never reach
 * the caller; an event that does not match the catalogue does (a bug in the
 * caller). Resolves with the event as sent.
 *
 * ```ts
 * await emitEvent(sous, { type: 'deploy.succeeded', manifestID: 'github.com/acme/shop', cluster: 'prod', version: '1.2.3' });
 * ```
 */
export async function emitEvent<T extends EventType>(sous: Sous, input: EventInput<T> & { type: T }): Promise<EventOf<T>> {
  const event = completeEvent<T>(input, { user: sous.config?.user });
  await sous.hooks.event.promise(event as unknown as SousEvent);
  return event;
}

const seen = new WeakMap<object, TypedEvent | null>();

/**
 * The event as a notifier should see it: a catalogue event, or undefined.
 * Events raised with `sous.emit` (no id) are completed and checked here
 * once per event, so every notifier sees the same id; one that does not
 * match the catalogue is reported once through `logger` and not delivered.
 */
export function asTypedEvent(e: SousEvent, opts: { user?: { name: string; email: string }; logger?: Logger } = {}): TypedEvent | undefined {
  if (seen.has(e)) return seen.get(e) ?? undefined;
  let out: TypedEvent | null = null;
  if (isEventType(e.type)) {
    if (typeof e.id === 'string' && e.id) out = e as unknown as TypedEvent;
    else {
      try {
        out = completeEvent(e as never, { user: opts.user }) as TypedEvent;
      } catch (err) {
        const se = err as SousError;
        opts.logger?.warn(`event ${e.type} does not match the catalogue (schemas/events.schema.json), so no notifier gets it: ${se.message}`, {
          code: se.code,
          problems: (se.details?.problems as { message: string }[] | undefined)?.map((p) => p.message),
        });
      }
    }
  }
  seen.set(e, out);
  return out ?? undefined;
}
