/** The store-backed configuration source over its in-memory twin: no SDK, no network. */
import { checkEnvironment } from '../../../src/core/config/config';
import { MemoryKeyValues, StoreConfigSource } from '../../../src/core/config/storeSource';
import { capturingLogger } from '../../support/stack';

const ENV = { AZURE_OPENAI_ENDPOINT: 'https://my-resource.openai.azure.com', AZURE_OPENAI_AUTH: 'passthrough', AZURE_APPCONFIG_ENDPOINT: 'https://store.azconfig.io', AZURE_APPCONFIG_REFRESH_SECONDS: '1' };

async function started(values: MemoryKeyValues, logs: string[] = []): Promise<StoreConfigSource> {
  const settings = checkEnvironment(ENV)!;
  return StoreConfigSource.start(ENV, settings, { logger: capturingLogger(logs), reader: values });
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
});
