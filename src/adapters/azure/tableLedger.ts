/**
 * Azure Table Storage as the usage ledger's store (the core's LedgerStore): table `proxyusage`, one partition per
 * UTC hour (so a period is a range of partitions), one row per writer, client key, model and deployment, replaced
 * whole by its writer (upserts in batches of up to 100, the most one transaction takes).
 */
import type { TableClient, TransactionAction } from '@azure/data-tables';
import type { TokenCredential } from '@azure/identity';
import { sumRows, type LedgerRow, type LedgerStore, type UsageStoreSettings } from '../../core';
import { usageTableClient, withTable } from './tableCounters';

export const LEDGER_TABLE = 'proxyusage';

type LedgerEntity = {
  partitionKey: string;
  rowKey: string;
  key: string;
  model: string;
  deployment: string;
  requests: number;
  promptTokens: number;
  completionTokens: number;
  rateLimited: number;
  cost: number;
};

/** Row keys may not hold `/`, `\`, `#`, `?` or control characters: each part is URI-encoded. */
const rowKeyOf = (writer: string, row: LedgerRow): string => [writer, row.key, row.model, row.deployment].map(encodeURIComponent).join('|');

export function tableLedgerStore(settings: UsageStoreSettings, credential?: TokenCredential): LedgerStore {
  const client: TableClient = usageTableClient(settings, LEDGER_TABLE, credential);
  const inTable = withTable(client);
  return {
    async write(writer, rows) {
      const byHour = new Map<string, LedgerRow[]>();
      for (const row of rows) byHour.set(row.hour, [...(byHour.get(row.hour) ?? []), row]);
      for (const [hour, hourRows] of byHour) {
        for (let at = 0; at < hourRows.length; at += 100) {
          const actions: TransactionAction[] = hourRows.slice(at, at + 100).map((row) => {
            const entity: LedgerEntity = {
              partitionKey: hour,
              rowKey: rowKeyOf(writer, row),
              key: row.key,
              model: row.model,
              deployment: row.deployment,
              requests: row.requests,
              promptTokens: row.promptTokens,
              completionTokens: row.completionTokens,
              rateLimited: row.rateLimited,
              cost: row.cost,
            };
            return ['upsert', entity, 'Replace'];
          });
          await inTable(() => client.submitTransaction(actions));
        }
      }
    },
    async read(fromHour, toHour) {
      const rows: LedgerRow[] = [];
      const filter = `PartitionKey ge '${fromHour.replace(/'/g, "''")}' and PartitionKey lt '${toHour.replace(/'/g, "''")}'`;
      try {
        for await (const entity of client.listEntities<LedgerEntity>({ queryOptions: { filter } })) {
          rows.push({
            hour: entity.partitionKey,
            key: entity.key,
            model: entity.model,
            deployment: entity.deployment,
            requests: Number(entity.requests),
            promptTokens: Number(entity.promptTokens),
            completionTokens: Number(entity.completionTokens),
            rateLimited: Number(entity.rateLimited),
            cost: Number(entity.cost ?? 0),
          });
        }
      } catch (error) {
        // No table yet: nothing was ever written.
        if ((error as { statusCode?: number }).statusCode === 404) return [];
        throw error;
      }
      return sumRows(rows);
    },
  };
}
