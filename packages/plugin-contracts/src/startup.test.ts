import type { Cluster, ContractReport, Manifest } from '@sous/core';
import { resolveOptions } from './options';
import { startupSettings } from './startup';

const opts = resolveOptions({}, {});
const report = (manifest?: Partial<Manifest>, clusters?: Record<string, Cluster>): ContractReport => ({ image: { id: 'x', name: 'x', tags: [], labels: {}, contentKey: '' }, kind: 'http-service', manifest: manifest as Manifest, results: [], clusters });

describe('startupSettings', () => {
  it('defaults to /health over HTTP, one port and the plugin timeout without a manifest', () => {
    expect(startupSettings(report(), opts)).toMatchObject({ cluster: undefined, path: '/health', protocol: 'HTTP', ports: 1, portIndex: 0, timeoutMs: 30_000, connectDelayMs: 0, skipCheck: false, env: {}, args: [] });
  });

  it('expands each deployment with its cluster and takes the most patient one', () => {
    const clusters = {
      fast: { Kind: 'docker', BaseURL: 'x', Startup: { Timeout: 10 } },
      slow: { Kind: 'docker', BaseURL: 'x', Env: { FROM_CLUSTER: '1' }, Startup: { Timeout: 90, CheckReadyURIPath: '/ready', CheckReadyFailureStatuses: [500] } },
    } as unknown as Record<string, Cluster>;
    const m = {
      Kind: 'http-service',
      Deployments: {
        fast: { Startup: { ConnectDelay: 5 }, Env: { A: 'fast' } },
        slow: { Env: { A: 'slow' }, Args: ['--serve'], Resources: { ports: '2' }, Startup: { CheckReadyPortIndex: 1 } },
      },
    } as unknown as Manifest;
    const st = startupSettings(report(m, clusters), opts);
    expect(st).toMatchObject({ cluster: 'slow', timeoutMs: 90_000, connectDelayMs: 0, path: '/ready', failureStatuses: [500], ports: 2, portIndex: 1, args: ['--serve'] });
    expect(st.env).toEqual({ FROM_CLUSTER: '1', A: 'slow' });
  });

  it('uses the deployment\'s own Startup over the cluster\'s, and keeps SkipCheck and HTTPS', () => {
    const clusters = { c: { Kind: 'docker', BaseURL: 'x', Startup: { Timeout: 10, CheckReadyURIPath: '/cluster' } } } as unknown as Record<string, Cluster>;
    const m = { Kind: 'http-service', Deployments: { c: { Startup: { Timeout: 4, CheckReadyProtocol: 'https', SkipCheck: true, CheckReadyURITimeout: 7 } } } } as unknown as Manifest;
    expect(startupSettings(report(m, clusters), opts)).toMatchObject({ timeoutMs: 4000, path: '/cluster', protocol: 'HTTPS', skipCheck: true, requestTimeoutMs: 7000 });
  });
});
