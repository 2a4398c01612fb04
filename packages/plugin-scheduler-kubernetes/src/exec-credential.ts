import { execFile } from 'node:child_process';
import { SousError, usageError } from '@sous/core';
import type { ExecConfig, KubeCluster } from './kubeconfig';

/** What an exec credential plugin gave: a bearer token, or a client certificate and key (PEM). */
export interface ExecCredential {
  token?: string;
  clientCertificateData?: string;
  clientKeyData?: string;
  /** When it stops being good (ms since the epoch); undefined: until the API server refuses it. */
  expiresAt?: number;
}

const VERSIONS = new Set(['client.authentication.k8s.io/v1', 'client.authentication.k8s.io/v1beta1']);
const TIMEOUT_MS = 60_000;

/**
 * Runs kubeconfig `exec` credential plugins as kubectl does
 * (client-go's exec authenticator): the command with its args and env on
 * top of ours, KUBERNETES_EXEC_INFO describing the request (never
 * interactive), an ExecCredential of the same apiVersion read from stdout.
 * Each credential is kept until its expirationTimestamp, or until
 * `forget()` after the API server answered 401.
 */
export class ExecCredentials {
  private readonly cache = new Map<string, ExecCredential>();

  constructor(private readonly env: Record<string, string | undefined> = process.env) {}

  forget(): void {
    this.cache.clear();
  }

  async get(exec: ExecConfig, cluster: KubeCluster, forCluster: string): Promise<ExecCredential> {
    const key = JSON.stringify([exec, cluster.server]);
    const hit = this.cache.get(key);
    if (hit && (hit.expiresAt === undefined || hit.expiresAt - 10_000 > Date.now())) return hit;
    const cred = await this.run(exec, cluster, forCluster);
    this.cache.set(key, cred);
    return cred;
  }

  private async run(exec: ExecConfig, cluster: KubeCluster, forCluster: string): Promise<ExecCredential> {
    const what = `the kubeconfig exec credential plugin ${JSON.stringify(exec.command)} (cluster ${forCluster})`;
    if (!VERSIONS.has(exec.apiVersion)) {
      throw usageError('KUBERNETES_EXEC_PLUGIN_FAILED', `${what} asks for ${exec.apiVersion}, which Sous does not speak`, {
        hints: ['Use apiVersion client.authentication.k8s.io/v1 (or v1beta1) in the kubeconfig user\'s exec'],
      });
    }
    if (exec.interactiveMode === 'Always') {
      throw usageError('KUBERNETES_EXEC_PLUGIN_FAILED', `${what} needs a terminal (interactiveMode: Always), and Sous runs it without one`, {
        hints: ['Give the plugin a non-interactive login (a service principal, a refresh token) or a ServiceAccount token instead'],
      });
    }
    const spec: Record<string, unknown> = { interactive: false };
    if (exec.provideClusterInfo) {
      spec.cluster = {
        server: cluster.server,
        'certificate-authority-data': cluster.certificateAuthorityData,
        'tls-server-name': cluster.tlsServerName,
        'insecure-skip-tls-verify': cluster.insecureSkipTLSVerify || undefined,
      };
    }
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(this.env)) if (v !== undefined) env[k] = v;
    for (const e of exec.env ?? []) env[e.name] = e.value;
    env.KUBERNETES_EXEC_INFO = JSON.stringify({ apiVersion: exec.apiVersion, kind: 'ExecCredential', spec });
    const { stdout, stderr, error } = await new Promise<{ stdout: string; stderr: string; error?: { code?: string | number | null; killed?: boolean } }>((resolve) => {
      const child = execFile(exec.command, exec.args ?? [], { env, timeout: TIMEOUT_MS, maxBuffer: 1 << 20, encoding: 'utf8' }, (err, out, errOut) => resolve({ stdout: out, stderr: errOut, error: err ?? undefined }));
      child.stdin?.end();
    });
    if (error) {
      const missing = error.code === 'ENOENT';
      const why = missing ? 'the command was not found' : error.killed ? `it did not finish within ${TIMEOUT_MS / 1000} s` : `it exited with ${String(error.code)}`;
      throw new SousError('KUBERNETES_EXEC_PLUGIN_FAILED', `${what} failed: ${why}${stderr.trim() ? `: ${stderr.trim().slice(0, 500)}` : ''}`, {
        exit: missing ? 2 : 1,
        hints: [missing && exec.installHint ? exec.installHint : 'Run the command by hand to see what it needs (a login, a network)'],
        details: { command: exec.command },
      });
    }
    let obj: { apiVersion?: string; kind?: string; status?: Record<string, unknown> };
    try {
      obj = JSON.parse(stdout) as typeof obj;
    } catch {
      throw new SousError('KUBERNETES_EXEC_PLUGIN_FAILED', `${what} printed something that is not an ExecCredential (not JSON)`, { hints: ['The plugin must print an ExecCredential object as JSON on stdout'] });
    }
    if (obj.kind !== 'ExecCredential' || obj.apiVersion !== exec.apiVersion) {
      throw new SousError('KUBERNETES_EXEC_PLUGIN_FAILED', `${what} answered ${obj.kind ?? '(no kind)'} ${obj.apiVersion ?? '(no apiVersion)'}, not the ExecCredential ${exec.apiVersion} it was asked for`, {
        hints: ['Set the kubeconfig exec apiVersion to the one the plugin speaks'],
      });
    }
    const st = obj.status ?? {};
    const token = typeof st.token === 'string' && st.token ? st.token : undefined;
    const cert = typeof st.clientCertificateData === 'string' ? st.clientCertificateData : undefined;
    const key = typeof st.clientKeyData === 'string' ? st.clientKeyData : undefined;
    if (!token && !(cert && key)) {
      throw new SousError('KUBERNETES_EXEC_PLUGIN_FAILED', `${what} gave neither a token nor a client certificate and key`, { hints: ['Run the command by hand and check its status field'] });
    }
    const exp = typeof st.expirationTimestamp === 'string' ? Date.parse(st.expirationTimestamp) : NaN;
    return { token, clientCertificateData: cert, clientKeyData: key, expiresAt: Number.isFinite(exp) ? exp : undefined };
  }
}
