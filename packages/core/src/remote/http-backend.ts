import { isSousError, usageError } from '../errors';
import type { State, StateChange, StoredManifest, UpdateStep } from '../gdm/state';
import { manifestKey } from '../gdm/state';
import { manifestPath } from '../gdm/layout';
import type { User } from '../gdm/store';
import { formatManifestID, parseManifestID, parseSourceLocation, type SourceLocation } from '../model/ids';
import { manifestIDOf } from '../model/manifest';
import type { ArtifactRecord, Defs, Manifest } from '../model/types';
import type { GdmDocument } from '../generated/api';
import type { StateBackend } from '../ops/backend';
import { ServerClient } from './client';
import { CONFLICT_RETRIES, conflictDelay, sleep } from '../util/async';

const q = (s: SourceLocation, extra: Record<string, string> = {}) => ({ repo: s.repo, offset: s.dir, ...extra });
const quoted = (etag: string) => `"${etag}"`;

/**
 * The intended state through a Sous server: the same interface as the
 * embedded store, so every command behaves the same with either. Changes are
 * sent with the ETags they were computed from; a 412 means someone else wrote
 * first, and the change is computed again from a fresh read.
 */
export class HttpBackend implements StateBackend {
  constructor(readonly client: ServerClient) {}

  get description(): string {
    return `the Sous server at ${this.client.base}`;
  }

  async read(): Promise<State> {
    const r = await this.client.request<GdmDocument>('GET', '/gdm');
    const doc = r.body;
    const manifests = new Map<string, StoredManifest>();
    for (const m of doc.manifests) {
      const id = parseManifestID(m.id);
      manifests.set(m.id, { id, key: m.id, path: manifestPath(id), manifest: m.manifest as Manifest, text: m.text, blob: m.etag });
    }
    return { revision: doc.revision, defs: doc.defs as Defs, defsText: doc.defsText ?? '', defsBlob: doc.defsEtag, manifests, servers: (doc.servers ?? {}) as Record<string, string>, flaws: doc.flaws ?? [] };
  }

  async update<T>(fn: (state: State) => UpdateStep<T> | Promise<UpdateStep<T>>, user: User, opts: { retries?: number } = {}): Promise<{ result: T; revision: string; changed: boolean }> {
    void user; // the server records the token's owner as the author
    const retries = opts.retries ?? CONFLICT_RETRIES;
    for (let attempt = 0; ; attempt++) {
      const state = await this.read();
      const { change, result } = await fn(state);
      if (!change || isEmpty(change)) return { result, revision: state.revision, changed: false };
      try {
        const w = await this.send(state, change);
        return { result, ...w };
      } catch (e) {
        // Someone else wrote first: compute the change again from what they wrote, as the local store does.
        if (isSousError(e) && (e.code === 'PRECONDITION_FAILED' || e.code === 'GDM_CONFLICT') && attempt < retries) {
          await sleep(conflictDelay(attempt, 500));
          continue;
        }
        throw e;
      }
    }
  }

  private async send(state: State, change: StateChange): Promise<{ revision: string; changed: boolean }> {
    const sets = change.setManifests ?? [];
    const dels = change.deleteManifests ?? [];
    const only = (k: keyof StateChange) => Object.entries(change).every(([key, v]) => key === 'message' || key === k || v === undefined || (Array.isArray(v) && v.length === 0));
    if (sets.length === 1 && only('setManifests')) {
      const m = sets[0];
      const id = manifestIDOf(m);
      const cur = state.manifests.get(manifestKey(id));
      const r = await this.client.request<{ revision: string; changed: boolean }>('PUT', '/manifest', {
        query: q(id.source, { flavor: id.flavor }),
        headers: cur ? { 'if-match': quoted(cur.blob) } : { 'if-none-match': '*' },
        body: { manifest: m },
      });
      return r.body;
    }
    if (dels.length === 1 && only('deleteManifests')) {
      const cur = state.manifests.get(manifestKey(dels[0]));
      if (!cur) throw usageError('MANIFEST_NOT_FOUND', `no manifest ${manifestKey(dels[0])} in the GDM`);
      return (await this.client.request<{ revision: string; changed: boolean }>('DELETE', '/manifest', { query: q(dels[0].source, { flavor: dels[0].flavor }), headers: { 'if-match': quoted(cur.blob) } })).body;
    }
    if (change.defs && only('defs')) {
      return (await this.client.request<{ revision: string; changed: boolean }>('PUT', '/defs', { headers: { 'if-match': quoted(state.defsBlob) }, body: change.defs })).body;
    }
    if (change.servers && only('servers')) {
      const cur = await this.client.request<unknown>('GET', '/servers');
      return (await this.client.request<{ revision: string; changed: boolean }>('PUT', '/servers', { headers: { 'if-match': cur.etag ?? '*' }, body: { servers: change.servers } })).body;
    }
    if (change.artifacts?.length && only('artifacts')) {
      let last = { revision: state.revision, changed: false };
      for (const a of change.artifacts) {
        const sl = parseSourceLocation(a.Source);
        const cur = await this.client.request<unknown>('GET', '/artifact', { query: q(sl, { version: a.Version }), accept: [404] });
        last = (
          await this.client.request<{ revision: string; changed: boolean }>('PUT', '/artifact', {
            query: q(sl, { version: a.Version }),
            headers: cur.status === 404 ? { 'if-none-match': '*' } : { 'if-match': cur.etag ?? '*' },
            body: a,
          })
        ).body;
      }
      return last;
    }
    if (change.artifacts?.length || change.servers) {
      throw usageError('UNSUPPORTED_CHANGE', 'artifacts and servers are written on their own through a server', { hints: ['Split the change'] });
    }
    // Anything else is several files at once: the whole state, in one commit.
    const deleted = new Set(dels.map((d) => manifestKey(d)));
    const manifests = new Map<string, Manifest>([...state.manifests.values()].filter((m) => !deleted.has(m.key)).map((m) => [m.key, m.manifest]));
    for (const m of sets) manifests.set(formatManifestID(manifestIDOf(m)), m);
    return (
      await this.client.request<{ revision: string; changed: boolean }>('PUT', '/gdm', {
        headers: { 'if-match': quoted(state.revision) },
        body: { message: change.message, defs: change.defs ?? state.defs, manifests: [...manifests.values()] },
      })
    ).body;
  }

  async artifacts(source: SourceLocation): Promise<ArtifactRecord[]> {
    return (await this.client.request<{ artifacts: ArtifactRecord[] }>('GET', '/artifacts', { query: q(source) })).body.artifacts;
  }

  async allArtifacts(): Promise<ArtifactRecord[]> {
    return (await this.client.request<{ artifacts: ArtifactRecord[] }>('GET', '/artifacts')).body.artifacts;
  }

  async artifact(source: SourceLocation, version: string): Promise<ArtifactRecord | undefined> {
    const r = await this.client.request<ArtifactRecord>('GET', '/artifact', { query: q(source, { version }), accept: [404] });
    return r.status === 404 ? undefined : r.body;
  }
}

function isEmpty(c: StateChange): boolean {
  return !c.defs && !c.servers && !(c.setManifests?.length) && !(c.deleteManifests?.length) && !(c.artifacts?.length);
}


