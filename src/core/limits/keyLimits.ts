/**
 * What a client key may spend: requests and tokens per minute, and token budgets per UTC day and month, key-wide
 * and, optionally, per model (`models`, counted separately and in addition). Set with the key in App Configuration
 * (`client-keys/{name}`: `{"sha256": ..., "limits": {...}}`) or, for the keys of PROXY_API_KEYS and anonymous use,
 * as PROXY_KEY_LIMITS.
 */
import { z } from 'zod';

export interface LimitSet {
  requestsPerMinute?: number;
  tokensPerMinute?: number;
  tokensPerDay?: number;
  tokensPerMonth?: number;
  /** Budgets in money: the prices' currency (PROXY_PRICES, `prices/{model}`), per UTC day and month. */
  costPerDay?: number;
  costPerMonth?: number;
}

/** A model's price, per million tokens, in the currency budgets are set in. */
export interface ModelPrice {
  input: number;
  output: number;
}

export interface KeyLimits extends LimitSet {
  /** Limits of one model, by the name clients send, on top of the key-wide ones. */
  models?: Readonly<Record<string, LimitSet>>;
}

export const LIMIT_NAMES = ['requestsPerMinute', 'tokensPerMinute', 'tokensPerDay', 'tokensPerMonth', 'costPerDay', 'costPerMonth'] as const;

function buildSchema() {
  const count = z.number().int('must be a whole number').positive('must be above 0');
  const money = z.number().positive('must be above 0');
  const limitSet = z.strictObject({
    requestsPerMinute: count.optional(),
    tokensPerMinute: count.optional(),
    tokensPerDay: count.optional(),
    tokensPerMonth: count.optional(),
    costPerDay: money.optional(),
    costPerMonth: money.optional(),
  });
  return limitSet.extend({ models: z.record(z.string().min(1), limitSet).optional() }).strict();
}

let schema: ReturnType<typeof buildSchema> | undefined;
let priceSchema: ReturnType<typeof buildPriceSchema> | undefined;

function buildPriceSchema() {
  const perMillion = z.number().min(0, 'must be 0 or more');
  return z.strictObject({ input: perMillion, output: perMillion });
}

/** A price: `{"input": 2.5, "output": 10}`, per million tokens. */
export function modelPriceSchema(): ReturnType<typeof buildPriceSchema> {
  return (priceSchema ??= buildPriceSchema());
}

/** What a request's tokens cost at a price. */
export function costOf(price: ModelPrice, promptTokens: number, completionTokens: number): number {
  return (promptTokens * price.input + completionTokens * price.output) / 1_000_000;
}

/** The limits schema (requestsPerMinute, tokensPerMinute, tokensPerDay, tokensPerMonth, models), built on first use. */
export function keyLimitsSchema(): ReturnType<typeof buildSchema> {
  return (schema ??= buildSchema());
}

/** Whether a set of limits limits anything. */
export function limitsAnything(limits: KeyLimits | undefined): limits is KeyLimits {
  if (limits === undefined) return false;
  const some = (set: LimitSet): boolean => LIMIT_NAMES.some((name) => set[name] !== undefined);
  return some(limits) || Object.values(limits.models ?? {}).some(some);
}
