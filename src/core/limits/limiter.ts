/**
 * Admission against a key's limits, on this process's view of the shared counts (no network call):
 *
 * - requests per minute: a request is admitted while the sliding estimate of the last minute's requests, this
 *   one included, stays within the limit, and is counted at once;
 * - tokens per minute, day and month, and money per day and month (tokens at their model's price): a request is
 *   admitted while what was counted so far is below the limit, and its tokens (and cost) are counted when its
 *   response ends (they are not known before). So a limit can be passed by the requests in flight when it is
 *   reached: at most their tokens.
 *
 * Across instances, each one's view lags the others' by up to one exchange (SharedCounters), which lets the
 * others admit what they see as room: README, "Limits and budgets", gives the bound.
 */
import { proxyError } from '../errors/catalogue';
import type { SharedCounters } from './counters';
import type { KeyLimits, LimitSet } from './keyLimits';
import { formatReset, windowsAt, type Windows } from './windows';

/** Whose spending a request counts against, once admitted. */
export interface QuotaAccount {
  key: string;
  limits: KeyLimits;
  /** The model, once known (its own limits then apply too). */
  model?: string;
}

interface Figure {
  limit: number;
  remaining: number;
  resetMs: number;
}

/** The tightest request and token figures of the limits that apply: what `x-ratelimit-*` says. */
export interface Figures {
  requests?: Figure;
  tokens?: Figure;
}

const WHOLE_KEY = '*';

/** The headers OpenAI's rate-limit figures go in (and Azure's, for the whole resource), by family. */
const REQUEST_FIGURE_HEADERS = ['x-ratelimit-limit-requests', 'x-ratelimit-remaining-requests', 'x-ratelimit-reset-requests'] as const;
const TOKEN_FIGURE_HEADERS = ['x-ratelimit-limit-tokens', 'x-ratelimit-remaining-tokens', 'x-ratelimit-reset-tokens'] as const;

function tighter(a: Figure | undefined, b: Figure | undefined): Figure | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return b.remaining < a.remaining ? b : a;
}

/** The request's model and its own limits, when the key sets some for it (a second scope beside the key's). */
function ownModelLimits(account: QuotaAccount): { model: string; limits: LimitSet } | undefined {
  const { model } = account;
  const limits = model === undefined ? undefined : account.limits.models?.[model];
  return model === undefined || limits === undefined ? undefined : { model, limits };
}

/** A scope's counter ids in the current windows: made once a minute, not on every request. */
interface ScopeIds {
  minute: string;
  requests: { current: string; previous: string };
  tokens: { current: string; previous: string; day: string; month: string };
  cost: { day: string; month: string };
}

export class Limiter {
  readonly #counters: SharedCounters;
  readonly #ids = new Map<string, ScopeIds>();

  constructor(counters: SharedCounters) {
    this.#counters = counters;
  }

  /**
   * Admits a request of a key with limits, counting it; or throws the 429 OpenAI answers (requests or tokens per
   * minute), or its `insufficient_quota` (a budget spent). The figures to answer with are asked for once, after.
   */
  admit(account: QuotaAccount): void {
    const counters = this.#counters;
    const windows = windowsAt(counters.now(), counters.minuteMs);
    try {
      this.#admitScope(account, WHOLE_KEY, account.limits, windows);
    } finally {
      counters.use(account.key);
    }
  }

  /** The model's own limits, once the model is known: checked and counted as `admit` does the key's. */
  admitModel(account: QuotaAccount, model: string): void {
    account.model = model;
    const set = account.limits.models?.[model];
    if (set === undefined) return;
    const counters = this.#counters;
    this.#admitScope(account, model, set, windowsAt(counters.now(), counters.minuteMs));
  }

  #admitScope(account: QuotaAccount, scope: string, set: LimitSet, windows: Windows): void {
    this.#check(account, scope, set, windows);
    if (set.requestsPerMinute !== undefined) this.#counters.add(account.key, this.#idsOf(scope, windows).requests.current, 1);
  }

  #idsOf(scope: string, windows: Windows): ScopeIds {
    let ids = this.#ids.get(scope);
    if (ids?.minute !== windows.minute) {
      ids = {
        minute: windows.minute,
        requests: { current: `r|${scope}|${windows.minute}`, previous: `r|${scope}|${windows.previousMinute}` },
        tokens: { current: `t|${scope}|${windows.minute}`, previous: `t|${scope}|${windows.previousMinute}`, day: `t|${scope}|${windows.day}`, month: `t|${scope}|${windows.month}` },
        cost: { day: `c|${scope}|${windows.day}`, month: `c|${scope}|${windows.month}` },
      };
      // Models come and go: the ids of one not asked for in a minute are made again when asked.
      if (this.#ids.size > 1000) this.#ids.clear();
      this.#ids.set(scope, ids);
    }
    return ids;
  }

  /**
   * Counts a finished request's tokens, and their cost when its model has a price, against its key (and its model,
   * when that has limits of its own).
   */
  record(account: QuotaAccount, tokens: number, cost?: number): void {
    const windows = windowsAt(this.#counters.now(), this.#counters.minuteMs);
    this.#recordScope(account.key, WHOLE_KEY, windows, tokens, cost);
    const own = ownModelLimits(account);
    if (own !== undefined) this.#recordScope(account.key, own.model, windows, tokens, cost);
  }

  #recordScope(key: string, scope: string, windows: Windows, tokens: number, cost: number | undefined): void {
    const ids = this.#idsOf(scope, windows);
    const counters = this.#counters;
    if (tokens > 0) {
      counters.add(key, ids.tokens.current, tokens);
      counters.add(key, ids.tokens.day, tokens);
      counters.add(key, ids.tokens.month, tokens);
    }
    if (cost !== undefined && cost > 0) {
      counters.add(key, ids.cost.day, cost);
      counters.add(key, ids.cost.month, cost);
    }
  }

  /**
   * The figures of every limit that applies now: the key's, and its model's own where it has some. Each scope is
   * figured in turn into one pair of figures (a list of scopes made per request cost more than the figuring).
   */
  figures(account: QuotaAccount, windows: Windows = windowsAt(this.#counters.now(), this.#counters.minuteMs)): Figures {
    const figures: Figures = { requests: undefined, tokens: undefined };
    this.#scopeFigures(account.key, WHOLE_KEY, account.limits, windows, figures);
    const own = ownModelLimits(account);
    if (own !== undefined) this.#scopeFigures(account.key, own.model, own.limits, windows, figures);
    return figures;
  }

  #scopeFigures(key: string, scope: string, set: LimitSet, windows: Windows, figures: Figures): void {
    if (set.requestsPerMinute !== undefined) {
      const used = this.#sliding(key, 'r', scope, windows);
      figures.requests = tighter(figures.requests, { limit: set.requestsPerMinute, remaining: Math.max(0, Math.floor(set.requestsPerMinute - used)), resetMs: this.#settleMs(key, 'r', scope, windows) });
    }
    if (set.tokensPerMinute !== undefined) {
      const used = this.#sliding(key, 't', scope, windows);
      figures.tokens = tighter(figures.tokens, { limit: set.tokensPerMinute, remaining: Math.max(0, Math.floor(set.tokensPerMinute - used)), resetMs: this.#settleMs(key, 't', scope, windows) });
    }
    const ids = this.#idsOf(scope, windows);
    if (set.tokensPerDay !== undefined) figures.tokens = tighter(figures.tokens, this.#budgetFigure(key, set.tokensPerDay, ids.tokens.day, windows.msToDayEnd));
    if (set.tokensPerMonth !== undefined) figures.tokens = tighter(figures.tokens, this.#budgetFigure(key, set.tokensPerMonth, ids.tokens.month, windows.msToMonthEnd));
  }

  #budgetFigure(key: string, limit: number, id: string, resetMs: number): Figure {
    return { limit, remaining: Math.max(0, limit - this.#counters.get(key, id)), resetMs };
  }

  /** A scope's per-minute counter ids, this minute's and the last's, of requests or of tokens. */
  #minuteIds(kind: 'r' | 't', scope: string, windows: Windows): { current: string; previous: string } {
    const ids = this.#idsOf(scope, windows);
    return kind === 'r' ? ids.requests : ids.tokens;
  }

  /** The estimate of the last minute's count: the previous minute's, fading as this one goes on, plus this one's. */
  #sliding(key: string, kind: 'r' | 't', scope: string, windows: Windows): number {
    const ids = this.#minuteIds(kind, scope, windows);
    return this.#counters.get(key, ids.previous) * (1 - windows.minuteElapsed) + this.#counters.get(key, ids.current);
  }

  /** How long until the estimate is zero again (OpenAI's reset: back to the full limit). */
  #settleMs(key: string, kind: 'r' | 't', scope: string, windows: Windows): number {
    const ids = this.#minuteIds(kind, scope, windows);
    if (this.#counters.get(key, ids.current) > 0) return windows.msToMinuteEnd + this.#counters.minuteMs;
    if (this.#counters.get(key, ids.previous) > 0) return windows.msToMinuteEnd;
    return 0;
  }

  /** How long until the estimate lets `fits` through: stepped in hundredths of a minute, over at most two. */
  #waitMs(key: string, kind: 'r' | 't', scope: string, windows: Windows, fits: (estimate: number) => boolean): number {
    const minuteMs = this.#counters.minuteMs;
    const ids = this.#minuteIds(kind, scope, windows);
    const previous = this.#counters.get(key, ids.previous);
    const current = this.#counters.get(key, ids.current);
    for (let step = 1; step <= 200; step++) {
      const at = windows.minuteElapsed + step / 100;
      const estimate = at < 1 ? previous * (1 - at) + current : at < 2 ? current * (1 - (at - 1)) : 0;
      if (fits(estimate)) return Math.ceil((step / 100) * minuteMs);
    }
    return 2 * minuteMs;
  }

  #check(account: QuotaAccount, scope: string, set: LimitSet, windows: Windows): void {
    // Said only in a refusal: not made for every admitted request.
    const on = (): string => (scope === WHOLE_KEY ? 'this API key' : `this API key's use of the model '${scope}'`);
    const { key } = account;
    if (set.requestsPerMinute !== undefined) {
      const limit = set.requestsPerMinute;
      const used = this.#sliding(key, 'r', scope, windows);
      if (used + 1 > limit) {
        const waitMs = this.#waitMs(key, 'r', scope, windows, (estimate) => estimate + 1 <= limit);
        throw this.#rateLimited(account, windows, 'requests', `Rate limit reached for requests on ${on()}: limit ${limit} per minute, used ${Math.ceil(used)}.`, waitMs);
      }
    }
    if (set.tokensPerMinute !== undefined) {
      const limit = set.tokensPerMinute;
      const used = this.#sliding(key, 't', scope, windows);
      if (used >= limit) {
        const waitMs = this.#waitMs(key, 't', scope, windows, (estimate) => estimate < limit);
        throw this.#rateLimited(account, windows, 'tokens', `Rate limit reached for tokens on ${on()}: limit ${limit} per minute, used ${Math.ceil(used)}.`, waitMs);
      }
    }
    // The budgets: each checked in place (a list of them made for every admission cost more than the checks).
    const ids = this.#idsOf(scope, windows);
    this.#checkBudget(account, windows, set.tokensPerDay, 't', ids.tokens.day, windows.msToDayEnd, 'day (UTC)', on);
    this.#checkBudget(account, windows, set.tokensPerMonth, 't', ids.tokens.month, windows.msToMonthEnd, 'month (UTC)', on);
    this.#checkBudget(account, windows, set.costPerDay, 'c', ids.cost.day, windows.msToDayEnd, 'day (UTC)', on);
    this.#checkBudget(account, windows, set.costPerMonth, 'c', ids.cost.month, windows.msToMonthEnd, 'month (UTC)', on);
  }

  /** Refuses with OpenAI's `insufficient_quota` when a budget (tokens or money, per day or month) is spent. */
  #checkBudget(account: QuotaAccount, windows: Windows, limit: number | undefined, kind: 't' | 'c', id: string, resetMs: number, period: string, on: () => string): void {
    if (limit === undefined) return;
    const used = this.#counters.get(account.key, id);
    if (used < limit) return;
    const headers: Array<[string, string]> = [...this.headers(this.figures(account, windows)), ['retry-after', String(Math.ceil(resetMs / 1000))], ['x-should-retry', 'false']];
    const budget = kind === 't' ? `${limit} tokens` : `${limit} (in the prices' currency)`;
    const spent = kind === 't' ? String(used) : used.toFixed(4);
    throw proxyError('insufficient_quota', `You exceeded your current quota: ${on()} has a budget of ${budget} per ${period} and has used ${spent}. It renews in ${formatReset(resetMs)}.`, {
      headers,
    });
  }

  #rateLimited(account: QuotaAccount, windows: Windows, type: 'requests' | 'tokens', message: string, waitMs: number): Error {
    const headers: Array<[string, string]> = [...this.headers(this.figures(account, windows)), ['retry-after', String(Math.max(1, Math.ceil(waitMs / 1000)))], ['retry-after-ms', String(waitMs)]];
    return proxyError('rate_limit_exceeded', `${message} Retry after ${waitMs} ms.`, { headers, type });
  }

  /** OpenAI's `x-ratelimit-*` headers for figures, as name and value pairs. */
  headers(figures: Figures): Array<[string, string]> {
    const headers: Array<[string, string]> = [];
    writeFigures(figures, (name, value) => headers.push([name, value]));
    return headers;
  }

  /**
   * Puts a limited key's figures in an answer's headers, in place of Azure's (which are the whole resource's),
   * and drops Azure's of a family the key has no limit in, which would read as the key's.
   */
  setHeaders(headers: Headers, figures: Figures): void {
    writeFigures(figures, (name, value) => headers.set(name, value));
    if (figures.requests === undefined) for (const name of REQUEST_FIGURE_HEADERS) headers.delete(name);
    if (figures.tokens === undefined) for (const name of TOKEN_FIGURE_HEADERS) headers.delete(name);
  }
}

/** Writes figures as OpenAI's headers, requests' then tokens'. */
function writeFigures({ requests, tokens }: Figures, put: (name: string, value: string) => void): void {
  if (requests !== undefined) {
    put('x-ratelimit-limit-requests', String(requests.limit));
    put('x-ratelimit-remaining-requests', String(requests.remaining));
    put('x-ratelimit-reset-requests', formatReset(requests.resetMs));
  }
  if (tokens !== undefined) {
    put('x-ratelimit-limit-tokens', String(tokens.limit));
    put('x-ratelimit-remaining-tokens', String(tokens.remaining));
    put('x-ratelimit-reset-tokens', formatReset(tokens.resetMs));
  }
}
