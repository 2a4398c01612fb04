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
    const { kubeConfigFor } = require(${JSON.stringify(path.join(ROOT, 'packages/plugin-scheduler-kubernetes/dist/options.js'))});
    const kc = kubeConfigFor({ name: 'prod', def: { Kind: 'kubernetes', BaseURL: process.argv[1] } }, { token: 't-0123456789' }, JSON.parse(process.argv[2]));
    process.stdout.write(String(kc.getCurrentCluster().proxyUrl ?? 'direct'));`;
  return execFileSync(process.execPath, ['-e', script, server, JSON.stringify(env)], { encoding: 'utf8' });
}

beforeAll(() => requireBuilt());

it('takes HTTPS_PROXY for the API server unless NO_PROXY names it; loopback goes direct', () => {
  expect(proxyUrl('https://k8s.acme.com:6443', { HTTPS_PROXY: 'http://proxy.corp:3128' })).toBe('http://proxy.corp:3128');
  expect(proxyUrl('https://k8s.acme.com:6443', { HTTPS_PROXY: 'http://proxy.corp:3128', NO_PROXY: '.acme.com' })).toBe('direct');
  expect(proxyUrl('http://127.0.0.1:8001', { HTTP_PROXY: 'http://proxy.corp:3128' })).toBe('direct');
});
