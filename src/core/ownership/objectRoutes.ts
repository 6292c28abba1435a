/**
 * What a resource route does to objects, for ownership (core/ownership/ownership.ts): the object its path names
 * (its first parameter), whether it creates one (a POST to a collection: its answer's `id`, and a thread made with
 * its first run, `thread_id`) or lists them (a GET of a collection: its `data` filtered to the caller's own).
 */
import type { Caller } from '../auth/clientKeys';
import { jsonResponse } from '../errors/catalogue';
import { readAzureJson } from '../azure/azureResponse';
import { isRecord } from '../http/isRecord';
import { isEventStream, withBodyStage, type ProxyResponse } from '../http/proxyResponse';
import type { Logger } from '../logger';
import { OBJECT_ID } from './owners';
import type { Ownership } from './ownership';

export interface ObjectRoute {
  /** The path parameter naming the object acted on (`file_id`), if any. */
  objectParam?: string;
  creates: boolean;
  lists: boolean;
}

/** A route path's part of it, the same for every request: the object it names, if any. */
export function objectParamOf(path: string): string | undefined {
  return /\{(\w+)\}/.exec(path)?.[1];
}

/** What a request does to objects, by its method, on a path whose object parameter is `objectParam`. */
export function objectRouteOf(method: string, objectParam: string | undefined): ObjectRoute {
  const collection = objectParam === undefined;
  return { ...(objectParam !== undefined && { objectParam }), creates: collection && method === 'POST', lists: collection && method === 'GET' };
}

/** A created object's or a list's JSON is read whole to find its ids: a few KB, bounded all the same. */
const MAX_JSON_BYTES = 8 * 1024 * 1024;

/** Headers of an answer whose body the proxy rewrote: its length is no longer the upstream's. */
function rewrittenHeaders(response: ProxyResponse): Headers {
  const headers = new Headers(response.headers);
  headers.delete('content-length');
  return headers;
}

/**
 * The caller's answer, with ownership applied: a created object recorded as the caller's before its id reaches
 * the caller (from a stream, as soon as its first event names it), a list cut to the caller's own objects.
 */
export async function applyOwnership(ownership: Ownership, caller: Caller, route: ObjectRoute, response: ProxyResponse, logger: Logger): Promise<ProxyResponse> {
  if (!ownership.applies(caller) || response.status >= 300 || (!route.creates && !route.lists)) return response;
  if (route.creates && isEventStream(response)) return withBodyStage(response, claimFromEvents(ownership, caller, logger));
  if (!/json/i.test(response.headers.get('content-type') ?? '')) return response;
  const json = await readAzureJson(response, MAX_JSON_BYTES, "Azure's answer");
  if (!isRecord(json)) return jsonResponse(response.status, json, rewrittenHeaders(response));
  if (route.creates) {
    for (const field of ['id', 'thread_id'] as const) {
      const id = json[field];
      if (typeof id === 'string') await ownership.claim(caller, id);
    }
    return jsonResponse(response.status, json, rewrittenHeaders(response));
  }
  if (!Array.isArray(json.data)) return jsonResponse(response.status, json, rewrittenHeaders(response));
  const own = await ownership.ownItems(caller, json.data as Array<{ id?: unknown }>);
  // A page may hold fewer than `limit` objects now; `has_more` and the cursor still page through all of Azure's.
  const listed: Record<string, unknown> = { ...json, data: own };
  if ('first_id' in json) listed.first_id = typeof own[0]?.id === 'string' ? own[0].id : null;
  if ('last_id' in json) listed.last_id = typeof own.at(-1)?.id === 'string' ? own.at(-1)?.id : null;
  return jsonResponse(response.status, listed, rewrittenHeaders(response));
}

/** Claims the object a created stream names in its first events (a response's `response.created`). */
function claimFromEvents(ownership: Ownership, caller: Caller, logger: Logger): { onChunk(chunk: Uint8Array): void } {
  let seen = '';
  let done = false;
  return {
    onChunk(chunk) {
      if (done) return;
      seen += Buffer.from(chunk).toString('utf8');
      const match = /"id"\s*:\s*"([^"]+)"/.exec(seen);
      if (match?.[1] !== undefined && OBJECT_ID.test(match[1])) {
        done = true;
        ownership.claim(caller, match[1]).catch((error: unknown) => {
          logger.warn('Could not record who created an object', { id: match[1], reason: error instanceof Error ? error.message : String(error) });
        });
      } else if (seen.length > 64 * 1024) done = true;
    },
  };
}
