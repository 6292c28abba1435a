/**
 * Objects per client key: with a store, a key sees and changes only the objects it created (unless it may see every
 * key's: `"allObjects": true`). Checked before anything is sent to Azure: the object a path names, and every object
 * a body refers to (`file_id`, `file_ids`, `vector_store_ids`, `assistant_id`, `previous_response_id`,
 * `training_file`...), since referring to another key's file would read it as surely as fetching it. An object
 * whose creator the proxy did not record (made before, or by a passthrough caller) is no key's.
 * Owners are cached: an object's creator never changes.
 */
import type { Caller } from '../auth/clientKeys';
import { proxyError } from '../errors/catalogue';
import { isRecord } from '../http/isRecord';
import { OBJECT_ID, type OwnerStore } from './owners';

/** Body fields that name objects: `*_id`, `*_ids`, and fine-tuning's `training_file` and `validation_file`. */
const REFERENCE_KEY = /(^|_)(id|ids)$|^(training|validation)_file$/;

const MAX_CACHED = 50_000;

/** Every object id a JSON body refers to, at any depth. */
export function referencedObjects(json: unknown, found: Set<string> = new Set(), depth = 0): Set<string> {
  if (depth > 32) return found;
  if (Array.isArray(json)) {
    for (const item of json) referencedObjects(item, found, depth + 1);
  } else if (isRecord(json)) {
    for (const [key, value] of Object.entries(json)) {
      if (REFERENCE_KEY.test(key)) {
        for (const candidate of Array.isArray(value) ? value : [value]) if (typeof candidate === 'string' && OBJECT_ID.test(candidate)) found.add(candidate);
      }
      if (typeof value === 'object' && value !== null) referencedObjects(value, found, depth + 1);
    }
  }
  return found;
}

/**
 * The files a chat request's messages attach (`{"type": "file", "file": {"file_id": ...}}` parts): the only objects
 * a deployment-scoped body names, read without walking the rest of it (this is every chat request's path).
 */
export function chatFileReferences(json: Record<string, unknown>): Set<string> {
  const found = new Set<string>();
  if (!Array.isArray(json.messages)) return found;
  for (const message of json.messages as unknown[]) {
    if (!isRecord(message) || !Array.isArray(message.content)) continue;
    for (const part of message.content as unknown[]) {
      if (isRecord(part) && part.type === 'file' && isRecord(part.file) && typeof part.file.file_id === 'string') found.add(part.file.file_id);
    }
  }
  return found;
}

export class Ownership {
  readonly #store: OwnerStore;
  readonly #cache = new Map<string, string>();

  constructor(store: OwnerStore) {
    this.#store = store;
  }

  /** Whether objects are the caller's own: a key's, not passthrough (its own Azure key), not one that sees all. */
  applies(caller: Caller): caller is Caller & { keyName: string } {
    return caller.keyName !== undefined && caller.passthroughKey === undefined && caller.allObjects !== true;
  }

  async ownerOf(id: string): Promise<string | undefined> {
    const cached = this.#cache.get(id);
    if (cached !== undefined) return cached;
    const owner = await this.#store.get(id);
    if (owner !== undefined) this.#remember(id, owner);
    return owner;
  }

  /** Refuses, as Azure refuses an object it does not have, any of these objects another key created. */
  async assertOwned(caller: Caller, ids: Iterable<string>): Promise<void> {
    if (!this.applies(caller)) return;
    for (const id of ids) {
      if ((await this.ownerOf(id)) !== caller.keyName) {
        throw proxyError('object_not_found', `No such object: '${id}'. Objects are kept per API key on this proxy; this key did not create it.`, { param: 'id' });
      }
    }
  }

  /** Records that the caller created an object (before its id reaches the caller, so any instance knows it). */
  async claim(caller: Caller, id: string): Promise<void> {
    if (!this.applies(caller) || !OBJECT_ID.test(id)) return;
    await this.#store.set(id, caller.keyName);
    this.#remember(id, caller.keyName);
  }

  /** The items of a list that the caller created. */
  async ownItems<T extends { id?: unknown }>(caller: Caller, items: readonly T[]): Promise<T[]> {
    if (!this.applies(caller)) return [...items];
    const owners = await Promise.all(items.map((item) => (typeof item.id === 'string' ? this.ownerOf(item.id) : Promise.resolve(undefined))));
    return items.filter((_, index) => owners[index] === caller.keyName);
  }

  #remember(id: string, owner: string): void {
    if (this.#cache.size >= MAX_CACHED) this.#cache.delete(this.#cache.keys().next().value as string);
    this.#cache.set(id, owner);
  }
}
