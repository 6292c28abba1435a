/**
 * `npm run usage -- --from 2026-11-01 --to 2026-11-28 [--key alice] [--by day|hour] [--format table|csv|json]`:
 * the usage ledger (per client key, model and deployment: requests, prompt and completion tokens, 429s, and the
 * cost where models have prices), read from the usage store the proxy writes to (PROXY_USAGE_TABLE_ENDPOINT with
 * the signed-in identity, or PROXY_USAGE_TABLE_CONNECTION_STRING), summed over every instance, by day or by hour
 * (UTC).
 * `--from` and `--to` take a day (`2026-11-28`, `--to` then includes it) or an hour (`2026-11-28T06`); by default,
 * today.
 */
import { parseArgs } from 'node:util';
import { ConfigError, hourOf, sumRows, usageStoreSettings, type Environment, type LedgerRow, type LedgerStore } from '../core';
import { usageStores } from '../hosting/compose';

export class UsageCommandError extends Error {
  override readonly name = 'UsageCommandError';
}

export interface UsageQuery {
  fromHour: string;
  /** Excluded. */
  toHour: string;
  key?: string;
  by: 'day' | 'hour';
  format: 'table' | 'csv' | 'json';
}

const DAY = /^\d{4}-\d{2}-\d{2}$/;
const HOUR = /^\d{4}-\d{2}-\d{2}T\d{2}$/;

function nextHour(hour: string): string {
  return hourOf(Date.parse(`${hour}:00:00Z`) + 3_600_000);
}

/** The query the arguments ask for; a UsageCommandError says what is wrong with them. */
export function parseUsageArguments(args: readonly string[], now = Date.now()): UsageQuery {
  let values: Record<string, string | undefined>;
  try {
    ({ values } = parseArgs({ args: [...args], options: { from: { type: 'string' }, to: { type: 'string' }, key: { type: 'string' }, by: { type: 'string' }, format: { type: 'string' } }, strict: true }));
  } catch (error) {
    throw new UsageCommandError(error instanceof Error ? error.message : String(error));
  }
  const today = hourOf(now).slice(0, 10);
  const from = values.from ?? today;
  const to = values.to ?? today;
  const startOf = (text: string, name: string): string => {
    if (HOUR.test(text) && !Number.isNaN(Date.parse(`${text}:00:00Z`))) return text;
    if (DAY.test(text) && !Number.isNaN(Date.parse(`${text}T00:00:00Z`))) return `${text}T00`;
    throw new UsageCommandError(`--${name} "${text}" is not a day (2026-11-28) or an hour (2026-11-28T06), UTC`);
  };
  const fromHour = startOf(from, 'from');
  // A day given as --to is included whole; an hour, up to its end.
  const toHour = DAY.test(to) ? hourOf(Date.parse(`${startOf(to, 'to')}:00:00Z`) + 86_400_000) : nextHour(startOf(to, 'to'));
  if (toHour <= fromHour) throw new UsageCommandError(`--to ${to} is before --from ${from}`);
  const by = values.by ?? 'day';
  if (by !== 'day' && by !== 'hour') throw new UsageCommandError(`--by "${by}" must be day or hour`);
  const format = values.format ?? 'table';
  if (format !== 'table' && format !== 'csv' && format !== 'json') throw new UsageCommandError(`--format "${format}" must be table, csv or json`);
  return { fromHour, toHour, by, format, ...(values.key !== undefined && { key: values.key }) };
}

/** The ledger's rows for a query, by day or hour, sorted by period, key, model and deployment. */
export async function readUsage(store: LedgerStore, query: UsageQuery): Promise<LedgerRow[]> {
  const rows = (await store.read(query.fromHour, query.toHour)).filter((row) => query.key === undefined || row.key === query.key);
  const periods = query.by === 'day' ? rows.map((row) => ({ ...row, hour: row.hour.slice(0, 10) })) : rows;
  const order = (row: LedgerRow): string => [row.hour, row.key, row.model, row.deployment].join('\u0000');
  return sumRows(periods).sort((a, b) => (order(a) < order(b) ? -1 : order(a) > order(b) ? 1 : 0));
}

const COLUMNS = ['period', 'key', 'model', 'deployment', 'requests', 'prompt_tokens', 'completion_tokens', 'rate_limited', 'cost'] as const;

/** Costs to a hundredth of a cent (of the prices' currency): the ledger keeps millionths. */
const money = (cost: number): string => cost.toFixed(4);

function cells(row: LedgerRow): string[] {
  return [row.hour, row.key, row.model, row.deployment, String(row.requests), String(row.promptTokens), String(row.completionTokens), String(row.rateLimited), money(row.cost)];
}

/** CSV as RFC 4180 has it: a field with a comma, a quote or a line break is quoted. */
function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

export function formatUsage(rows: readonly LedgerRow[], format: UsageQuery['format']): string {
  if (format === 'json') {
    return JSON.stringify(
      rows.map((row) => ({ period: row.hour, key: row.key, model: row.model, deployment: row.deployment, requests: row.requests, prompt_tokens: row.promptTokens, completion_tokens: row.completionTokens, rate_limited: row.rateLimited, cost: Math.round(row.cost * 1e6) / 1e6 })),
      null,
      2,
    );
  }
  const table = [[...COLUMNS], ...rows.map(cells)];
  if (format === 'csv') return table.map((line) => line.map(csvField).join(',')).join('\n');
  const widths = COLUMNS.map((_, column) => Math.max(...table.map((line) => (line[column] ?? '').length)));
  const numeric = (column: number): boolean => column >= 4;
  return table.map((line) => line.map((cell, column) => (numeric(column) ? cell.padStart(widths[column] ?? 0) : cell.padEnd(widths[column] ?? 0))).join('  ').trimEnd()).join('\n');
}

/** The usage store the settings name (validated as the proxy validates them), or a UsageCommandError saying how to name one. */
export function usageStoreFromEnvironment(env: Environment): LedgerStore {
  let settings: ReturnType<typeof usageStoreSettings>;
  try {
    settings = usageStoreSettings(env);
  } catch (error) {
    if (error instanceof ConfigError) throw new UsageCommandError(error.message);
    throw error;
  }
  const stores = usageStores(settings.usage, settings.managedIdentityClientId);
  if (stores === undefined) {
    throw new UsageCommandError(
      'No usage store: set PROXY_USAGE_TABLE_ENDPOINT (the app\'s storage account, https://<account>.table.core.windows.net, read with `az login`) ' +
        'or PROXY_USAGE_TABLE_CONNECTION_STRING. A proxy without one keeps its ledger in its own memory only; its request lines carry the same figures.',
    );
  }
  return stores.ledger;
}

if (require.main === module) {
  (async () => {
    const query = parseUsageArguments(process.argv.slice(2));
    console.info(formatUsage(await readUsage(usageStoreFromEnvironment(process.env), query), query.format));
  })().catch((error: unknown) => {
    console.error(error instanceof UsageCommandError ? error.message : `usage failed: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = error instanceof UsageCommandError ? 2 : 1;
  });
}
