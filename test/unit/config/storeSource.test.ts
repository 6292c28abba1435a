/** The store-backed configuration source over its in-memory twin: no SDK, no network. */
import { checkEnvironment } from '../../../src/core/config/config';
import { MemoryKeyValues, StoreConfigSource } from '../../../src/core/config/storeSource';
import { capturingLogger } from '../../support/stack';

const ENV = { AZURE_OPENAI_ENDPOINT: 'https://my-resource.openai.azure.com', AZURE_OPENAI_AUTH: 'passthrough', AZURE_APPCONFIG_ENDPOINT: 'https://store.azconfig.io', AZURE_APPCONFIG_REFRESH_SECONDS: '1' };

async function started(values: MemoryKeyValues, logs: string[] = [], env: Record<string, string> = ENV): Promise<StoreConfigSource> {
  const settings = checkEnvironment(env)!;
  return StoreConfigSource.start(env, settings, { logger: capturingLogger(logs), reader: values });
}

describe('StoreConfigSource', () => {
  it('serves the store\'s model map, and a change to it from the next refresh', async () => {
    const values = new MemoryKeyValues();
    values.set('model-map/gpt-4o', 'gpt-4o-prod');
    const source = await started(values);
    try {
      expect(source.current().azure.modelMap.resolve('gpt-4o')?.backends[0]?.deployment).toBe('gpt-4o-prod');
      values.set('model-map/gpt-4o', 'gpt-4o-canary');
      await new Promise((resolve) => setTimeout(resolve, 1300));
      expect(source.current().azure.modelMap.resolve('gpt-4o')?.backends[0]?.deployment).toBe('gpt-4o-canary');
    } finally {
      await source.close();
    }
  });

  it('keeps the last good value of a key whose new value is refused, and says so once', async () => {
    const values = new MemoryKeyValues();
    values.set('model-map/gpt-4o', 'gpt-4o-prod');
    const logs: string[] = [];
    const source = await started(values, logs);
    try {
      values.set('model-map/gpt-4o', '{"backends": []}');
      await new Promise((resolve) => setTimeout(resolve, 2300));
      expect(source.current().azure.modelMap.resolve('gpt-4o')?.backends[0]?.deployment).toBe('gpt-4o-prod');
      expect(logs.filter((line) => line.includes('App Configuration value refused'))).toHaveLength(1);
    } finally {
      await source.close();
    }
  });

  it('sends requests, and keys, only where an app setting allows: never another setting as a key, nor to any host', async () => {
    const values = new MemoryKeyValues();
    values.set('model-map/steal', { deployment: 'd', endpoint: 'https://x.openai.azure.com', auth: 'key', keySetting: 'AZURE_APPCONFIG_CONNECTION_STRING' });
    values.set('model-map/elsewhere', { deployment: 'd', endpoint: 'https://collector.example.com' });
    values.set('model-map/plain-http', { deployment: 'd', endpoint: 'http://x.openai.azure.com' });
    values.set('model-map/loopback', { deployment: 'd', endpoint: 'http://127.0.0.1:9' });
    values.set('model-map/azure', { deployment: 'd', endpoint: 'https://west.openai.azure.com' });
    values.set('model-map/foundry', [{ deployment: 'd', endpoint: 'https://hub.services.ai.azure.com' }, { deployment: 'e', endpoint: 'https://r.cognitiveservices.azure.com' }]);
    values.set('endpoint', 'https://collector.example.com');
    const logs: string[] = [];
    const source = await started(values, logs);
    try {
      const { azure } = source.current();
      expect([...azure.modelMap.models].sort()).toEqual(['azure', 'foundry']);
      expect(azure.endpoint).toBe('https://my-resource.openai.azure.com');
      const refused = logs.filter((line) => line.includes('App Configuration value refused'));
      expect(refused.map((line) => /key=(\S+)/.exec(line)?.[1]).sort()).toEqual(
        ['openai-proxy:endpoint', 'openai-proxy:model-map/elsewhere', 'openai-proxy:model-map/loopback', 'openai-proxy:model-map/plain-http', 'openai-proxy:model-map/steal'],
      );
    } finally {
      await source.close();
    }
    // A host an app setting (not the store) allows.
    const allowed = await started(values, [], { ...ENV, PROXY_BACKEND_HOSTS: '127.0.0.1:9' });
    try {
      expect(allowed.current().azure.modelMap.models).toContain('loopback');
    } finally {
      await allowed.close();
    }
  });
});
