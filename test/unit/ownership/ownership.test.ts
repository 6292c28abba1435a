import { parseClientKey } from '../../../src/core/config/config';
import { objectParamOf, objectRouteOf } from '../../../src/core/ownership/objectRoutes';
import { MemoryOwnerStore } from '../../../src/core/ownership/owners';
import { chatFileReferences, Ownership, referencedObjects } from '../../../src/core/ownership/ownership';

describe('what a request refers to', () => {
  it('finds object ids in *_id, *_ids and the fine-tuning file fields, at any depth, and nothing else', () => {
    const body = {
      model: 'gpt-4o',
      input_file_id: 'file-abc123',
      tool_resources: { file_search: { vector_store_ids: ['vs_abc123', 'vs_def456'] } },
      messages: [{ role: 'user', content: 'see file-zzz999, which is only text', attachments: [{ file_id: 'file-att123' }] }],
      training_file: 'file-train1',
      previous_response_id: 'resp_abc123',
      user_id: 'not-an-object',
      metadata: { note: 'asst_lookalike' },
    };
    expect([...referencedObjects(body)].sort()).toEqual(['file-abc123', 'file-att123', 'file-train1', 'resp_abc123', 'vs_abc123', 'vs_def456']);
  });

  it("finds a chat message's files without walking the rest of the body", () => {
    const body = { model: 'gpt-4o', messages: [{ role: 'user', content: [{ type: 'text', text: 'file-notme' }, { type: 'file', file: { file_id: 'file-abc123' } }] }, { role: 'user', content: 'plain' }] };
    expect([...chatFileReferences(body)]).toEqual(['file-abc123']);
    expect(chatFileReferences({ model: 'x' }).size).toBe(0);
  });

  it('tells which routes create, list, or name an object', () => {
    const route = (method: string, path: string): ReturnType<typeof objectRouteOf> => objectRouteOf(method, objectParamOf(path));
    expect(route('POST', '/files')).toEqual({ creates: true, lists: false });
    expect(route('GET', '/files')).toEqual({ creates: false, lists: true });
    expect(route('GET', '/vector_stores/{vector_store_id}/files/{file_id}')).toEqual({ objectParam: 'vector_store_id', creates: false, lists: false });
  });
});

describe('ownership', () => {
  it("asks the store once per object (an owner never changes), and lets keys that see all, and passthrough callers, through", async () => {
    const store = new MemoryOwnerStore();
    const ownership = new Ownership(store);
    await ownership.claim({ keyName: 'alice' }, 'file-abc123');
    await ownership.assertOwned({ keyName: 'alice' }, ['file-abc123']);
    await ownership.assertOwned({ keyName: 'alice' }, ['file-abc123']);
    expect(store.gets).toBe(0);
    const fresh = new Ownership(store);
    await fresh.assertOwned({ keyName: 'alice' }, ['file-abc123']);
    await fresh.assertOwned({ keyName: 'alice' }, ['file-abc123']);
    expect(store.gets).toBe(1);
    await expect(fresh.assertOwned({ keyName: 'bob' }, ['file-abc123'])).rejects.toMatchObject({ status: 404, fields: { code: 'object_not_found' } });
    await expect(fresh.assertOwned({ keyName: 'bob' }, ['file-unknown1'])).rejects.toMatchObject({ status: 404 });
    await fresh.assertOwned({ keyName: 'auditor', allObjects: true }, ['file-abc123']);
    await fresh.assertOwned({ passthroughKey: 'azure-key' }, ['file-abc123']);
  });

  it('takes allObjects with a key in App Configuration', () => {
    expect(parseClientKey('auditor', { sha256: 'a'.repeat(64), allObjects: true }).allObjects).toBe(true);
    expect(parseClientKey('alice', { sha256: 'a'.repeat(64) }).allObjects).toBeUndefined();
  });
});
