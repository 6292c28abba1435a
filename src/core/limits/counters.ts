/**
 * Counts held across every instance without a network call on the request path. Each process counts locally and,
 * in the background every second or so, writes its own counts for a key to the store (replacing what it wrote
 * before: its row, in Table Storage) and reads back the sum of every other writer's. A count is then its own
 * plus the others' as last read.
 *
 * Why each writer has its own row rather than one shared, ETag-conditioned total: a write is the writer's whole
 * count, so a retry after a lost response can never count twice, an outage is caught up exactly by the next
 * write, and a hundred instances never contend for one entity. ETags guard the one shared write left: removing
 * a dead writer's row once its windows are over (adapters/azure/tableCounters.ts).
 */
import { randomUUID } from 'node:crypto';
import { reasonOf, type Logger } from '../logger';
import { isCurrentWindow, windowsAt } from './windows';

/** Where counts are shared: Table Storage (src/adapters/azure/tableCounters.ts), or memory. */
export interface CounterStore {
  /**
   * Writes this writer's counts for a partition (one client key), replacing its earlier ones, and returns the sum
   * of every other writer's, by counter id.
   */
  exchange(partition: string, writer: string, counts: ReadonlyMap<string, number>): Promise<ReadonlyMap<string, number>>;
}

/** The in-memory twin: exact for the processes that share the object (one, unless a test shares it). */
export class MemoryCounterStore implements CounterStore {
  readonly #rows = new Map<string, Map<string, ReadonlyMap<string, number>>>();
  /** While set, every exchange fails with it, as an unreachable store does. */
  failure: Error | undefined;

  async exchange(partition: string, writer: string, counts: ReadonlyMap<string, number>): Promise<ReadonlyMap<string, number>> {
    if (this.failure !== undefined) throw this.failure;
    let rows = this.#rows.get(partition);
    if (rows === undefined) this.#rows.set(partition, (rows = new Map<string, ReadonlyMap<string, number>>()));
    rows.set(writer, new Map(counts));
    const others = new Map<string, number>();
    for (const [other, row] of rows) {
      if (other === writer) continue;
      for (const [id, n] of row) others.set(id, (others.get(id) ?? 0) + n);
    }
    return others;
  }
}

export interface SharedCountersOptions {
  logger: Logger;
  /** How often counts are exchanged with the store. */
  syncMs: number;
  /** This process's name in the store; unique per process start, so a restart never overwrites what it counted. */
  writer?: string;
  now?: () => number;
  /** The length of a rate window (60 s; tests shorten it). */
  minuteMs?: number;
}

/** A key not used for this long is no longer exchanged (its counts stay in the store). */
const IDLE_MS = 120_000;

export class SharedCounters {
  readonly #store: CounterStore;
  readonly #options: SharedCountersOptions;
  readonly #writer: string;
  /** This process's counts, by key, then counter id (`kind|model|window`). */
  readonly #local = new Map<string, Map<string, number>>();
  /** Every other writer's, as last read. */
  readonly #others = new Map<string, ReadonlyMap<string, number>>();
  readonly #lastUsed = new Map<string, number>();
  readonly #changed = new Set<string>();
  #timer: NodeJS.Timeout | undefined;
  #syncing: Promise<void> | undefined;
  #followUp: Promise<void> | undefined;
  #failing = false;

  constructor(store: CounterStore, options: SharedCountersOptions) {
    this.#store = store;
    this.#options = options;
    this.#writer = options.writer ?? randomUUID();
  }

  get writer(): string {
    return this.#writer;
  }

  now(): number {
    return (this.#options.now ?? Date.now)();
  }

  get minuteMs(): number {
    return this.#options.minuteMs ?? 60_000;
  }

  /** Starts the background exchange. */
  start(): void {
    this.#timer ??= setInterval(() => void this.sync(), this.#options.syncMs);
    this.#timer.unref();
  }

  async close(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    // What was counted since the last exchange is written once more, so a clean stop loses nothing.
    await this.sync();
  }

  /** The count across every writer, as far as this process knows. */
  get(key: string, id: string): number {
    return (this.#local.get(key)?.get(id) ?? 0) + (this.#others.get(key)?.get(id) ?? 0);
  }

  add(key: string, id: string, n: number): void {
    if (n === 0) return;
    let counts = this.#local.get(key);
    if (counts === undefined) this.#local.set(key, (counts = new Map<string, number>()));
    counts.set(id, (counts.get(id) ?? 0) + n);
    this.#changed.add(key);
  }

  /**
   * Notes that a key is in use. A key not seen for a while has stale figures from the others: they are read at
   * once, in the background (the request goes on with what is known).
   */
  use(key: string): void {
    this.start();
    const now = this.now();
    const last = this.#lastUsed.get(key);
    this.#lastUsed.set(key, now);
    if (last === undefined || now - last > IDLE_MS) void this.sync();
  }

  /**
   * Exchanges every key in use, one exchange at a time: asked while one runs, it runs once more after it (so
   * what was counted in between is written), however many ask.
   */
  sync(): Promise<void> {
    if (this.#syncing !== undefined) {
      this.#followUp ??= this.#syncing.then(() => {
        this.#followUp = undefined;
        return this.sync();
      });
      return this.#followUp;
    }
    this.#syncing = this.#exchangeAll().finally(() => {
      this.#syncing = undefined;
    });
    return this.#syncing;
  }

  async #exchangeAll(): Promise<void> {
    const now = this.now();
    const windows = windowsAt(now, this.minuteMs);
    const keys = [...this.#lastUsed].filter(([key, used]) => now - used <= IDLE_MS || this.#changed.has(key)).map(([key]) => key);
    for (const key of keys) {
      const counts = this.#local.get(key) ?? new Map<string, number>();
      for (const id of counts.keys()) if (!isCurrentWindow(id.slice(id.lastIndexOf('|') + 1), windows)) counts.delete(id);
      this.#changed.delete(key);
      try {
        this.#others.set(key, await this.#store.exchange(key, this.#writer, counts));
      } catch (error) {
        this.#changed.add(key);
        if (!this.#failing) {
          this.#options.logger.warn('Usage store unreachable: limits are held on this instance\'s counts until it answers', {
            reason: reasonOf(error),
          });
        }
        this.#failing = true;
        return;
      }
      if (now - (this.#lastUsed.get(key) ?? 0) > IDLE_MS) this.#lastUsed.delete(key);
    }
    if (keys.length === 0) return;
    if (this.#failing) this.#options.logger.info('Usage store answers again: counts caught up');
    this.#failing = false;
  }
}
