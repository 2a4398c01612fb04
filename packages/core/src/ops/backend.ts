import type { State, UpdateStep } from '../gdm/state';
import type { User } from '../gdm/store';
import type { SourceLocation } from '../model/ids';
import type { ArtifactRecord } from '../model/types';

/**
 * Where the intended state lives: the embedded git store, or a Sous server.
 * Every command works through this, so both behave the same.
 */
export interface StateBackend {
  /** Says where the state is, for messages. */
  readonly description: string;
  read(): Promise<State>;
  update<T>(fn: (state: State) => UpdateStep<T> | Promise<UpdateStep<T>>, user: User, opts?: { retries?: number }): Promise<{ result: T; revision: string; changed: boolean }>;
  artifacts(source: SourceLocation): Promise<ArtifactRecord[]>;
  allArtifacts(): Promise<ArtifactRecord[]>;
  artifact(source: SourceLocation, version: string): Promise<ArtifactRecord | undefined>;
  /** The identity of the GDM (the state repository's root commit), where the backend can tell. */
  identity?(): Promise<string | undefined>;
}
