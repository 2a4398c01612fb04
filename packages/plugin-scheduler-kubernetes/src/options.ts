import * as fs from 'node:fs';
import { proxyFor, usageError, type ClusterRef } from '@sous/core';
import type * as K8s from '@kubernetes/client-node';
import { k8s } from './client';
import type { ExecCredentials } from './exec-credential';
import type { PullCredentials } from './pull-secrets';
import { inClusterContext, loadKubeconfig, resolveContext, type KubeConfigFiles, type ResolvedContext } from './kubeconfig';

/** How to reach one cluster's API server. Every field is optional. */
export interface KubernetesClusterOptions {
  /** Namespace Sous's objects live in (default: the kubeconfig context's, in a pod its own, else `default`). */
  namespace?: string;
  /** A kubeconfig file (instead of KUBECONFIG, or ~/.kube/config) to take the context from. */
  kubeconfig?: string;
  /** The kubeconfig context to use (default: the current one when the cluster has no BaseURL, else the one whose server is the BaseURL). */
  context?: string;
  /** A bearer token (a ServiceAccount token, say). */
  token?: string;
  /** A file holding a bearer token, read on each use of the cluster. */
  tokenFile?: string;
  /** A CA bundle (PEM file) to verify the API server's certificate with. */
  caFile?: string;
  /** Do not verify the API server's certificate. */
  skipTLSVerify?: boolean;
}

/** Options of `kubernetesScheduler()`. */
export interface KubernetesOptions extends KubernetesClusterOptions {
  /** Settings for single clusters, by cluster name; they win over the ones above. */
  clusters?: Record<string, KubernetesClusterOptions>;
  /** Registry to name images in when the cluster has no Registry of its own (default: Sous's `registry`). */
  registry?: string;
  /** How often to read a rollout's progress, in ms (default 2000). */
  pollMs?: number;
  /** Give up on one API call after this long, in ms (default 30000). */
  requestTimeoutMs?: number;
  /** The container port of PORT0; PORTn is this plus n (default 8080). */
  basePort?: number;
  /** Environment to read the SOUS_KUBE_* settings, KUBECONFIG and the in-cluster variables from (default process.env). */
  env?: Record<string, string | undefined>;
  /** Where a pod's ServiceAccount token, CA and namespace are mounted (default /var/run/secrets/kubernetes.io/serviceaccount). */
  serviceAccountDir?: string;
  /** Where the credentials for image pulls come from (imagePullSecrets); without it, pods pull anonymously. */
  pullCredentials?: PullCredentials;
  /** Give every pod the restricted security context (non-root, read-only root, no capabilities), not only those of the stacks known to allow it. */
  restricted?: boolean;
  /**
   * Keep the cluster's workloads by a watch in a process that reads them more
   * than once (the server, `rectify --watch`), as controllers do (default
   * true); false: every read lists them.
   */
  watch?: boolean;
}

/** Everything one cluster's scheduler needs to connect. */
export type ClusterSettings = KubernetesClusterOptions;

const KEYS: Record<keyof KubernetesClusterOptions, string> = {
  namespace: 'NAMESPACE',
  kubeconfig: 'KUBECONFIG',
  context: 'CONTEXT',
  token: 'TOKEN',
  tokenFile: 'TOKEN_FILE',
  caFile: 'CA_FILE',
  skipTLSVerify: 'SKIP_TLS_VERIFY',
};

/** `prod-eu` → `PROD_EU`, the suffix of a cluster's own SOUS_KUBE_* variables. */
export function envSuffix(cluster: string): string {
  return cluster.toUpperCase().replace(/[^A-Z0-9]/g, '_');
}

/**
 * A cluster's settings, first found wins: the plugin's per-cluster options,
 * SOUS_KUBE_<KEY>_<CLUSTER>, the plugin's options, SOUS_KUBE_<KEY>.
 */
export function settingsFor(cluster: string, opts: KubernetesOptions): ClusterSettings {
  const env = opts.env ?? process.env;
  const own = opts.clusters?.[cluster] ?? {};
  const out: Record<string, unknown> = {};
  for (const [key, suffix] of Object.entries(KEYS) as [keyof KubernetesClusterOptions, string][]) {
    const fromEnv = (name: string) => {
      const v = env[name];
      if (v === undefined || v === '') return undefined;
      return key === 'skipTLSVerify' ? v === '1' || v.toLowerCase() === 'true' : v;
    };
    out[key] = own[key] ?? fromEnv(`SOUS_KUBE_${suffix}_${envSuffix(cluster)}`) ?? opts[key] ?? fromEnv(`SOUS_KUBE_${suffix}`);
  }
  return out as KubernetesClusterOptions;
}

/** The cluster's proxy: the kubeconfig's own proxy-url, else the environment's for the server's URL. */
function proxyOf(server: string, configured: string | undefined, env: Record<string, string | undefined>): { proxyUrl?: string } {
  const proxyUrl = configured ?? proxyFor(server, env);
  return proxyUrl ? { proxyUrl } : {};
}

function isLoopback(host: string): boolean {
  return host === '127.0.0.1' || host === 'localhost' || host === '[::1]' || host === '::1';
}

/** Two API server URLs name the same server (scheme, host and port; a missing port is the scheme's). */
function sameServer(a: string | undefined, b: string | undefined): boolean {
  if (!a || !b) return false;
  try {
    const x = new URL(a);
    const y = new URL(b);
    const port = (u: URL) => u.port || (u.protocol === 'http:' ? '80' : '443');
    return x.protocol === y.protocol && x.hostname.toLowerCase() === y.hostname.toLowerCase() && port(x) === port(y);
  } catch {
    return false;
  }
}

/** The in-cluster API server's names: a cluster whose BaseURL is one of them may use the pod's ServiceAccount. */
function isInClusterName(server: string | undefined, inCluster: string | undefined): boolean {
  if (!server) return true;
  if (sameServer(server, inCluster)) return true;
  try {
    return /^kubernetes(\.default(\.svc(\.cluster\.local)?)?)?$/.test(new URL(server).hostname);
  } catch {
    return false;
  }
}

/** One cluster's connection: the client configuration, the namespace, and where each came from. */
export interface Connection {
  kc: K8s.KubeConfig;
  server: string;
  namespace: string;
  /** The kubeconfig context used (or `in-cluster`), if any. */
  context?: string;
  /** Whether the credentials came from an exec plugin (a 401 makes it run again). */
  exec: boolean;
}

/**
 * Which kubeconfig context serves a cluster: the one named; without a
 * name, the current one when the cluster has no BaseURL, else the one whose
 * server is the BaseURL (the current one first): a context's credentials
 * are never sent to a server it does not name. In a pod with no kubeconfig,
 * the pod's ServiceAccount, when the BaseURL is unset or the in-cluster server.
 */
function pickContext(c: ClusterRef, s: ClusterSettings, env: Record<string, string | undefined>, saDir: string | undefined): ResolvedContext | undefined {
  const base = c.def.BaseURL;
  // A BaseURL and a token of its own need no kubeconfig: a broken ~/.kube/config must not stop them.
  if (base && (s.token || s.tokenFile) && !s.kubeconfig && !s.context) return undefined;
  const files: KubeConfigFiles | undefined = loadKubeconfig(s.kubeconfig, env);
  if (files) {
    if (s.context || !base) return resolveContext(files, s.context, c.name);
    const names = [files.currentContext, ...files.contexts.keys()].filter((n): n is string => Boolean(n));
    for (const n of names) {
      const ctx = files.contexts.get(n);
      if (ctx && sameServer(files.clusters.get(ctx.cluster)?.server, base)) return resolveContext(files, n, c.name);
    }
    return undefined;
  }
  const pod = inClusterContext(env, saDir);
  if (pod && isInClusterName(base, pod.cluster.server)) return pod;
  return undefined;
}

function readToken(file: string, cluster: string): string {
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch (e) {
    throw usageError('KUBERNETES_BAD_TOKEN_FILE', `cannot read the token file ${file} for cluster ${cluster}: ${(e as Error).message}`, { hints: ['Set SOUS_KUBE_TOKEN_FILE_<CLUSTER> to a readable file'] });
  }
}

const b64 = (pem: string) => Buffer.from(pem, 'utf8').toString('base64');

/**
 * The connection for a cluster, as kubectl would make it: the API server
 * is the cluster's BaseURL (or the context's), credentials come from the
 * plugin's token settings, else the context's user (token, token file,
 * client certificate, basic auth or an exec plugin), and the namespace from
 * the settings, else the context, else `default`. Plain HTTP is accepted
 * only on the loopback interface (kubectl proxy).
 */
export async function connectionFor(c: ClusterRef, s: ClusterSettings, env: Record<string, string | undefined>, exec: ExecCredentials, saDir?: string): Promise<Connection> {
  const ctx = pickContext(c, s, env, saDir);
  const server = c.def.BaseURL || ctx?.cluster.server || '';
  if (!server) {
    throw usageError('KUBERNETES_NO_SERVER', `cluster ${c.name} names no API server: it has no BaseURL and no kubeconfig context gives one`, {
      hints: [`Set the API server URL: sous cluster add --name ${c.name} --kind kubernetes --base-url https://k8s.example.com:6443`, 'Or point KUBECONFIG (or SOUS_KUBE_KUBECONFIG_<CLUSTER>) at a kubeconfig'],
    });
  }
  let url: URL;
  try {
    url = new URL(server);
  } catch {
    throw usageError('KUBERNETES_BAD_SERVER', `cluster ${c.name}: ${JSON.stringify(server)} is not a URL`, { hints: ['The BaseURL of a kubernetes cluster is the API server URL, e.g. https://k8s.example.com:6443'] });
  }
  const http = url.protocol === 'http:';
  if (http && !isLoopback(url.hostname)) {
    throw usageError('KUBERNETES_INSECURE_SERVER', `cluster ${c.name}: the API server ${server} is plain HTTP on a remote host; credentials would cross the network unencrypted`, {
      hints: ['Use the https:// URL of the API server, or kubectl proxy on 127.0.0.1'],
    });
  }
  const user: { -readonly [K in keyof K8s.User]: K8s.User[K] } = { name: 'sous' };
  const u = ctx?.user ?? {};
  let usedExec = false;
  if (s.token) user.token = s.token;
  else if (s.tokenFile) user.token = readToken(s.tokenFile, c.name);
  else if (u.authProvider) {
    throw usageError('KUBERNETES_UNSUPPORTED_AUTH', `kubeconfig user of context ${ctx!.name} uses the auth-provider ${JSON.stringify(u.authProvider)}, which kubectl itself dropped (1.26) for exec plugins`, {
      hints: ['Use the provider\'s exec credential plugin (gke-gcloud-auth-plugin, kubelogin) in the kubeconfig, or a ServiceAccount token'],
    });
  } else {
    if (u.token) user.token = u.token;
    else if (u.tokenFile) user.token = readToken(u.tokenFile, c.name);
    else if (u.exec) {
      const cred = await exec.get(u.exec, { ...ctx!.cluster, server }, c.name);
      usedExec = true;
      if (cred.token) user.token = cred.token;
      else {
        user.certData = b64(cred.clientCertificateData!);
        user.keyData = b64(cred.clientKeyData!);
      }
    }
    if (u.username) Object.assign(user, { username: u.username, password: u.password });
    if (u.clientCertificateData) user.certData = u.clientCertificateData;
    if (u.clientCertificate) user.certFile = u.clientCertificate;
    if (u.clientKeyData) user.keyData = u.clientKeyData;
    if (u.clientKey) user.keyFile = u.clientKey;
  }
  const cl = ctx?.cluster ?? {};
  const cluster: K8s.Cluster = {
    name: c.name,
    server,
    skipTLSVerify: http || (s.skipTLSVerify ?? cl.insecureSkipTLSVerify ?? false),
    ...(s.caFile ? { caFile: s.caFile } : cl.certificateAuthorityData ? { caData: cl.certificateAuthorityData } : cl.certificateAuthority ? { caFile: cl.certificateAuthority } : {}),
    ...(cl.tlsServerName ? { tlsServerName: cl.tlsServerName } : {}),
    // The kubeconfig's proxy-url, else HTTPS_PROXY / NO_PROXY as every other outgoing call of Sous reads them.
    ...proxyOf(server, cl.proxyUrl, env),
  };
  const namespace = s.namespace || ctx?.namespace || 'default';
  const kc = new (k8s().KubeConfig)();
  kc.loadFromOptions({ clusters: [cluster], users: [user], contexts: [{ name: 'sous', cluster: c.name, user: 'sous', namespace }], currentContext: 'sous' });
  return { kc, server, namespace, context: ctx?.name, exec: usedExec };
}
