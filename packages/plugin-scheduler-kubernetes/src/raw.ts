import * as http from 'node:http';
import * as https from 'node:https';
import type * as K8s from '@kubernetes/client-node';

/**
 * Reads straight off the wire, with the kubeconfig's TLS, credentials and
 * proxy (KubeConfig.applyToHTTPSOptions), for the two calls the typed client
 * serves badly: a list of every Deployment is parsed as plain JSON (the
 * client's model deserializer costs more than the transfer and the parse
 * together), and a watch stays open without keeping the process alive (the
 * client's Watch holds its socket, so a command that watched would never end).
 */

/** An HTTP answer that is not a success, shaped as the typed client's errors are (`code`, `body`), so k8sError maps it alike. */
export class RawHttpError extends Error {
  constructor(
    readonly code: number,
    readonly body: string,
  ) {
    super(`HTTP ${code}`);
  }
}

async function options(kc: K8s.KubeConfig, headers: Record<string, string>): Promise<https.RequestOptions> {
  const o: https.RequestOptions = { method: 'GET', headers: { ...headers } };
  await kc.applyToHTTPSOptions(o);
  return o;
}

function send(url: string, o: https.RequestOptions, onResponse: (res: http.IncomingMessage) => void, onError: (e: Error) => void): http.ClientRequest {
  const u = new URL(url);
  const req = (u.protocol === 'http:' ? http : https).request(u, o, onResponse);
  req.on('error', onError);
  req.end();
  return req;
}

/** GET `url` (the API server's URL and a path with its query), resolving the parsed JSON body; a failure status rejects with a RawHttpError. */
export async function getJSON<T>(kc: K8s.KubeConfig, url: string): Promise<T> {
  const o = await options(kc, { Accept: 'application/json' });
  return new Promise<T>((resolve, reject) => {
    send(
      url,
      o,
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          if ((res.statusCode ?? 0) < 200 || (res.statusCode ?? 0) >= 300) return reject(new RawHttpError(res.statusCode ?? 0, text));
          try {
            resolve(JSON.parse(text) as T);
          } catch (e) {
            reject(e);
          }
        });
      },
      reject,
    );
  });
}

/** One event of a watch (meta/v1 WatchEvent). */
export interface WatchEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: K8s.KubernetesObject & Record<string, unknown>;
}

export interface WatchHandle {
  /** Closes the watch (onEnd is not called). */
  stop(): void;
}

/**
 * Opens a watch (`url` carries `watch=true` and its resourceVersion) and hands
 * over each event as it arrives. `onOpen` runs once the API server answered
 * 200; `onEnd` once, when the stream ends (no argument: the server closed it,
 * as it does after timeoutSeconds) or fails (the error: a RawHttpError for a
 * refused watch). The socket is unref'd: an open watch never keeps a process running.
 */
export async function watchJSON(kc: K8s.KubeConfig, url: string, on: { open(): void; event(e: WatchEvent): void; end(err?: unknown): void }): Promise<WatchHandle> {
  const o = await options(kc, { Accept: 'application/json' });
  let stopped = false;
  let ended = false;
  const end = (err?: unknown) => {
    if (ended || stopped) return;
    ended = true;
    on.end(err);
  };
  const req = send(
    url,
    o,
    (res) => {
      if (res.statusCode !== 200) {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => end(new RawHttpError(res.statusCode ?? 0, Buffer.concat(chunks).toString('utf8'))));
        res.on('error', end);
        return;
      }
      on.open();
      let buf = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buf += chunk;
        let nl: number;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl).trim();
          buf = buf.slice(nl + 1);
          if (!line || stopped) continue;
          let ev: WatchEvent;
          try {
            ev = JSON.parse(line) as WatchEvent;
          } catch (e) {
            end(e);
            return;
          }
          on.event(ev);
        }
      });
      res.on('error', end);
      res.on('close', () => end());
    },
    end,
  );
  req.on('socket', (s) => {
    s.setKeepAlive(true, 30_000);
    s.unref();
  });
  return {
    stop() {
      stopped = true;
      req.destroy();
    },
  };
}
