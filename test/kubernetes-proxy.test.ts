/**
 * The Kubernetes client (the official one, an ES module jest cannot load,
 * hence the built code in a child process) goes through the proxy the
 * environment names, with the NO_PROXY rules every other call of Sous follows.
 */
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { requireBuilt, ROOT } from './helpers/sous';

function proxyUrl(server: string, env: Record<string, string>): string {
  const script = `
    const dist = ${JSON.stringify(path.join(ROOT, 'packages/plugin-scheduler-kubernetes/dist'))};
    const { connectionFor } = require(dist + '/options.js');
    const { ExecCredentials } = require(dist + '/exec-credential.js');
    const env = JSON.parse(process.argv[2]);
    connectionFor({ name: 'prod', def: { Kind: 'kubernetes', BaseURL: process.argv[1] } }, { token: 't-0123456789' }, env, new ExecCredentials(env)).then(
      (c) => process.stdout.write(String(c.kc.getCurrentCluster().proxyUrl ?? 'direct')),
      (e) => { console.error(e); process.exit(1); },
    );`;
  return execFileSync(process.execPath, ['-e', script, server, JSON.stringify(env)], { encoding: 'utf8' });
}

beforeAll(() => requireBuilt());

it('takes HTTPS_PROXY for the API server unless NO_PROXY names it; loopback goes direct', () => {
  expect(proxyUrl('https://k8s.acme.com:6443', { HTTPS_PROXY: 'http://proxy.corp:3128' })).toBe('http://proxy.corp:3128');
  expect(proxyUrl('https://k8s.acme.com:6443', { HTTPS_PROXY: 'http://proxy.corp:3128', NO_PROXY: '.acme.com' })).toBe('direct');
  expect(proxyUrl('http://127.0.0.1:8001', { HTTP_PROXY: 'http://proxy.corp:3128' })).toBe('direct');
});
