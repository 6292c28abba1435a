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
}

export interface KeyLimits extends LimitSet {
  /** Limits of one model, by the name clients send, on top of the key-wide ones. */
  models?: Readonly<Record<string, LimitSet>>;
}

export const LIMIT_NAMES = ['requestsPerMinute', 'tokensPerMinute', 'tokensPerDay', 'tokensPerMonth'] as const;

function buildSchema() {
  const count = z.number().int('must be a whole number').positive('must be above 0');
  const limitSet = z.strictObject({
    requestsPerMinute: count.optional(),
    tokensPerMinute: count.optional(),
    tokensPerDay: count.optional(),
    tokensPerMonth: count.optional(),
  });
  return limitSet.extend({ models: z.record(z.string().min(1), limitSet).optional() }).strict();
}

let schema: ReturnType<typeof buildSchema> | undefined;

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
