/**
 * The workbook's queries (infra/workbook/*.kql, loaded by infra/app/workbook.bicep) ask only for what the app
 * emits: its metric names, their dimensions, and the fields of its request lines.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { METRIC_DIMENSIONS, METRIC_NAMES } from '../../src/adapters/azure/monitorMetrics';
import { loadConfig } from '../../src/core/config/config';
import { createProxy } from '../../src/core/proxy';
import { AzureOpenAIEmulator, EMULATOR_API_KEY } from '../../src/emulator/server';
import type { LogFields } from '../../src/core/logger';

const DIR = join(__dirname, '..', '..', 'infra', 'workbook');
const files = readdirSync(DIR).filter((f) => f.endsWith('.kql'));
const query = (file: string): string => readFileSync(join(DIR, file), 'utf8');

describe('the workbook', () => {
  it('loads every query file, and only those', () => {
    const bicep = readFileSync(join(__dirname, '..', '..', 'infra', 'app', 'workbook.bicep'), 'utf8');
    const loaded = [...bicep.matchAll(/loadTextContent\('\.\.\/workbook\/([^']+)'\)/g)].map((m) => m[1]);
    expect(loaded.sort()).toEqual([...files].sort());
    expect(files.length).toBeGreaterThanOrEqual(5);
  });

  it.each(files)('%s names only metrics and dimensions the app emits', (file) => {
    const text = query(file);
    const metrics = [...text.matchAll(/"(openai_proxy_[a-z_]+)"/g)].map((m) => m[1]);
    for (const metric of metrics) expect(Object.values(METRIC_NAMES)).toContain(metric);
    for (const [, dimension] of text.matchAll(/customDimensions\.(\w+)/g)) expect(METRIC_DIMENSIONS).toContain(dimension);
    if (text.includes('customMetrics')) expect(metrics.length).toBeGreaterThan(0);
  });

  it('reads from the request lines only fields a request line has', async () => {
    const emulator = await AzureOpenAIEmulator.start();
    const lines: LogFields[] = [];
    const logger = { info: (message: string, fields?: LogFields) => (message === 'request' && fields !== undefined ? lines.push(fields) : undefined), warn: () => undefined, error: () => undefined };
    try {
      const proxy = createProxy(loadConfig({ AZURE_OPENAI_ENDPOINT: emulator.url }), { logger });
      const response = await proxy.handle({
        method: 'POST',
        url: 'http://proxy/v1/chat/completions',
        headers: new Headers({ authorization: `Bearer ${EMULATOR_API_KEY}`, 'content-type': 'application/json' }),
        body: new Response(JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] })).body,
        signal: new AbortController().signal,
      });
      await response.arrayBuffer();
      await new Promise((resolve) => setTimeout(resolve, 50));
      await proxy.close();
    } finally {
      await emulator.close();
    }
    const fields = Object.keys(lines[0] ?? {});
    for (const file of files) for (const [, field] of query(file).matchAll(/\br\.(\w+)/g)) expect(fields).toContain(field);
  });
});
