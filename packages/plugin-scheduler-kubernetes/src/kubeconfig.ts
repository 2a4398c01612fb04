import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseDocument } from 'yaml';
import { usageError } from '@sous/core';

/** A kubeconfig `cluster` entry, paths made absolute against the file that named them. */
export interface KubeCluster {
  server?: string;
  certificateAuthority?: string;
  certificateAuthorityData?: string;
  insecureSkipTLSVerify?: boolean;
  tlsServerName?: string;
  /** `proxy-url`: the proxy kubectl goes through to this server. */
  proxyUrl?: string;
}

/** An `exec` credential plugin, as kubeconfig's `users[].user.exec` names it. */
export interface ExecConfig {
  apiVersion: string;
  command: string;
  args?: string[];
  env?: { name: string; value: string }[];
  installHint?: string;
  provideClusterInfo?: boolean;
  interactiveMode?: string;
}

/** A kubeconfig `user` entry. */
export interface KubeUser {
  token?: string;
  tokenFile?: string;
  username?: string;
  password?: string;
  clientCertificate?: string;
  clientCertificateData?: string;
  clientKey?: string;
  clientKeyData?: string;
  exec?: ExecConfig;
  authProvider?: string;
}

/** The merged kubeconfig files, as kubectl sees them. */
export interface KubeConfigFiles {
  /** The files read, first first (missing files of KUBECONFIG are skipped, as kubectl does). */
  files: string[];
  currentContext?: string;
  clusters: Map<string, KubeCluster>;
  users: Map<string, KubeUser>;
  contexts: Map<string, { cluster: string; user: string; namespace?: string }>;
}

/** One context resolved: the cluster, the user, the namespace. */
export interface ResolvedContext {
  name: string;
  cluster: KubeCluster;
  user: KubeUser;
  namespace?: string;
  /** Where the context came from, for messages. */
  files: string[];
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

function absolute(file: string, p: string | undefined): string | undefined {
  return p === undefined || path.isAbsolute(p) ? p : path.resolve(path.dirname(file), p);
}

function named(list: unknown, key: string, file: string): [string, Record<string, unknown>][] {
  if (list === undefined || list === null) return [];
  if (!Array.isArray(list)) throw badKubeconfig(file, `${key} is not a list`);
  return list.map((e, i) => {
    const name = str((e as { name?: unknown })?.name);
    if (!name) throw badKubeconfig(file, `${key}[${i}] has no name`);
    const inner = (e as Record<string, unknown>)[key.replace(/s$/, '')];
    return [name, inner && typeof inner === 'object' ? (inner as Record<string, unknown>) : {}];
  });
}

export function badKubeconfig(file: string, why: string) {
  return usageError('KUBERNETES_BAD_KUBECONFIG', `kubeconfig ${file} cannot be used: ${why}`, {
    hints: ['Check the file with kubectl config view --kubeconfig ' + file],
    details: { file },
  });
}

/** Reads one kubeconfig file; clusters, users and contexts keep their first definition. */
function readFile(file: string, into: KubeConfigFiles): void {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw badKubeconfig(file, (e as Error).message);
  }
  const doc = parseDocument(text, { prettyErrors: true });
  if (doc.errors.length) throw badKubeconfig(file, `it does not parse as YAML: ${doc.errors[0].message.split('\n')[0]}`);
  const obj = (doc.toJS() ?? {}) as Record<string, unknown>;
  if (typeof obj !== 'object' || Array.isArray(obj)) throw badKubeconfig(file, 'it is not a mapping');
  into.files.push(file);
  // kubectl's merge rule: the first file to set a value wins, for current-context and for every named entry.
  into.currentContext ??= str(obj['current-context']);
  for (const [name, c] of named(obj.clusters, 'clusters', file)) {
    if (into.clusters.has(name)) continue;
    into.clusters.set(name, {
      server: str(c.server),
      certificateAuthority: absolute(file, str(c['certificate-authority'])),
      certificateAuthorityData: str(c['certificate-authority-data']),
      insecureSkipTLSVerify: c['insecure-skip-tls-verify'] === true,
      tlsServerName: str(c['tls-server-name']),
      proxyUrl: str(c['proxy-url']),
    });
  }
  for (const [name, u] of named(obj.users, 'users', file)) {
    if (into.users.has(name)) continue;
    const exec = u.exec as Record<string, unknown> | undefined;
    let execConfig: ExecConfig | undefined;
    if (exec) {
      const command = str(exec.command);
      if (!command) throw badKubeconfig(file, `user ${name}: exec has no command`);
      execConfig = {
        apiVersion: str(exec.apiVersion) ?? 'client.authentication.k8s.io/v1',
        // As kubectl: a command with a path separator is relative to the kubeconfig's directory; a bare name is looked up on PATH.
        command: command.includes('/') ? absolute(file, command)! : command,
        args: Array.isArray(exec.args) ? exec.args.map(String) : undefined,
        env: Array.isArray(exec.env) ? (exec.env as { name?: unknown; value?: unknown }[]).map((e) => ({ name: String(e.name), value: String(e.value ?? '') })) : undefined,
        installHint: str(exec.installHint),
        provideClusterInfo: exec.provideClusterInfo === true,
        interactiveMode: str(exec.interactiveMode),
      };
    }
    into.users.set(name, {
      token: str(u.token),
      tokenFile: absolute(file, str(u.tokenFile)),
      username: str(u.username),
      password: str(u.password),
      clientCertificate: absolute(file, str(u['client-certificate'])),
      clientCertificateData: str(u['client-certificate-data']),
      clientKey: absolute(file, str(u['client-key'])),
      clientKeyData: str(u['client-key-data']),
      exec: execConfig,
      authProvider: str((u['auth-provider'] as { name?: unknown } | undefined)?.name),
    });
  }
  for (const [name, c] of named(obj.contexts, 'contexts', file)) {
    if (into.contexts.has(name)) continue;
    into.contexts.set(name, { cluster: str(c.cluster) ?? '', user: str(c.user) ?? '', namespace: str(c.namespace) });
  }
}

/**
 * The kubeconfig files as kubectl finds them: an explicit file (which must
 * exist), else every file of KUBECONFIG (split on the path delimiter,
 * missing ones skipped, merged with the first file winning), else
 * ~/.kube/config when it exists. Undefined when there is none.
 */
export function loadKubeconfig(explicit: string | undefined, env: Record<string, string | undefined>): KubeConfigFiles | undefined {
  const out: KubeConfigFiles = { files: [], clusters: new Map(), users: new Map(), contexts: new Map() };
  if (explicit) {
    if (!fs.existsSync(explicit)) throw badKubeconfig(explicit, 'the file does not exist');
    readFile(explicit, out);
    return out;
  }
  const list = (env.KUBECONFIG ?? '').split(path.delimiter).filter(Boolean);
  if (list.length) {
    for (const f of list) if (fs.existsSync(f)) readFile(path.resolve(f), out);
    return out.files.length ? out : undefined;
  }
  const home = env.HOME || os.homedir();
  const def = path.join(home, '.kube', 'config');
  if (!fs.existsSync(def)) return undefined;
  readFile(def, out);
  return out;
}

/** The named context (or the current one) with its cluster and user; a context, cluster or user that is not there is an error. */
export function resolveContext(cfg: KubeConfigFiles, wanted: string | undefined, forCluster: string): ResolvedContext {
  const name = wanted ?? cfg.currentContext;
  const where = cfg.files.join(', ');
  const known = [...cfg.contexts.keys()];
  if (!name) {
    throw usageError('KUBERNETES_UNKNOWN_CONTEXT', `kubeconfig ${where} has no current-context, and cluster ${forCluster} names no context`, {
      hints: [`Name one: SOUS_KUBE_CONTEXT_<CLUSTER>=<context> or kubernetesScheduler({ clusters: { ${forCluster}: { context } } }); there are: ${known.join(', ') || '(none)'}`],
      details: { files: cfg.files, contexts: known },
    });
  }
  const ctx = cfg.contexts.get(name);
  if (!ctx) {
    // The contexts there go in the message too: where a cluster that cannot be read is only reported (a plan's errors), hints are not shown.
    throw usageError('KUBERNETES_UNKNOWN_CONTEXT', `context ${JSON.stringify(name)} (for cluster ${forCluster}) is not in kubeconfig ${where}; it has ${known.length ? known.join(', ') : 'no context'}`, {
      hints: [`Contexts there: ${known.join(', ') || '(none)'} (kubectl config get-contexts)`],
      details: { files: cfg.files, context: name, contexts: known },
    });
  }
  const cluster = cfg.clusters.get(ctx.cluster);
  if (!cluster) {
    throw usageError('KUBERNETES_UNKNOWN_CONTEXT', `context ${JSON.stringify(name)} names cluster ${JSON.stringify(ctx.cluster)}, which is not in kubeconfig ${where}`, {
      hints: ['Add the cluster (kubectl config set-cluster) or fix the context'],
      details: { files: cfg.files, context: name },
    });
  }
  const user = ctx.user ? cfg.users.get(ctx.user) : {};
  if (!user) {
    throw usageError('KUBERNETES_UNKNOWN_CONTEXT', `context ${JSON.stringify(name)} names user ${JSON.stringify(ctx.user)}, which is not in kubeconfig ${where}`, {
      hints: ['Add the user (kubectl config set-credentials) or fix the context'],
      details: { files: cfg.files, context: name },
    });
  }
  return { name, cluster, user, namespace: ctx.namespace, files: cfg.files };
}

/** Where a pod's ServiceAccount credentials are mounted. */
export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/** The in-cluster connection, as client-go's InClusterConfig makes it, when running in a pod; undefined elsewhere. */
export function inClusterContext(env: Record<string, string | undefined>, dir = SERVICE_ACCOUNT_DIR): ResolvedContext | undefined {
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT;
  const tokenFile = path.join(dir, 'token');
  if (!host || !port || !fs.existsSync(tokenFile)) return undefined;
  const ns = path.join(dir, 'namespace');
  const h = host.includes(':') ? `[${host}]` : host;
  return {
    name: 'in-cluster',
    cluster: { server: `https://${h}:${port}`, certificateAuthority: path.join(dir, 'ca.crt') },
    user: { tokenFile },
    namespace: fs.existsSync(ns) ? fs.readFileSync(ns, 'utf8').trim() || undefined : undefined,
    files: [],
  };
}
