/**
 * The errors of talking to a registry that has opinions about who asks and
 * how: credentials refused or missing, access denied, TLS not trusted, a
 * proxy in the way. Each names the registry and where the credential came
 * from, never the credential.
 */
import { failure, type SousError } from '../errors';
import type { NetworkFailure } from '../net/fetch';
import type { RegistryAuth } from './auth';

function loginHints(registry: string): string[] {
  return [
    `Log in: sous registry login ${registry} (or docker login ${registry}; both write ~/.docker/config.json)`,
    `Or give Sous the credential: registries."${registry}".username and .passwordEnv, or .credentialHelper, in the operator config`,
  ];
}

/** 401: no credential, or the one sent was refused. */
export function unauthorized(registry: string, auth: RegistryAuth, why?: string): SousError {
  if (!auth.credential) {
    return failure('REGISTRY_UNAUTHORIZED', `${registry} wants credentials${why ? ` (${why})` : ''}, and Sous found none for it (looked in: ${auth.searched.join('; ') || 'the config and ~/.docker/config.json'})`, {
      hints: loginHints(registry),
      details: { registry, from: auth.source },
    });
  }
  return failure('REGISTRY_UNAUTHORIZED', `${registry}${why ? ` (${why})` : ''} refused the credentials of ${auth.credential.username || 'the identity token'} from ${auth.source}`, {
    hints: [`Check the password or token in ${auth.source}: it is wrong, expired or revoked`, ...loginHints(registry)],
    details: { registry, from: auth.source, user: auth.credential.username },
  });
}

/** 401 with insufficient_scope or 403 after authenticating: the account may not do this to this repository. */
export function denied(registry: string, repository: string, action: string, auth: RegistryAuth, said?: string): SousError {
  const who = auth.credential ? `${auth.credential.username || 'the identity token'} (from ${auth.source})` : 'an anonymous client';
  return failure('REGISTRY_DENIED', `${registry} does not let ${who} ${action} ${repository}${said ? `: ${said}` : ''}`, {
    hints: [
      'Hosted registries take pushes only under the account or organization the credential belongs to (ghcr.io/OWNER/…, docker.io/USER/…): set imageName in the config so names fit (docs/registries.md)',
      'Or give the account access to the repository',
    ],
    details: { registry, repository, action, from: auth.source },
  });
}

/** A TLS or proxy failure below HTTP, as a SousError; undefined for plain network failures. */
export function transportError(registry: string, f: NetworkFailure, certsDir: string, caFrom?: string, cause?: unknown): SousError | undefined {
  if (f.kind === 'tls-untrusted' || f.kind === 'tls-mismatch') {
    return failure('REGISTRY_TLS_UNTRUSTED', `the registry ${registry} cannot be trusted: ${f.reason}${caFrom ? ` (CA from ${caFrom})` : ''}`, {
      hints:
        f.kind === 'tls-mismatch'
          ? [`Its certificate must name ${registry.split(':')[0]} (subjectAltName): reissue it, or use the name it is for`]
          : [
              `Put the CA that signed its certificate in ${certsDir}/ca.crt (Docker's convention: the engine reads it too), or name it in registries."${registry}".caFile`,
              `Only for a registry you trust by other means: registries."${registry}".insecure: true`,
            ],
      details: { registry, code: f.code, certsDir },
      cause,
    });
  }
  if (f.kind === 'proxy') {
    return failure('REGISTRY_PROXY_REFUSED', `the registry ${registry} cannot be reached through the proxy: ${f.reason}`, {
      hints: ['Check HTTPS_PROXY / HTTP_PROXY (and the proxy\'s credentials in its URL)', `Or let ${registry} bypass the proxy: add it to NO_PROXY`],
      details: { registry, proxy: f.proxy, code: f.code },
      cause,
    });
  }
  if (f.kind === 'tls' || f.kind === 'not-tls') {
    return failure('REGISTRY_TLS_FAILED', `the registry ${registry} cannot be spoken to over TLS: ${f.reason}`, {
      hints: [f.kind === 'not-tls' ? `It answers plain HTTP: if that is meant, registries."${registry}".insecure: true` : 'Check the registry\'s TLS setup (certificate and key, protocol versions)'],
      details: { registry, code: f.code },
      cause,
    });
  }
  return undefined;
}

/**
 * An engine's words about a registry (a failed push or pull) as a SousError
 * naming where the credential came from; undefined when they are about
 * something else.
 */
export function engineRegistryError(registry: string, repository: string, action: 'push to' | 'pull from', auth: RegistryAuth, message: string): SousError | undefined {
  if (/x509:|certificate signed by unknown authority|certificate is not valid|tls: /i.test(message)) {
    return failure('REGISTRY_TLS_UNTRUSTED', `the Docker engine does not trust the registry ${registry}: ${message}`, {
      hints: [`On the engine's host, put the registry's CA in /etc/docker/certs.d/${registry}/ca.crt (the engine reads it at each connection)`, 'Or list the registry in the engine\'s insecure-registries'],
      details: { registry, error: message },
    });
  }
  if (/proxyconnect|proxy error/i.test(message)) {
    return failure('REGISTRY_PROXY_REFUSED', `the Docker engine cannot reach ${registry} through its proxy: ${message}`, {
      hints: ["The engine's own proxy settings apply to its pulls and pushes (dockerd's HTTPS_PROXY and NO_PROXY)"],
      details: { registry, error: message },
    });
  }
  if (/denied|insufficient_scope|forbidden/i.test(message) && auth.credential) return denied(registry, repository, action, auth, message);
  if (/no basic auth credentials|unauthorized|authentication required|incorrect username or password/i.test(message)) return unauthorized(registry, auth, `the engine was told: ${message}`);
  return undefined;
}
