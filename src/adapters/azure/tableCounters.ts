/**
 * Azure Table Storage as the store of limits' counts (the core's CounterStore): table `proxylimits`, one partition
 * per client key, one row per writer (a process), holding that writer's counts of the current windows as JSON.
 * An exchange is two operations: the writer's row replaced (an upsert: idempotent, so a retry never counts
 * twice), then the partition read and the other rows summed. A row not written this month is removed, with its
 * ETag, so a writer that came back to life in between is never erased.
 */
import type { TableClient, TableEntityResult } from '@azure/data-tables';
import type { TokenCredential } from '@azure/identity';
import { isPlainHttpOnLoopback } from './loopback';
import { loadDataTables, loadIdentity } from './sdks';
import type { CounterStore, UsageStoreSettings } from '../../core';

export const COUNTERS_TABLE = 'proxylimits';

interface CounterRow {
  partitionKey: string;
  rowKey: string;
  counts: string;
  /** When the writer last wrote, ms since the epoch. */
  written: number;
}

/** A Table client for the usage store's settings: its connection string, or its endpoint with the app's identity. */
export function usageTableClient(settings: UsageStoreSettings, table: string, credential?: TokenCredential): TableClient {
  const { TableClient } = loadDataTables();
  // A failed exchange is tried again at the next one; the SDK's own retries would hold the others back.
  const options = { retryOptions: { maxRetries: 1, retryDelayInMs: 200, maxRetryDelayInMs: 1000 } };
  if (settings.connectionString !== undefined) {
    const insecure = /(^|;)\s*(UseDevelopmentStorage=true|DefaultEndpointsProtocol=http;)/i.test(settings.connectionString) || /TableEndpoint=http:/i.test(settings.connectionString);
    return TableClient.fromConnectionString(settings.connectionString, table, { ...options, allowInsecureConnection: insecure });
  }
  const endpoint = settings.tableEndpoint ?? '';
  return new TableClient(endpoint, table, credential ?? new (loadIdentity().DefaultAzureCredential)(), {
    ...options,
    allowInsecureConnection: isPlainHttpOnLoopback(endpoint),
  });
}

/**
 * Runs a table operation, creating the table first (once per process; an existing one is fine), and again when
 * the table turns out to be gone (a store recreated, or Azurite restarted).
 */
export function withTable(client: TableClient): <T>(operation: () => Promise<T>) => Promise<T> {
  let created: Promise<void> | undefined;
  const create = (): Promise<void> => {
    created ??= client.createTable().catch((error: unknown) => {
      created = undefined;
      throw error;
    });
    return created;
  };
  return async (operation) => {
    await create();
    try {
      return await operation();
    } catch (error) {
      if ((error as { statusCode?: number }).statusCode !== 404) throw error;
      created = undefined;
      await create();
      return operation();
    }
  };
}

function startOfMonth(now: number): number {
  const date = new Date(now);
  return Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), 1);
}

export function tableCounterStore(settings: UsageStoreSettings, credential?: TokenCredential): CounterStore {
  const client = usageTableClient(settings, COUNTERS_TABLE, credential);
  const inTable = withTable(client);
  return {
    async exchange(partition, writer, counts) {
      const now = Date.now();
      await inTable(() => client.upsertEntity<CounterRow>({ partitionKey: partition, rowKey: writer, counts: JSON.stringify(Object.fromEntries(counts)), written: now }, 'Replace'));
      const others = new Map<string, number>();
      const stale: Array<TableEntityResult<CounterRow>> = [];
      for await (const row of client.listEntities<CounterRow>({ queryOptions: { filter: `PartitionKey eq '${partition.replace(/'/g, "''")}'` } })) {
        if (row.rowKey === writer) continue;
        if (typeof row.written === 'number' && row.written < startOfMonth(now)) {
          stale.push(row);
          continue;
        }
        let parsed: unknown;
        try {
          parsed = JSON.parse(row.counts);
        } catch {
          continue;
        }
        if (typeof parsed !== 'object' || parsed === null) continue;
        for (const [id, n] of Object.entries(parsed)) if (typeof n === 'number') others.set(id, (others.get(id) ?? 0) + n);
      }
      // Gone writers' rows of past months: removed only as they were read (If-Match), never a live writer's.
      for (const row of stale) await client.deleteEntity(row.partitionKey, row.rowKey, { etag: row.etag }).catch(() => undefined);
      return others;
    },
  };
}
