import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import type { Duplex } from 'node:stream';
import * as grpc from '@grpc/grpc-js';
import type Dockerode from 'dockerode';
import * as protobuf from 'protobufjs';
import { failure } from '@sous/core';

/**
 * A BuildKit session: a gRPC server Sous runs over a connection the engine
 * opened (`POST /session`, upgraded to h2c). The builder calls back into it
 * for what must never be in the context or the image: secrets, and the
 * credentials of the registries its base images come from (the Auth
 * service docker buildx answers too). It also answers the engine's health
 * checks, without which it drops the session.
 */
export interface Session {
  readonly id: string;
  close(): void;
}

const root = protobuf.Root.fromJSON({
  nested: {
    GetSecretRequest: { fields: { ID: { type: 'string', id: 1 }, annotations: { keyType: 'string', type: 'string', id: 2 } as protobuf.IField } },
    GetSecretResponse: { fields: { data: { type: 'bytes', id: 1 } } },
    HealthCheckRequest: { fields: { service: { type: 'string', id: 1 } } },
    CredentialsRequest: { fields: { Host: { type: 'string', id: 1 } } },
    CredentialsResponse: { fields: { Username: { type: 'string', id: 1 }, Secret: { type: 'string', id: 2 } } },
    HealthCheckResponse: { fields: { status: { type: 'int32', id: 1 } } },
  },
});

function unary(pathName: string, req: string, res: string): grpc.MethodDefinition<object, object> {
  const reqT = root.lookupType(req);
  const resT = root.lookupType(res);
  return {
    path: pathName,
    requestStream: false,
    responseStream: false,
    requestSerialize: (m: object) => Buffer.from(reqT.encode(reqT.fromObject(m)).finish()),
    requestDeserialize: (b: Buffer) => reqT.toObject(reqT.decode(b)),
    responseSerialize: (m: object) => Buffer.from(resT.encode(resT.fromObject(m)).finish()),
    responseDeserialize: (b: Buffer) => resT.toObject(resT.decode(b)),
  };
}

const SECRETS = { GetSecret: unary('/moby.buildkit.secrets.v1.Secrets/GetSecret', 'GetSecretRequest', 'GetSecretResponse') };
const HEALTH = { Check: unary('/grpc.health.v1.Health/Check', 'HealthCheckRequest', 'HealthCheckResponse') };
// Only Credentials: BuildKit then asks the token service itself; FetchToken and the token authority answer UNIMPLEMENTED, which it expects.
const AUTH = { Credentials: unary('/moby.filesync.v1.Auth/Credentials', 'CredentialsRequest', 'CredentialsResponse') };

/** A registry's credential as the Auth service hands it over: a user and secret, or an identity token as the secret of no user. */
export type SessionCredentials = (host: string) => Promise<{ username: string; secret: string } | undefined>;
const SERVING = 1;

/** Opens a session that hands the builder the given secrets (id → file path), read when a step asks, and registry credentials. */
export async function openSession(docker: Dockerode, opts: { secrets: Record<string, string>; credentials?: SessionCredentials }): Promise<Session> {
  for (const [id, file] of Object.entries(opts.secrets)) {
    try {
      await fs.promises.access(file, fs.constants.R_OK);
    } catch {
      throw failure('BUILD_SECRET_UNREADABLE', `the build secret ${JSON.stringify(id)} names ${file}, which cannot be read`, {
        hints: ['Check the path the stack or sous.config.ts gives for the secret'],
      });
    }
  }
  const id = crypto.randomUUID();
  const methods = [SECRETS.GetSecret.path, HEALTH.Check.path, ...(opts.credentials ? [AUTH.Credentials.path] : [])];
  const socket = await new Promise<Duplex>((resolve, reject) => {
    docker.modem.dial(
      {
        method: 'POST',
        path: '/session',
        hijack: true,
        headers: {
          Upgrade: 'h2c',
          'X-Docker-Expose-Session-Uuid': id,
          'X-Docker-Expose-Session-Name': 'sous',
          'X-Docker-Expose-Session-Sharedkey': id,
          'X-Docker-Expose-Session-Grpc-Method': methods,
        },
        statusCodes: { 101: true, 200: true, 500: 'server error' },
      },
      (err, s) => (err ? reject(err) : resolve(s as Duplex)),
    );
  });
  const server = new grpc.Server();
  server.addService(SECRETS, {
    GetSecret: (call: grpc.ServerUnaryCall<{ ID: string }, object>, cb: grpc.sendUnaryData<object>) => {
      const file = opts.secrets[call.request.ID];
      if (!file) return cb({ code: grpc.status.NOT_FOUND, details: `secret ${call.request.ID} not found` });
      fs.readFile(file, (err, data) => (err ? cb({ code: grpc.status.NOT_FOUND, details: err.message }) : cb(null, { data })));
    },
  });
  server.addService(HEALTH, { Check: (_c: unknown, cb: grpc.sendUnaryData<object>) => cb(null, { status: SERVING }) });
  const credentials = opts.credentials;
  if (credentials) {
    server.addService(AUTH, {
      Credentials: (call: grpc.ServerUnaryCall<{ Host: string }, object>, cb: grpc.sendUnaryData<object>) => {
        credentials(call.request.Host).then(
          (c) => cb(null, c ? { Username: c.username, Secret: c.secret } : {}),
          (e: Error) => cb({ code: grpc.status.UNAVAILABLE, details: e.message }),
        );
      },
    });
  }
  server.createConnectionInjector(grpc.ServerCredentials.createInsecure()).injectConnection(socket);
  return {
    id,
    close: () => {
      server.forceShutdown();
      socket.destroy();
    },
  };
}
