import * as fsp from 'node:fs/promises';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { defaultOutboxDir } from '@sous/core';

const DURATION_BUCKETS = [0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800];

/** Deliveries waiting in each notifier's outbox under `roots` (`<root>/<notifier>/pending/*.json`). */
export async function outboxDepths(roots: string[]): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const root of new Set(roots)) {
    let notifiers: string[];
    try {
      notifiers = await fsp.readdir(root);
    } catch {
      continue;
    }
    for (const n of notifiers) {
      try {
        const files = await fsp.readdir(path.join(root, n, 'pending'));
        out.set(n, (out.get(n) ?? 0) + files.filter((f) => f.endsWith('.json')).length);
      } catch {
        // not a notifier's directory
      }
    }
  }
  return out;
}

/**
 * What operators graph: the process itself, HTTP requests, rectify passes
 * and actions, deploy and build durations by outcome, the deploy queue and
 * the notifiers' outboxes, and when each cluster was last rectified without
 * a failure.
 */
export class ServerMetrics {
  readonly registry = new Registry();
  readonly passes = new Counter({ name: 'sous_rectify_passes_total', help: 'Rectify passes run, by result.', labelNames: ['result'], registers: [this.registry] });
  readonly actions = new Counter({ name: 'sous_rectify_actions_total', help: 'Rectify actions, by kind and outcome status.', labelNames: ['kind', 'status', 'cluster'], registers: [this.registry] });
  readonly passDuration = new Histogram({ name: 'sous_rectify_pass_duration_seconds', help: 'Duration of rectify passes.', buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 180], registers: [this.registry] });
  readonly actionDuration = new Histogram({ name: 'sous_rectify_action_duration_seconds', help: 'Duration of rectify actions, readiness included.', labelNames: ['kind'], buckets: [0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 300], registers: [this.registry] });
  readonly queueDepth = new Gauge({ name: 'sous_deploy_queue_depth', help: 'Deploy requests waiting or running.', registers: [this.registry] });
  readonly held = new Gauge({ name: 'sous_rectify_held', help: 'Changes held back after repeated failures, in the last pass.', registers: [this.registry] });
  readonly requests = new Counter({ name: 'sous_http_requests_total', help: 'HTTP requests, by route and status.', labelNames: ['route', 'method', 'status'], registers: [this.registry] });
  readonly requestDuration = new Histogram({
    name: 'sous_http_request_duration_seconds',
    help: 'HTTP request durations, by route, method and status.',
    labelNames: ['route', 'method', 'status'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  readonly deployDuration = new Histogram({
    name: 'sous_deploy_duration_seconds',
    help: 'Deploys (create, update and scale actions, readiness included) by outcome: live, failed or timeout.',
    labelNames: ['outcome', 'cluster'],
    buckets: DURATION_BUCKETS,
    registers: [this.registry],
  });
  readonly buildDuration = new Histogram({
    name: 'sous_build_duration_seconds',
    help: 'Tag builds from start to end, by outcome: built, skipped, failed or cancelled.',
    labelNames: ['outcome'],
    buckets: DURATION_BUCKETS,
    registers: [this.registry],
  });
  readonly lastRectified = new Gauge({
    name: 'sous_rectify_last_success_timestamp_seconds',
    help: 'When a rectify pass last read the cluster and carried out every action it planned there (Unix time).',
    labelNames: ['cluster'],
    registers: [this.registry],
  });

  constructor(opts: { outboxRoots?: string[] } = {}) {
    collectDefaultMetrics({ register: this.registry });
    const roots = [defaultOutboxDir(), ...(opts.outboxRoots ?? [])];
    new Gauge({
      name: 'sous_outbox_depth',
      help: 'Notifications waiting in each notifier outbox (delivered or given up on are not counted).',
      labelNames: ['notifier'],
      registers: [this.registry],
      async collect() {
        this.reset();
        for (const [n, depth] of await outboxDepths(roots)) this.set({ notifier: n }, depth);
      },
    });
  }
}

/**
 * `--metrics-listen`: /metrics alone on a listener of its own, without
 * authentication, as Prometheus scrapes it; anything else is 404.
 */
export async function startMetricsListener(metrics: ServerMetrics, host: string, port: number): Promise<{ address: string; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    const p = (req.url ?? '/').split('?')[0];
    if (p !== '/metrics' || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('only GET /metrics is served here\n');
      return;
    }
    metrics.registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(req.method === 'HEAD' ? undefined : text),
      (e: Error) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`${e.message}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const a = server.address() as AddressInfo;
  return {
    address: `http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
