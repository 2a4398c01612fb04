import * as fs from 'node:fs';
import { usageError, type ClusterRef } from '@sous/core';
import type * as K8s from '@kubernetes/client-node';
import { k8s } from './client';

/** How to reach one cluster's API server. Every field is optional. */
export interface KubernetesClusterOptions {
  /** Namespace Sous's objects live in (default `sous`). */
  namespace?: string;
  /** A kubeconfig file to take credentials (and the server, when the cluster has no BaseURL) from. */
  kubeconfig?: string;
  /** The kubeconfig context to use (default: the file's current context). */
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
  /** Environment to read the SOUS_KUBE_* settings from (default process.env). */
  env?: Record<string, string | undefined>;
}

/** Everything one cluster's scheduler needs to connect. */
export interface ClusterSettings extends KubernetesClusterOptions {
  namespace: string;
}

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
 * SOUS_KUBE_<KEY>_<CLUSTER>, the plugin's options, SOUS_KUBE_<KEY>; the
 * kubeconfig falls back to KUBECONFIG when the cluster has no BaseURL.
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
  return { ...(out as KubernetesClusterOptions), namespace: (out.namespace as string | undefined) || 'sous' };
}

function isLoopback(host: string): boolean {
  return host === '127.0.0.1' || host === 'localhost' || host === '[::1]' || host === '::1';
}

/**
 * The client configuration for a cluster: the API server is the cluster's
 * BaseURL (or the kubeconfig's), credentials come from a token or the
 * kubeconfig's user. Plain HTTP is accepted only on the loopback interface
 * (kubectl proxy), where there is no certificate to check.
 */
export function kubeConfigFor(c: ClusterRef, s: ClusterSettings, env: Record<string, string | undefined> = process.env): K8s.KubeConfig {
  const m = k8s();
  const kc = new m.KubeConfig();
  const kubeconfig = s.kubeconfig ?? (c.def.BaseURL ? undefined : env.KUBECONFIG);
  let server = c.def.BaseURL ?? '';
  let user: K8s.User = { name: 'sous' };
  let base: Partial<K8s.Cluster> = {};
  if (kubeconfig) {
    try {
      kc.loadFromFile(kubeconfig);
      if (s.context) kc.setCurrentContext(s.context);
    } catch (e) {
      throw usageError('KUBERNETES_BAD_KUBECONFIG', `cannot use kubeconfig ${kubeconfig} for cluster ${c.name}: ${(e as Error).message}`, { hints: ['Check the file and the context name (kubectl config get-contexts)'] });
    }
    base = kc.getCurrentCluster() ?? {};
    user = kc.getCurrentUser() ?? user;
    server ||= base.server ?? '';
  }
  if (!server) {
    throw usageError('KUBERNETES_NO_SERVER', `cluster ${c.name} names no API server: it has no BaseURL and no kubeconfig`, {
      hints: [`Set the API server URL: sous cluster add --name ${c.name} --kind kubernetes --base-url https://k8s.example.com:6443`, 'Or point SOUS_KUBE_KUBECONFIG_<CLUSTER> (or KUBECONFIG) at a kubeconfig'],
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
  let token = s.token;
  if (!token && s.tokenFile) {
    try {
      token = fs.readFileSync(s.tokenFile, 'utf8').trim();
    } catch (e) {
      throw usageError('KUBERNETES_BAD_TOKEN_FILE', `cannot read the token file ${s.tokenFile} for cluster ${c.name}: ${(e as Error).message}`, { hints: ['Set SOUS_KUBE_TOKEN_FILE_<CLUSTER> to a readable file'] });
    }
  }
  if (token) user = { name: 'sous', token };
  kc.loadFromOptions({
    clusters: [{ ...base, name: c.name, server, skipTLSVerify: http || (s.skipTLSVerify ?? base.skipTLSVerify ?? false), ...(s.caFile ? { caFile: s.caFile, caData: undefined } : {}) }],
    users: [user],
    contexts: [{ name: 'sous', cluster: c.name, user: user.name, namespace: s.namespace }],
    currentContext: 'sous',
  });
  return kc;
}
