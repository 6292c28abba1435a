/**
 * The Azure SDKs the proxy uses only when a setting asks for them: the identity library (with MSAL) for managed
 * identity, the App Configuration client for a store, the Table Storage client for shared limits, and OpenTelemetry with the Azure Monitor exporter for
 * Application Insights. Each is loaded on first use rather than at start-up: together they add about 40 MB of
 * memory and their load time to every cold start of an instance that does not use them.
 */
/* eslint-disable @typescript-eslint/no-require-imports -- loading on first use is the point of this module */
import type * as AppConfiguration from '@azure/app-configuration';
import type * as DataTables from '@azure/data-tables';
import type * as Identity from '@azure/identity';
import type * as MonitorExporter from '@azure/monitor-opentelemetry-exporter';
import type * as SdkMetrics from '@opentelemetry/sdk-metrics';

export function loadIdentity(): typeof Identity {
  return require('@azure/identity') as typeof Identity;
}

export function loadAppConfiguration(): typeof AppConfiguration {
  return require('@azure/app-configuration') as typeof AppConfiguration;
}

export function loadDataTables(): typeof DataTables {
  return require('@azure/data-tables') as typeof DataTables;
}

export function loadMonitorExporter(): typeof MonitorExporter {
  return require('@azure/monitor-opentelemetry-exporter') as typeof MonitorExporter;
}

export function loadSdkMetrics(): typeof SdkMetrics {
  return require('@opentelemetry/sdk-metrics') as typeof SdkMetrics;
}
