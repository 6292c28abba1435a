/**
 * Who may call, and as whom the call is logged.
 *
 * Passthrough: the caller's own Azure key (`Authorization: Bearer K` or `api-key: K`) goes upstream.
 * Held credential (a stored key or the managed identity): callers must present one of the proxy's own client
 * keys instead, or the proxy would be an open relay for anyone who finds its URL. Client keys are kept as
 * SHA-256 digests and compared in constant time; logs show a key's name, never the key.
 */
import { timingSafeEqual } from 'node:crypto';
import { sha256, type ClientKey, type Grant, type ProxyConfig } from '../config/config';
import { proxyError, ProxyError } from '../errors/catalogue';
import { limitsAnything, type KeyLimits } from '../limits/keyLimits';
import type { EntraIdentity } from './entraTokens';

/** The key a caller presented, from `Authorization: Bearer` (as the OpenAI SDKs send it) or `api-key`. */
export function presentedKey(headers: Headers): string | undefined {
  const authorization = headers.get('authorization');
  if (authorization !== null) {
    const match = /^\s*Bearer\s+(\S+)\s*$/i.exec(authorization);
    if (match?.[1] !== undefined) return match[1];
  }
  const apiKey = headers.get('api-key')?.trim();
  return apiKey === undefined || apiKey === '' ? undefined : apiKey;
}

/**
 * The client key matching `candidate`, in time that depends on neither the keys' contents nor their lengths:
 * the candidate is hashed to the digests' size and every key is compared, without stopping at a match.
 */
export function findClientKey(candidate: string, keys: readonly ClientKey[]): ClientKey | undefined {
  const presented = sha256(candidate);
  let found: ClientKey | undefined;
  for (const key of keys) {
    if (timingSafeEqual(presented, key.digest) && found === undefined) found = key;
  }
  return found;
}

export interface Caller {
  /** The client key's name, for logs; `anonymous` where anonymous use is allowed; none in passthrough. */
  keyName?: string;
  /** The caller's own Azure key, sent upstream in passthrough. */
  passthroughKey?: string;
  /** The models this caller may use, when its key is limited. */
  models?: readonly string[];
  /** With `models`: the stateful families it may reach. */
  grants?: readonly Grant[];
  /** What the key may spend, when it is limited (core/limits). */
  limits?: KeyLimits;
  /** It sees every key's objects, where objects are kept per key (core/ownership). */
  allObjects?: boolean;
}

const MISSING_KEY_MESSAGE =
  "You didn't provide an API key. Send it in an Authorization header using Bearer auth " +
  '(Authorization: Bearer YOUR_KEY) or in an api-key header.';

/**
 * A caller with a verified Entra token: what the first of its app roles or groups that the settings list may do
 * (`*` for any other token), named `entra:<app id>` in logs, usage and limits. None listed: a 403.
 */
function entraCaller(config: ProxyConfig, identity: EntraIdentity): Caller {
  const roles = config.entra?.roles ?? [];
  const held = new Set([...identity.roles, ...identity.groups]);
  const grant = roles.find(([role]) => held.has(role))?.[1] ?? roles.find(([role]) => role === '*')?.[1];
  if (grant === undefined) {
    throw proxyError('caller_not_allowed', `This Microsoft Entra caller has none of the app roles or groups this proxy grants (${roles.map(([role]) => role).join(', ')}).`);
  }
  const limits = grant.limits ?? config.defaultKeyLimits;
  return {
    keyName: `entra:${identity.appId}`,
    ...(grant.models !== undefined && { models: grant.models, grants: grant.grants ?? [] }),
    ...(limits !== undefined && limitsAnything(limits) && { limits }),
    ...(grant.allObjects === true && { allObjects: true }),
  };
}

/** The caller of a request, or a ProxyError(401) in OpenAI's shape. */
export function authorize(config: ProxyConfig, headers: Headers, entra?: EntraIdentity): Caller {
  if (entra !== undefined) return entraCaller(config, entra);
  const key = presentedKey(headers);
  if (config.azure.auth === 'passthrough') {
    if (key === undefined) throw missingKey();
    return { passthroughKey: key };
  }
  if (config.clientKeys.length === 0 && config.allowAnonymous) return { keyName: 'anonymous', ...(limitsAnything(config.defaultKeyLimits) && { limits: config.defaultKeyLimits }) };
  if (key === undefined) throw missingKey();
  const clientKey = findClientKey(key, config.clientKeys);
  if (clientKey === undefined) throw invalidKey();
  return {
    keyName: clientKey.name,
    ...(clientKey.models !== undefined && { models: clientKey.models, grants: clientKey.grants ?? [] }),
    ...(limitsAnything(clientKey.limits) && { limits: clientKey.limits }),
    ...(clientKey.allObjects === true && { allObjects: true }),
  };
}

/** Refuses a model that the caller's key is not allowed to use, with a 403 in OpenAI's shape. */
export function assertModelAllowed(caller: Caller, model: string): void {
  if (caller.models === undefined || caller.models.includes(model)) return;
  throw proxyError('model_not_allowed', `This API key may not use the model '${model}'.`, { param: 'model' });
}

/** Whether the caller's key is limited (to models, and to the families it is granted). */
export function isLimited(caller: Caller): boolean {
  return caller.models !== undefined;
}

/** Refuses a stateful family a limited key was not granted, with a 403 in OpenAI's shape. */
export function assertGranted(caller: Caller, grant: Grant): void {
  if (!isLimited(caller) || caller.grants?.includes(grant) === true) return;
  throw proxyError(
    'family_not_allowed',
    `This API key is limited to some models and may not use ${grant === 'fine-tuning' ? 'fine-tuning' : grant} (its objects are shared by every key that may); ask for the "${grant}" grant.`,
  );
}

function missingKey(): ProxyError {
  return proxyError('missing_api_key', MISSING_KEY_MESSAGE);
}

function invalidKey(): ProxyError {
  return proxyError('invalid_api_key', 'Incorrect API key provided. Use one of the client keys issued for this proxy.');
}
