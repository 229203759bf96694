// Prometheus metrics (prom-client) on a registry of this server's own, so two servers in one
// process (tests, an embedding application) never share or double-register counters.
import type { Counter, Histogram, Gauge, Registry } from 'prom-client';

export interface ServeMetrics {
  registry: Registry;
  requests: Counter<'route' | 'method' | 'status'>;
  duration: Histogram<'route'>;
  forecastBatchSeries: Histogram;
  forecastBatchRequests: Histogram;
  forecastQueueSeries: Gauge;
  lmTokens: Counter<'kind'>;
  sessionOps: Counter<'op' | 'result'>;
  rejected: Counter<'reason'>;
  mqttMessages: Counter<'result'>;
}

export async function createMetrics(gauges: { forecastQueue: () => number }): Promise<ServeMetrics> {
  const prom = await import('prom-client');
  const registry = new prom.Registry();
  prom.collectDefaultMetrics({ register: registry, prefix: 'xlstm_' });
  const r = [registry];
  return {
    registry,
    requests: new prom.Counter({ name: 'xlstm_http_requests_total', help: 'HTTP requests by route, method and status', labelNames: ['route', 'method', 'status'] as const, registers: r }),
    duration: new prom.Histogram({ name: 'xlstm_http_request_duration_seconds', help: 'HTTP request duration', labelNames: ['route'] as const, buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30], registers: r }),
    forecastBatchSeries: new prom.Histogram({ name: 'xlstm_forecast_batch_series', help: 'Series per gathered forecast call', buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024], registers: r }),
    forecastBatchRequests: new prom.Histogram({ name: 'xlstm_forecast_batch_requests', help: 'Requests per gathered forecast call', buckets: [1, 2, 4, 8, 16, 32, 64, 128], registers: r }),
    forecastQueueSeries: new prom.Gauge({ name: 'xlstm_forecast_queue_series', help: 'Series waiting for a forward pass', registers: r, collect() { this.set(gauges.forecastQueue()); } }),
    lmTokens: new prom.Counter({ name: 'xlstm_lm_tokens_total', help: 'Language-model tokens: prompt (processed) and completion (generated)', labelNames: ['kind'] as const, registers: r }),
    sessionOps: new prom.Counter({ name: 'xlstm_session_operations_total', help: 'Session store reads and writes', labelNames: ['op', 'result'] as const, registers: r }),
    rejected: new prom.Counter({ name: 'xlstm_rejected_requests_total', help: 'Requests refused before work: overload, limits, auth', labelNames: ['reason'] as const, registers: r }),
    mqttMessages: new prom.Counter({ name: 'xlstm_mqtt_requests_total', help: 'MQTT forecast requests by result (ok, bad_request, overload, internal_error)', labelNames: ['result'] as const, registers: r }),
  };
}
