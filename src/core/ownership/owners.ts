/**
 * Who created each stateful object (file, batch, fine-tuning job, vector store, assistant, thread, stored
 * response): recorded by the proxy when a usage store is set, since Azure keeps them per resource, not per caller.
 * The store is Table Storage (src/adapters/azure/tableOwners.ts) or, in tests, `MemoryOwnerStore`.
 */

export interface OwnerStore {
  /** The client key that created the object, if the proxy recorded one. */
  get(id: string): Promise<string | undefined>;
  set(id: string, owner: string): Promise<void>;
}

export class MemoryOwnerStore implements OwnerStore {
  readonly #owners = new Map<string, string>();
  gets = 0;

  async get(id: string): Promise<string | undefined> {
    this.gets++;
    return this.#owners.get(id);
  }

  async set(id: string, owner: string): Promise<void> {
    this.#owners.set(id, owner);
  }
}

/**
 * The ids of the objects a key can own, in Azure's spelling (`file-…`, `asst_…`, `thread_…`, `vs_…`, `batch_…`,
 * `ftjob-…`, `resp_…`) and the emulator's (`asst-…`, `vs-…`).
 */
export const OBJECT_ID = /^(file|asst|assistant|thread|vs|batch|ftjob|resp)[-_][A-Za-z0-9_-]{4,200}$/;
