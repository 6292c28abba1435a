import { openAIPath, Router } from '../../src/core/router';
import { FUNCTION_ROUTES, MOCK_ROUTES, ROUTE_TABLE, functionsRouteTemplate } from '../../src/core/routes';

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
    expect(router.match('POST', '/v1/assistants')).toEqual({ kind: 'no-route' });
    expect(router.match('GET', '/v1/models/a/b')).toEqual({ kind: 'no-route' });
  });

  it('serves the billing mocks with and without /v1', () => {
    for (const path of ['/v1/dashboard/billing/subscription', '/dashboard/billing/credit_grants', '/v1/dashboard/billing/usage']) {
      const result = router.match('GET', path);
      expect(result.kind === 'match' && result.match.route.functionName).toBe('catchAll');
    }
  });
});

describe('route table', () => {
  it('gives each function route a distinct function name and Functions route template', () => {
    const names = FUNCTION_ROUTES.map((r) => r.functionName);
    expect(new Set(names).size).toBe(names.length);
    expect(FUNCTION_ROUTES.map(functionsRouteTemplate)).toEqual([
      'v1/chat/completions',
      'v1/completions',
      'v1/embeddings',
      'v1/models',
      'v1/models/{model}',
    ]);
    expect(MOCK_ROUTES.every((r) => r.functionName === 'catchAll' && r.mocked)).toBe(true);
  });

  it('strips exactly one /v1', () => {
    expect(openAIPath('/v1/models')).toBe('/models');
    expect(openAIPath('/v1')).toBe('/');
    expect(openAIPath('/v10/models')).toBe('/v10/models');
    expect(openAIPath('/v1/v1/models')).toBe('/v1/models');
  });
});
