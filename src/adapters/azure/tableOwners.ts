/**
 * Azure Table Storage as the record of who created each object (the core's OwnerStore): table `proxyowners`, one
 * partition per kind of object (the id's prefix: `file`, `asst`, `vs`...), one row per object, its creator's key.
 */
import type { TokenCredential } from '@azure/identity';
import type { OwnerStore, UsageStoreSettings } from '../../core';
import { usageTableClient, withTable } from './tableCounters';

export const OWNERS_TABLE = 'proxyowners';

interface OwnerRow {
  partitionKey: string;
  rowKey: string;
  owner: string;
}

/** The partition of an object id: its kind, as its prefix says. */
const kindOf = (id: string): string => /^[a-z]+/.exec(id)?.[0] ?? 'object';

export function tableOwnerStore(settings: UsageStoreSettings, credential?: TokenCredential): OwnerStore {
  const client = usageTableClient(settings, OWNERS_TABLE, credential);
  const inTable = withTable(client);
  return {
    async get(id) {
      try {
        return (await client.getEntity<OwnerRow>(kindOf(id), id)).owner;
      } catch (error) {
        // No such row (or no table yet): the proxy did not record who created it.
        if ((error as { statusCode?: number }).statusCode === 404) return undefined;
        throw error;
      }
    },
    async set(id, owner) {
      await inTable(() => client.upsertEntity<OwnerRow>({ partitionKey: kindOf(id), rowKey: id, owner }, 'Replace'));
    },
  };
}
