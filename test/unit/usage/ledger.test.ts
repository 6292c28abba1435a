import { MemoryLedgerStore, UsageLedger } from '../../../src/core/usage/ledger';
import type { RequestRecord } from '../../../src/core/usage/metrics';
import type { Logger } from '../../../src/core/logger';
import { formatUsage, parseUsageArguments, readUsage, UsageCommandError, usageStoreFromEnvironment } from '../../../src/cli/usage';

const T = Date.UTC(2026, 10, 28, 23, 30);
const record = (fields: Partial<RequestRecord>): RequestRecord => ({ status: 200, ms: 1, ttfb_ms: 1, route: 'chatCompletions', ...fields });

describe('the usage ledger', () => {
  it('counts the next hour in a row of its own, and makes a row let go after its write anew', async () => {
    const clock = { now: T };
    const store = new MemoryLedgerStore();
    const warnings: string[] = [];
    const ledger = new UsageLedger(store, { logger: { info: () => undefined, warn: (m) => warnings.push(m), error: () => undefined }, now: () => clock.now });
    const alice = record({ client: 'alice', model: 'gpt-4o', deployment: 'chat-prod', prompt_tokens: 1 });
    ledger.record(alice);
    clock.now += 3_600_000;
    ledger.record(alice);
    ledger.record(alice);
    await ledger.flush();
    clock.now += 3_600_000;
    ledger.record(alice);
    // Written in the next hour, the last request's row is let go. A clock set back counts in a new row, which
    // replaces the written one as every write does (never in the row let go, which no write would reach).
    clock.now += 3_600_000;
    await ledger.flush();
    clock.now -= 3_600_000;
    ledger.record(alice);
    await ledger.close();
    const rows = await store.read('2026-11-28T00', '2026-11-30T00');
    expect(rows.map((row) => [row.hour, row.key, row.requests])).toEqual([
      ['2026-11-28T23', 'alice', 1],
      ['2026-11-29T00', 'alice', 2],
      ['2026-11-29T01', 'alice', 1],
    ]);
    expect(warnings).toEqual([]);
  });

  it('counts requests, tokens and 429s per key, model and deployment and hour, written whole, kept through a failed write', async () => {
    const clock = { now: T };
    const store = new MemoryLedgerStore();
    const warnings: string[] = [];
    const logger: Logger = { info: () => undefined, warn: (m) => warnings.push(m), error: () => undefined };
    const ledger = new UsageLedger(store, { logger, now: () => clock.now });
    ledger.record(record({ client: 'alice', model: 'gpt-4o', deployment: 'chat-prod', prompt_tokens: 10, completion_tokens: 5 }));
    ledger.record(record({ client: 'alice', model: 'gpt-4o', deployment: 'chat-prod', prompt_tokens: 1, completion_tokens: 2 }));
    ledger.record(record({ client: 'alice', model: 'gpt-4o', status: 429 }));
    ledger.record(record({ model: 'gpt-4o', deployment: 'chat-prod', prompt_tokens: 3 }));
    // A request no route served (a 404 for an unknown path) is not usage.
    ledger.record({ status: 404, ms: 1, ttfb_ms: 1 });
    store.failure = new Error('connect ECONNREFUSED');
    await ledger.flush();
    await ledger.flush();
    expect(warnings).toHaveLength(1);
    store.failure = undefined;
    clock.now += 3_600_000;
    ledger.record(record({ client: 'alice', model: 'gpt-4o', deployment: 'chat-prod', prompt_tokens: 100, completion_tokens: 50 }));
    await ledger.close();
    const rows = await store.read('2026-11-28T00', '2026-11-30T00');
    expect(rows).toEqual(
      expect.arrayContaining([
        { hour: '2026-11-28T23', key: 'alice', model: 'gpt-4o', deployment: 'chat-prod', requests: 2, promptTokens: 11, completionTokens: 7, rateLimited: 0, cost: 0 },
        { hour: '2026-11-28T23', key: 'alice', model: 'gpt-4o', deployment: '-', requests: 1, promptTokens: 0, completionTokens: 0, rateLimited: 1, cost: 0 },
        { hour: '2026-11-28T23', key: 'passthrough', model: 'gpt-4o', deployment: 'chat-prod', requests: 1, promptTokens: 3, completionTokens: 0, rateLimited: 0, cost: 0 },
        { hour: '2026-11-29T00', key: 'alice', model: 'gpt-4o', deployment: 'chat-prod', requests: 1, promptTokens: 100, completionTokens: 50, rateLimited: 0, cost: 0 },
      ]),
    );
    expect(rows).toHaveLength(4);

    const byDay = await readUsage(store, { ...parseUsageArguments(['--from', '2026-11-28', '--to', '2026-11-29', '--key', 'alice']), format: 'csv' });
    expect(formatUsage(byDay, 'csv').split('\n')).toEqual([
      'period,key,model,deployment,requests,prompt_tokens,completion_tokens,rate_limited,cost',
      '2026-11-28,alice,gpt-4o,-,1,0,0,1,0.0000',
      '2026-11-28,alice,gpt-4o,chat-prod,2,11,7,0,0.0000',
      '2026-11-29,alice,gpt-4o,chat-prod,1,100,50,0,0.0000',
    ]);
  });
});

describe('npm run usage arguments', () => {
  it('takes days (a --to day included whole) or hours, UTC, today by default', () => {
    expect(parseUsageArguments([], T)).toEqual({ fromHour: '2026-11-28T00', toHour: '2026-11-29T00', by: 'day', format: 'table' });
    expect(parseUsageArguments(['--from', '2026-11-28T06', '--to', '2026-11-28T07', '--by', 'hour', '--format', 'json'])).toEqual({ fromHour: '2026-11-28T06', toHour: '2026-11-28T08', by: 'hour', format: 'json' });
  });

  it.each([
    [['--from', 'yesterday'], '--from "yesterday" is not a day'],
    [['--from', '2026-11-28', '--to', '2026-11-01'], '--to 2026-11-01 is before --from 2026-11-28'],
    [['--by', 'week'], '--by "week" must be day or hour'],
    [['--format', 'xml'], '--format "xml" must be table, csv or json'],
    [['--keys', 'a'], "Unknown option '--keys'"],
  ])('refuses %j, saying why', (args, message) => {
    expect(() => parseUsageArguments(args)).toThrow(UsageCommandError);
    expect(() => parseUsageArguments(args)).toThrow(message);
  });

  it('reads the usage store settings as the proxy does, bad ones named', () => {
    expect(() => usageStoreFromEnvironment({})).toThrow('No usage store: set PROXY_USAGE_TABLE_ENDPOINT');
    expect(() => usageStoreFromEnvironment({ PROXY_USAGE_TABLE_ENDPOINT: 'table.example' })).toThrow(/PROXY_USAGE_TABLE_ENDPOINT: "table\.example" must be an absolute http\(s\) URL/);
    expect(() => usageStoreFromEnvironment({ PROXY_USAGE_TABLE_ENDPOINT: 'https://a.table.core.windows.net', PROXY_USAGE_TABLE_CONNECTION_STRING: 'UseDevelopmentStorage=true' })).toThrow(UsageCommandError);
  });

  it('quotes CSV fields that need it, and lines up the table', () => {
    const rows = [{ hour: '2026-11-28', key: 'team,a', model: 'say "hi"', deployment: 'd', requests: 12, promptTokens: 3, completionTokens: 4, rateLimited: 0, cost: 0.012345 }];
    expect(formatUsage(rows, 'csv').split('\n')[1]).toBe('2026-11-28,"team,a","say ""hi""",d,12,3,4,0,0.0123');
    expect(formatUsage(rows, 'table').split('\n')).toEqual([
      'period      key     model     deployment  requests  prompt_tokens  completion_tokens  rate_limited    cost',
      '2026-11-28  team,a  say "hi"  d                 12              3                  4             0  0.0123',
    ]);
  });
});
