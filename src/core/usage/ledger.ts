/**
 * The usage ledger: per client key, model and deployment, per UTC hour, the requests, prompt and completion tokens,
 * and 429s. Each process keeps the current hours' counts and writes them, whole, to the store every
 * LEDGER_FLUSH_MS (its own rows, as the limits' counts: a retried write never counts twice), and when it stops.
 * `npm run usage` (src/cli/usage.ts) reads it back, summed over every writer, by hour or by day.
 */
import { randomUUID } from 'node:crypto';
import { reasonOf, type Logger } from '../logger';
import type { RequestRecord } from './metrics';

export interface LedgerKey {
  /** `YYYY-MM-DDTHH`, UTC. */
  hour: string;
  /** The client key's name; `passthrough` for callers with their own Azure key. */
  key: string;
  /** The model the client named; `-` for requests without one. */
  model: string;
  deployment: string;
}

export interface LedgerCounts {
  requests: number;
  promptTokens: number;
  completionTokens: number;
  /** Answers 429, the proxy's own (limits) or Azure's. */
  rateLimited: number;
  /** What the tokens cost, where the model has a price (PROXY_PRICES, `prices/{model}`). */
  cost: number;
}

export type LedgerRow = LedgerKey & LedgerCounts;

/** Where the ledger is kept: Table Storage (src/adapters/azure/tableLedger.ts), or memory. */
export interface LedgerStore {
  /** Writes this writer's rows, each replacing its earlier one for the same hour, key, model and deployment. */
  write(writer: string, rows: readonly LedgerRow[]): Promise<void>;
  /** Every writer's rows of the hours from `fromHour` (included) to `toHour` (excluded), summed over writers. */
  read(fromHour: string, toHour: string): Promise<LedgerRow[]>;
}

/**
 * A row's id in memory: one per request is made, so a join rather than JSON. Unambiguous: the hour has one form,
 * the key and deployment carry their lengths, and the model, which may hold anything, comes last.
 */
const rowId = (row: LedgerKey): string => `${row.hour}|${row.key.length}:${row.key}|${row.deployment.length}:${row.deployment}|${row.model}`;

/** Adds rows that share hour, key, model and deployment. */
export function sumRows(rows: Iterable<LedgerRow>): LedgerRow[] {
  const sums = new Map<string, LedgerRow>();
  for (const row of rows) {
    const id = rowId(row);
    const sum = sums.get(id);
    if (sum === undefined) sums.set(id, { ...row });
    else {
      sum.requests += row.requests;
      sum.promptTokens += row.promptTokens;
      sum.completionTokens += row.completionTokens;
      sum.rateLimited += row.rateLimited;
      sum.cost += row.cost;
    }
  }
  return [...sums.values()];
}

/** The in-memory twin (and the ledger of a process without a store), keeping the last 31 days. */
export class MemoryLedgerStore implements LedgerStore {
  readonly #rows = new Map<string, LedgerRow>();
  failure: Error | undefined;

  async write(writer: string, rows: readonly LedgerRow[]): Promise<void> {
    if (this.failure !== undefined) throw this.failure;
    let newest = '';
    for (const row of rows) {
      this.#rows.set(`${writer}|${rowId(row)}`, { ...row });
      if (row.hour > newest) newest = row.hour;
    }
    // 31 days before the newest hour written (the writer's clock, not this one's).
    const oldest = newest === '' ? '' : hourOf(Date.parse(`${newest}:00:00Z`) - 31 * 86_400_000);
    for (const [id, row] of this.#rows) if (row.hour < oldest) this.#rows.delete(id);
  }

  async read(fromHour: string, toHour: string): Promise<LedgerRow[]> {
    return sumRows([...this.#rows.values()].filter((row) => row.hour >= fromHour && row.hour < toHour));
  }
}

let lastHour = { start: 0, end: 0, name: '' };

/** The hour a time falls in, as the ledger names it (asked for each request: the last one is kept). */
export function hourOf(time: number): string {
  if (time >= lastHour.start && time < lastHour.end) return lastHour.name;
  const start = Math.floor(time / 3_600_000) * 3_600_000;
  lastHour = { start, end: start + 3_600_000, name: new Date(time).toISOString().slice(0, 13) };
  return lastHour.name;
}

export const LEDGER_FLUSH_MS = 10_000;

export class UsageLedger {
  readonly #store: LedgerStore;
  readonly #logger: Logger;
  readonly #writer = randomUUID();
  readonly #now: () => number;
  /** This process's rows, by id; written whole, and dropped once written when their hour is over. */
  readonly #rows = new Map<string, LedgerRow>();
  readonly #changed = new Set<string>();
  /** The row the last request counted in, and what it was found by (the model as the request named it). */
  #last: (LedgerKey & { id: string; row: LedgerRow }) | undefined;
  #timer: NodeJS.Timeout | undefined;
  #failing = false;
  #flushing: Promise<void> | undefined;

  constructor(store: LedgerStore, options: { logger: Logger; now?: () => number }) {
    this.#store = store;
    this.#logger = options.logger;
    this.#now = options.now ?? Date.now;
  }

  /** Counts one request's record (its client, model, deployment, tokens and status). */
  record(record: RequestRecord): void {
    if (record.route === undefined) return;
    const row = this.#rowOf(
      hourOf(this.#now()),
      typeof record.client === 'string' ? record.client : 'passthrough',
      typeof record.model === 'string' ? record.model : '-',
      typeof record.deployment === 'string' ? record.deployment : '-',
    );
    row.requests++;
    if (typeof record.prompt_tokens === 'number') row.promptTokens += record.prompt_tokens;
    if (typeof record.completion_tokens === 'number') row.completionTokens += record.completion_tokens;
    if (record.status === 429) row.rateLimited++;
    if (typeof record.cost === 'number') row.cost += record.cost;
    if (this.#timer === undefined) {
      this.#timer = setInterval(() => void this.flush(), LEDGER_FLUSH_MS);
      this.#timer.unref();
    }
  }

  /**
   * The row a request counts in, marked changed. Requests in a row tend to share it (one client, one model), so the
   * last one is kept at hand: finding it again by its id would build and hash that string for every request.
   */
  #rowOf(hour: string, key: string, model: string, deployment: string): LedgerRow {
    const last = this.#last;
    if (last !== undefined && last.hour === hour && last.key === key && last.model === model && last.deployment === deployment) {
      this.#changed.add(last.id);
      return last.row;
    }
    const named: LedgerKey = { hour, key, model: model.slice(0, 128), deployment };
    const id = rowId(named);
    let row = this.#rows.get(id);
    if (row === undefined) this.#rows.set(id, (row = { ...named, requests: 0, promptTokens: 0, completionTokens: 0, rateLimited: 0, cost: 0 }));
    this.#changed.add(id);
    this.#last = { hour, key, model, deployment, id, row };
    return row;
  }

  /** Writes the rows that changed; a failure keeps them for the next time, and is said once. */
  flush(): Promise<void> {
    this.#flushing ??= this.#write().finally(() => {
      this.#flushing = undefined;
    });
    return this.#flushing;
  }

  async close(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.flush();
  }

  async #write(): Promise<void> {
    if (this.#changed.size === 0) return;
    const ids = [...this.#changed];
    this.#changed.clear();
    const rows = ids.map((id) => ({ ...(this.#rows.get(id) as LedgerRow) }));
    try {
      await this.#store.write(this.#writer, rows);
    } catch (error) {
      for (const id of ids) this.#changed.add(id);
      if (!this.#failing) {
        this.#logger.warn('Usage ledger could not be written; it is kept and written when the store answers', {
          reason: reasonOf(error),
        });
      }
      this.#failing = true;
      return;
    }
    this.#failing = false;
    // Rows of past hours, written and unchanged since, are no longer needed here.
    const current = hourOf(this.#now());
    for (const [id, row] of this.#rows) if (row.hour < current && !this.#changed.has(id)) this.#rows.delete(id);
    // The row at hand may be one let go just now: a request of its hour (a clock set back) would count in it, unwritten.
    this.#last = undefined;
  }
}
