/**
 * What the proxy reports about each request besides its log line: the interface an exporter implements (Azure
 * Monitor's is src/adapters/azure/monitorMetrics.ts), and its in-memory twin for tests and for reading back.
 */
import type { LogFields } from '../logger';

/** One request, as logged: request_id, method, path, status, ms, ttfb_ms, and the handler's fields. */
export type RequestRecord = LogFields & { status: number; ms: number; ttfb_ms: number };

export interface RequestMetrics {
  record(record: RequestRecord): void;
  /** Sends what is pending and stops. */
  shutdown(): Promise<void>;
}

/** Keeps every record in memory, in order. */
export class MemoryMetrics implements RequestMetrics {
  readonly records: RequestRecord[] = [];
  stopped = false;

  record(record: RequestRecord): void {
    if (!this.stopped) this.records.push(record);
  }

  async shutdown(): Promise<void> {
    this.stopped = true;
  }
}
