/** Values read from App Configuration (model-map entries, client keys, plain settings), validated one by one. */
import { z } from 'zod';
import { GRANTS, type ClientKey } from './types';
import { describeIssues, parseSetting, reason, STORE_SETTING_KEYS } from './settings';
import { checkBackend, type ModelTarget } from './modelMap';
import { keyLimitsSchema, modelPriceSchema, type ModelPrice } from '../limits/keyLimits';

export class StoreValueError extends Error {
  override readonly name = 'StoreValueError';
}

/** A value that may be JSON: parsed already (content type application/json), or JSON-looking text. */
function jsonish(value: unknown): unknown {
  if (typeof value === 'string' && value.trim().startsWith('{')) {
    try {
      return JSON.parse(value) as unknown;
    } catch {
      throw new StoreValueError('is not valid JSON');
    }
  }
  return value;
}

/** The JSON values' schemas, built on first use (no work at import). */
function buildSchemas() {
  const backend = z.strictObject({
    deployment: z.string(),
    endpoint: z.string().optional(),
    apiVersion: z.string().optional(),
    auth: z.string().optional(),
    keySetting: z.string().optional(),
    priority: z.number().optional(),
    weight: z.number().optional(),
  });

  const clientKey = z.strictObject({
    sha256: z.string().regex(/^[0-9a-fA-F]{64}$/, 'sha256 must be 64 hexadecimal digits'),
    models: z.array(z.string().min(1)).optional(),
    grants: z.array(z.enum(GRANTS)).optional(),
    limits: keyLimitsSchema().optional(),
    allObjects: z.boolean().optional(),
  });
  return { backend, clientKey };
}

let schemas: ReturnType<typeof buildSchemas> | undefined;
const storeSchemas = (): ReturnType<typeof buildSchemas> => (schemas ??= buildSchemas());

function backendOf(value: unknown, index?: number): ReturnType<typeof checkBackend> {
  const where = index === undefined ? '' : `backend ${index + 1}: `;
  const result = storeSchemas().backend.safeParse(value);
  if (!result.success) throw new StoreValueError(`${where}${reason(result.error)}`);
  try {
    return checkBackend(result.data);
  } catch (error) {
    throw new StoreValueError(`${where}${error instanceof Error ? error.message : String(error)}`);
  }
}

/**
 * A model-map value: a deployment name; one backend `{"deployment", "endpoint"?, "apiVersion"?, "auth"?,
 * "keySetting"?, "priority"?, "weight"?}`; or a pool, `{"backends": [...]}` or `[...]` of those.
 */
export function parseModelTarget(value: unknown): ModelTarget {
  const parsed = typeof value === 'string' && value.trim().startsWith('[') ? jsonish(`{"backends":${value}}`) : jsonish(value);
  if (typeof parsed === 'string') return { backends: [backendOf({ deployment: parsed.trim() })] };
  const list = Array.isArray(parsed) ? parsed : typeof parsed === 'object' && parsed !== null && 'backends' in parsed ? (parsed).backends : undefined;
  if (list === undefined) return { backends: [backendOf(parsed)] };
  if (!Array.isArray(list) || list.length === 0) throw new StoreValueError('backends must be a list of at least one backend');
  return { backends: list.map((item, index) => backendOf(item, index)) };
}

/** A client-key value: the key's SHA-256 in hex, or `{"sha256", "models"?, "grants"?, "limits"?, "allObjects"?}`. */
export function parseClientKey(name: string, value: unknown): ClientKey {
  const parsed = jsonish(value);
  const result = storeSchemas().clientKey.safeParse(typeof parsed === 'string' ? { sha256: parsed.trim() } : parsed);
  if (!result.success) throw new StoreValueError(describeIssues(result.error));
  const { models, grants, limits, allObjects } = result.data;
  if (grants !== undefined && models === undefined) throw new StoreValueError('grants apply to a key limited to models: an unlimited key reaches every family');
  return {
    name,
    digest: Buffer.from(result.data.sha256, 'hex'),
    ...(models !== undefined && { models }),
    ...(grants !== undefined && { grants }),
    ...(limits !== undefined && { limits }),
    ...(allObjects === true && { allObjects }),
  };
}

/** A `prices/{model}` value: `{"input": 2.5, "output": 10}`, per million tokens. */
export function parsePrice(value: unknown): ModelPrice {
  const result = modelPriceSchema().safeParse(jsonish(value));
  if (!result.success) throw new StoreValueError(`${describeIssues(result.error)} (e.g. {"input": 2.5, "output": 10}, per million tokens)`);
  return result.data;
}

/** A plain setting's value as text, validated as its environment variable would be. */
export function parseStoreSetting(key: keyof typeof STORE_SETTING_KEYS, value: unknown): string {
  const text = typeof value === 'string' ? value : typeof value === 'boolean' || typeof value === 'number' ? String(value) : undefined;
  if (text === undefined) throw new StoreValueError('must be text');
  const problems: string[] = [];
  parseSetting(STORE_SETTING_KEYS[key], text, key, problems);
  if (problems.length > 0) throw new StoreValueError(problems.join('; ').replace(`${key}: `, ''));
  return text;
}

export function isStoreSettingKey(key: string): key is keyof typeof STORE_SETTING_KEYS {
  return Object.prototype.hasOwnProperty.call(STORE_SETTING_KEYS, key);
}
