import { openAIPath, Router } from '../../../src/core/routes/router';
import { CATCH_ALL_FUNCTION, FUNCTION_NAMES, ROUTE_TABLE, functionRoute } from '../../../src/core/routes/routes';
import { compareOrdinalIgnoreCase } from '../../support/functionsHost/routes';

describe('Router over the route table', () => {
  const router = new Router(ROUTE_TABLE);

  it('matches OpenAI paths with and without /v1', () => {
    for (const path of ['/v1/chat/completions', '/chat/completions', '/v1/chat/completions/']) {
      const result = router.match('POST', path);
      expect(result.kind === 'match' && result.match.route.functionName).toBe('chatCompletions');
    }
  });

  it('decodes route parameters', () => {
    const result = router.match('GET', '/v1/models/ft%3Agpt-4o%3Aorg');
    expect(result).toMatchObject({ kind: 'match', match: { params: { model: 'ft:gpt-4o:org' } } });
    expect(router.match('GET', '/v1/models/%E0%A4%A').kind).toBe('no-route');
  });

  it('tells a wrong method from an unknown path', () => {
    expect(router.match('GET', '/v1/chat/completions')).toEqual({ kind: 'method-not-allowed', allowed: ['POST'] });
    expect(router.match('POST', '/v1/realtime/sessions')).toEqual({ kind: 'no-route' });
    expect(router.match('GET', '/v1/models/a/b')).toEqual({ kind: 'no-route' });
  });

  it('serves the billing mocks with and without /v1', () => {
    for (const path of ['/v1/dashboard/billing/subscription', '/dashboard/billing/credit_grants', '/v1/dashboard/billing/usage']) {
      const result = router.match('GET', path);
      expect(result.kind === 'match' && result.match.route.functionName).toBe('zCatchAll');
    }
  });
});

describe('route table', () => {
  it("derives each function's Functions route: a single path as itself, a family under its first segment", () => {
    expect(functionRoute('chatCompletions')).toEqual({ route: 'v1/chat/completions', methods: ['POST'] });
    expect(functionRoute('retrieveModel')).toEqual({ route: 'v1/models/{model}', methods: ['GET'] });
    expect(functionRoute('files')).toEqual({ route: 'v1/files/{*rest}', methods: ['POST', 'GET', 'DELETE'] });
    expect(functionRoute('threads').route).toBe('v1/threads/{*rest}');
    expect(() => functionRoute('nope')).toThrow('No route in the table for function nope');
  });

  it('lists each function once, the catch-all apart, and gives every route a distinct method and path', () => {
    expect(new Set(FUNCTION_NAMES).size).toBe(FUNCTION_NAMES.length);
    expect(FUNCTION_NAMES).not.toContain('zCatchAll');
    for (const name of FUNCTION_NAMES) expect(() => functionRoute(name)).not.toThrow();
    const keys = ROUTE_TABLE.flatMap((r) => r.methods.map((m) => `${m} ${r.path}`));
    expect(new Set(keys).size).toBe(keys.length);
    expect(ROUTE_TABLE.filter((r) => r.mocked).every((r) => r.functionName === 'zCatchAll')).toBe(true);
  });

  it("names the catch-all so that the Functions host tries its route last (it orders routes by function name)", () => {
    const ordered = [...FUNCTION_NAMES, CATCH_ALL_FUNCTION].sort(compareOrdinalIgnoreCase);
    expect(ordered.at(-1)).toBe(CATCH_ALL_FUNCTION);
  });

  it('tells apart the routes of a family, parameters included', () => {
    const router = new Router(ROUTE_TABLE);
    const content = router.match('GET', '/v1/files/file-abc/content');
    expect(content).toMatchObject({ kind: 'match', match: { route: { path: '/files/{file_id}/content' }, params: { file_id: 'file-abc' } } });
    const steps = router.match('GET', '/v1/threads/t1/runs/r1/steps/s1');
    expect(steps).toMatchObject({ kind: 'match', match: { params: { thread_id: 't1', run_id: 'r1', step_id: 's1' } } });
    expect(router.match('POST', '/v1/threads/runs')).toMatchObject({ kind: 'match', match: { route: { path: '/threads/runs' } } });
    expect(router.match('PUT', '/v1/files')).toEqual({ kind: 'method-not-allowed', allowed: ['POST', 'GET'] });
  });

  it('strips exactly one /v1', () => {
    expect(openAIPath('/v1/models')).toBe('/models');
    expect(openAIPath('/v1')).toBe('/');
    expect(openAIPath('/v10/models')).toBe('/v10/models');
    expect(openAIPath('/v1/v1/models')).toBe('/v1/models');
  });
});
