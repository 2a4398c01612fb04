import type { Readable } from 'node:stream';
import { failure } from '@sous/core';

/** One JSON message of an engine progress stream (build, push, pull, import). */
export interface EngineMessage {
  id?: string;
  status?: string;
  stream?: string;
  progress?: string;
  aux?: unknown;
  error?: string;
  errorDetail?: { message?: string; code?: number };
}

/**
 * Reads an engine's newline-delimited JSON progress stream, calling `onMessage`
 * for each message as it arrives. Resolves when the stream ends; a line that is
 * not JSON is passed on as `{ stream: line }`.
 */
export function readMessages(stream: Readable, onMessage: (m: EngineMessage) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    let rest = '';
    let failed = false;
    const fail = (e: unknown) => {
      if (failed) return;
      failed = true;
      stream.destroy();
      reject(e);
    };
    const handle = (line: string) => {
      if (!line.trim()) return;
      let m: EngineMessage;
      try {
        m = JSON.parse(line) as EngineMessage;
      } catch {
        m = { stream: line };
      }
      try {
        onMessage(m);
      } catch (e) {
        fail(e);
      }
    };
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      rest += chunk;
      let nl: number;
      while (!failed && (nl = rest.indexOf('\n')) >= 0) {
        handle(rest.slice(0, nl));
        rest = rest.slice(nl + 1);
      }
    });
    stream.on('end', () => {
      if (!failed) handle(rest);
      if (!failed) resolve();
    });
    stream.on('error', fail);
    stream.on('close', () => {
      // A connection that drops mid-stream closes without 'end'.
      if (!failed && !stream.readableEnded) fail(failure('ENGINE_DISCONNECTED', 'the Docker engine closed the connection before the operation finished', { hints: ['Check that the engine is still running (docker info), then try again'] }));
    });
  });
}
