/**
 * The event catalogue as code: the names, and the shapes callers hand to
 * `emitEvent`. The source of truth is schemas/events.schema.json; the types
 * come from it (packages/core/src/generated/events.ts).
 */
import type { TypedEvent } from '../generated/events';

export type {
  TypedEvent,
  BuildStartedEvent,
  BuildFailedEvent,
  ContractFailedEvent,
  ArtifactReadyEvent,
  DeployRequestedEvent,
  DeploySucceededEvent,
  DeployFailedEvent,
  RectifyDriftEvent,
  RectifyHeldEvent,
  RectifyRemovedEvent,
  EventUser,
  EventLinks,
  EventSource,
  EventError,
  ContractOutcome,
  PrecacheOutcome,
  ArtifactSignature,
  VerifyOutcome,
  DeploymentSnapshot,
} from '../generated/events';

/** Every event type, in the order a deployment meets them. */
export const EVENT_TYPES = [
  'build.started',
  'build.failed',
  'contract.failed',
  'artifact.ready',
  'deploy.requested',
  'deploy.succeeded',
  'deploy.failed',
  'rectify.drift',
  'rectify.held',
  'rectify.removed',
] as const satisfies readonly TypedEvent['type'][];

export type EventType = TypedEvent['type'];

// Fails to compile when the schema gains a type the list above lacks.
type Missing = Exclude<EventType, (typeof EVENT_TYPES)[number]>;
const exhaustive: [Missing] extends [never] ? true : Missing = true;
void exhaustive;

/** The event of one type. */
export type EventOf<T extends EventType> = Extract<TypedEvent, { type: T }>;

type Filled = 'id' | 'time' | 'user' | 'links' | 'deploymentID';
type DistributiveInput<E> = E extends TypedEvent ? Omit<E, Filled> & Partial<Pick<E, Extract<Filled, keyof E>>> : never;

/**
 * What a pipeline hands to `emitEvent`: the event without the fields the
 * helper fills (id, time; user from the configuration, links as {}, and
 * deploymentID from cluster and manifestID) unless the caller gives them.
 */
export type EventInput<T extends EventType = EventType> = DistributiveInput<EventOf<T>>;

/** The schema definition that describes an event type: deploy.succeeded → DeploySucceededEvent. */
export function definitionOf(type: EventType): string {
  return (
    type
      .split(/[.-]/)
      .map((w) => w[0].toUpperCase() + w.slice(1))
      .join('') + 'Event'
  );
}

export function isEventType(t: string): t is EventType {
  return (EVENT_TYPES as readonly string[]).includes(t);
}

/** Events that tell of something going wrong (for colour, emoji, and e-mail subjects). */
export type EventOutcome = 'success' | 'failure' | 'warning' | 'info';

export const EVENT_OUTCOMES: Record<EventType, EventOutcome> = {
  'build.started': 'info',
  'build.failed': 'failure',
  'contract.failed': 'failure',
  'artifact.ready': 'success',
  'deploy.requested': 'info',
  'deploy.succeeded': 'success',
  'deploy.failed': 'failure',
  'rectify.drift': 'warning',
  'rectify.held': 'failure',
  'rectify.removed': 'warning',
};
