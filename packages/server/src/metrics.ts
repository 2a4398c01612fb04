import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** What operators graph: rectify passes, actions by outcome, queue depth, durations. */
export class ServerMetrics {
  readonly registry = new Registry();
  readonly passes = new Counter({ name: 'sous_rectify_passes_total', help: 'Rectify passes run, by result.', labelNames: ['result'], registers: [this.registry] });
  readonly actions = new Counter({ name: 'sous_rectify_actions_total', help: 'Rectify actions, by kind and outcome status.', labelNames: ['kind', 'status', 'cluster'], registers: [this.registry] });
  readonly passDuration = new Histogram({ name: 'sous_rectify_pass_duration_seconds', help: 'Duration of rectify passes.', buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 180], registers: [this.registry] });
  readonly actionDuration = new Histogram({ name: 'sous_rectify_action_duration_seconds', help: 'Duration of rectify actions, readiness included.', labelNames: ['kind'], buckets: [0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 300], registers: [this.registry] });
  readonly queueDepth = new Gauge({ name: 'sous_deploy_queue_depth', help: 'Deploy requests waiting or running.', registers: [this.registry] });
  readonly held = new Gauge({ name: 'sous_rectify_held', help: 'Changes held back after repeated failures, in the last pass.', registers: [this.registry] });
  readonly requests = new Counter({ name: 'sous_http_requests_total', help: 'HTTP requests, by route and status.', labelNames: ['route', 'method', 'status'], registers: [this.registry] });
}
