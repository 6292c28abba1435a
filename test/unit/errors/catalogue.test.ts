import { convertAzureError, openAIError, ERROR_CATALOGUE, errorResponse, proxyError, type ErrorCode } from '../../../src/core/errors/catalogue';

describe('convertAzureError', () => {
  it('keeps Azure code and message and fills OpenAI type and param', () => {
    const body = convertAzureError(404, JSON.stringify({ error: { code: 'DeploymentNotFound', message: 'The API deployment for this resource does not exist.' } }));
    expect(body).toEqual({
      error: { message: 'The API deployment for this resource does not exist.', type: 'invalid_request_error', param: null, code: 'DeploymentNotFound' },
    });
  });

  it('keeps the content-filter details', () => {
    const azure = {
      error: {
        message: 'The response was filtered',
        type: null,
        param: 'prompt',
        code: 'content_filter',
        status: 400,
        innererror: { code: 'ResponsibleAIPolicyViolation', content_filter_result: { violence: { filtered: true, severity: 'high' } } },
      },
    };
    const body = convertAzureError(400, JSON.stringify(azure));
    expect(body.error).toMatchObject({ message: 'The response was filtered', type: 'invalid_request_error', param: 'prompt', code: 'content_filter', status: 400 });
    expect(body.error.innererror).toEqual(azure.error.innererror);
  });

  it('turns numeric codes into strings and picks a type by status', () => {
    expect(convertAzureError(429, '{"error":{"code":429,"message":"slow down"}}').error).toEqual({ message: 'slow down', type: 'requests', param: null, code: '429' });
    expect(convertAzureError(503, '{"error":{"code":"ServiceUnavailable","message":"busy"}}').error.type).toBe('server_error');
  });

  it('reads the API Management shape', () => {
    expect(convertAzureError(429, '{"statusCode":429,"message":"Rate limit is exceeded."}').error).toEqual({
      message: 'Rate limit is exceeded.',
      type: 'requests',
      param: null,
      code: '429',
    });
  });

  it('never passes on an HTML page', () => {
    const body = convertAzureError(502, '<html><body>Bad Gateway</body></html>');
    expect(body.error.message).toBe('Azure OpenAI answered HTTP 502 with a body that is not an error object');
    expect(JSON.stringify(body)).not.toContain('<html>');
  });
});

describe('openAIError', () => {
  it('is a JSON response in OpenAI shape', async () => {
    const response = openAIError(401, { message: 'no key', code: 'missing_api_key' });
    expect(response.status).toBe(401);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await response.json()).toEqual({ error: { message: 'no key', type: 'invalid_request_error', param: null, code: 'missing_api_key' } });
  });
});

describe('the error catalogue', () => {
  it('makes every error with its status and type, and the code, message and param given', async () => {
    for (const [code, { status, type }] of Object.entries(ERROR_CATALOGUE) as Array<[ErrorCode, { status: number; type: string }]>) {
      const error = proxyError(code, `message of ${code}`, { param: 'model', headers: { 'retry-after': '1' } });
      expect({ status: error.status, fields: error.fields }).toEqual({ status, fields: { message: `message of ${code}`, type, code, param: 'model' } });
      const response = errorResponse(code, 'm');
      expect(response.status).toBe(status);
      expect(await response.json()).toEqual({ error: { message: 'm', type, param: null, code } });
    }
    expect(proxyError('rate_limit_exceeded', 'slow down', { headers: { 'retry-after': '3' } }).toResponse().headers.get('retry-after')).toBe('3');
  });
});
