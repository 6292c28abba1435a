/**
 * Per-request metrics for Application Insights: when APPLICATIONINSIGHTS_CONNECTION_STRING is set, every request's
 * record (the same one its log line has) becomes OpenTelemetry metrics, exported with the Azure Monitor exporter
 * as custom metrics with the model, deployment, backend and status as dimensions: request counts, duration, time
 * to first byte, and tokens by kind. (The Functions host sends the log lines themselves, as traces.)
 *
 * With APPLICATIONINSIGHTS_AUTHENTICATION_STRING `Authorization=AAD` (the form the Functions host reads too), the
 * exporter sends with an Entra token of the app's identity, so the resource can turn off key-based ingestion.
 */
import type { TokenCredential } from '@azure/identity';
import type { PushMetricExporter } from '@opentelemetry/sdk-metrics';
import { loadMonitorExporter, loadSdkMetrics } from './sdks';
import type { RequestMetrics } from '../../core';

export interface MetricsOptions {
  /** How often metrics are sent; Azure Monitor's own default is a minute. */
  exportIntervalMs?: number;
  /** For tests: an exporter other than Azure Monitor's. */
  exporter?: PushMetricExporter;
  /** Sends with Entra tokens of this credential (Monitoring Metrics Publisher) instead of the key alone. */
  credential?: TokenCredential;
}

/**
 * What APPLICATIONINSIGHTS_AUTHENTICATION_STRING asks for (`Authorization=AAD;ClientId=<user-assigned id>`):
 * Entra authentication, with a user-assigned identity's client id or the system-assigned identity.
 */
export function monitorAuthentication(value: string | undefined): { entra: false } | { entra: true; clientId?: string } {
  const parts = new Map(
    (value ?? '')
      .split(';')
      .map((part) => part.split('=').map((s) => s.trim()) as [string, string?])
      .filter(([name]) => name !== '')
      .map(([name, v]) => [name.toLowerCase(), v ?? '']),
  );
  if (parts.get('authorization')?.toUpperCase() !== 'AAD') return { entra: false };
  const clientId = parts.get('clientid');
  return clientId ? { entra: true, clientId } : { entra: true };
}

export const METRIC_NAMES = {
  requests: 'openai_proxy_requests',
  duration: 'openai_proxy_duration_ms',
  ttfb: 'openai_proxy_time_to_first_byte_ms',
  tokens: 'openai_proxy_tokens',
} as const;

/** Each metric's dimensions (customDimensions in Application Insights; the workbook's queries use them). */
export const METRIC_DIMENSIONS = ['route', 'model', 'deployment', 'backend', 'status', 'client', 'attempts', 'kind'] as const;
type MetricDimension = Exclude<(typeof METRIC_DIMENSIONS)[number], 'kind'>;

const text = (value: unknown): string => (typeof value === 'string' || typeof value === 'number' ? String(value) : 'none');

export function createMetrics(connectionString: string | undefined, options: MetricsOptions = {}): RequestMetrics {
  const { MeterProvider, PeriodicExportingMetricReader } = loadSdkMetrics();
  const exporter = options.exporter ?? new (loadMonitorExporter().AzureMonitorMetricExporter)({ connectionString, ...(options.credential !== undefined && { credential: options.credential }) });
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: options.exportIntervalMs ?? 60_000 });
  const provider = new MeterProvider({ readers: [reader] });
  const meter = provider.getMeter('azure-openai-proxy');
  const requests = meter.createCounter(METRIC_NAMES.requests, { description: 'Requests served' });
  const duration = meter.createHistogram(METRIC_NAMES.duration, { description: 'Time to the end of the response', unit: 'ms' });
  const ttfb = meter.createHistogram(METRIC_NAMES.ttfb, { description: 'Time to the first byte of the response body', unit: 'ms' });
  const tokens = meter.createCounter(METRIC_NAMES.tokens, { description: 'Tokens used, by kind (prompt, completion)' });
  return {
    record(record) {
      const attributes: Record<MetricDimension, string> = {
        route: text(record.route),
        model: text(record.model),
        deployment: text(record.deployment),
        backend: text(record.backend),
        status: String(record.status),
        client: text(record.client),
        // More than 1: the request failed over to another backend of its pool.
        attempts: text(record.attempts),
      };
      requests.add(1, attributes);
      duration.record(record.ms, attributes);
      ttfb.record(record.ttfb_ms, attributes);
      if (typeof record.prompt_tokens === 'number') tokens.add(record.prompt_tokens, { ...attributes, kind: 'prompt' });
      if (typeof record.completion_tokens === 'number') tokens.add(record.completion_tokens, { ...attributes, kind: 'completion' });
    },
    shutdown: () => provider.shutdown(),
  };
}
