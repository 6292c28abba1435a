/**
 * Every error a client sees is in OpenAI's shape, `{"error":{"message","type","param","code"}}`, because that is
 * what the OpenAI SDKs and web UIs parse. Azure's own error bodies are converted here, keeping their `code`,
 * `innererror` and content-filter details.
 */
import { isRecord } from '../http/isRecord';

export interface OpenAIErrorFields {
  message: string;
  type?: string | null;
  param?: string | null;
  code?: string | null;
}

export interface OpenAIErrorBody {
  error: {
    message: string;
    type: string;
    param: string | null;
    code: string | null;
    [extra: string]: unknown;
  };
}

/** OpenAI's `type` for a status, used when the upstream gave none. */
export function errorTypeForStatus(status: number): string {
  if (status === 401) return 'invalid_request_error';
  if (status === 403) return 'permission_error';
  if (status === 429) return 'requests';
  if (status >= 500) return 'server_error';
  return 'invalid_request_error';
}

export function openAIErrorBody(status: number, fields: OpenAIErrorFields): OpenAIErrorBody {
  return {
    error: {
      message: fields.message,
      type: fields.type ?? errorTypeForStatus(status),
      param: fields.param ?? null,
      code: fields.code ?? null,
    },
  };
}

/** What the Headers constructor accepts (not a global type without the DOM library). */
export type HeadersInit = ConstructorParameters<typeof Headers>[0];

/** A JSON Response, for the proxy's own answers (model lists, mocks, errors). */
export function jsonResponse(status: number, body: unknown, headers?: HeadersInit): Response {
  const responseHeaders = new Headers(headers);
  responseHeaders.set('content-type', 'application/json; charset=utf-8');
  return new Response(JSON.stringify(body), { status, headers: responseHeaders });
}

/** A Response carrying an OpenAI-shaped error. */
export function openAIError(status: number, fields: OpenAIErrorFields, headers?: HeadersInit): Response {
  return jsonResponse(status, openAIErrorBody(status, fields), headers);
}

/**
 * Every error the proxy answers with itself (as opposed to Azure's, which are relayed), by OpenAI `code`: its
 * HTTP status and OpenAI `type`. The README's error table is tested against it; `proxyError` and `errorResponse`
 * are the only ways to make one.
 */
export const ERROR_CATALOGUE = {
  bad_request: { status: 400, type: 'invalid_request_error' },
  invalid_json: { status: 400, type: 'invalid_request_error' },
  invalid_type: { status: 400, type: 'invalid_request_error' },
  missing_required_parameter: { status: 400, type: 'invalid_request_error' },
  invalid_multipart: { status: 400, type: 'invalid_request_error' },
  unsupported_content_type: { status: 400, type: 'invalid_request_error' },
  request_too_large: { status: 400, type: 'invalid_request_error' },
  duplicate_parameter: { status: 400, type: 'invalid_request_error' },
  missing_api_key: { status: 401, type: 'invalid_request_error' },
  invalid_api_key: { status: 401, type: 'invalid_request_error' },
  model_not_allowed: { status: 403, type: 'permission_error' },
  family_not_allowed: { status: 403, type: 'permission_error' },
  caller_not_allowed: { status: 403, type: 'permission_error' },
  model_not_found: { status: 404, type: 'invalid_request_error' },
  /** Another key's object (files, assistants...), where objects are kept per key: as Azure answers one it lacks. */
  object_not_found: { status: 404, type: 'invalid_request_error' },
  unknown_url: { status: 404, type: 'invalid_request_error' },
  method_not_allowed: { status: 405, type: 'invalid_request_error' },
  /** OpenAI's type says which limit: `requests`, or `tokens` (a key's tokens per minute). */
  rate_limit_exceeded: { status: 429, type: 'requests', types: ['requests', 'tokens'] },
  /** A key's token budget for the day or month is spent; `x-should-retry: false` keeps the SDKs from retrying. */
  insufficient_quota: { status: 429, type: 'insufficient_quota' },
  /** nginx's "client closed request": only in the log, since the client is gone. */
  client_closed_request: { status: 499, type: 'invalid_request_error' },
  proxy_error: { status: 500, type: 'server_error' },
  upstream_unreachable: { status: 502, type: 'server_error' },
  /** An upstream answer the proxy must read whole (a model list) that is larger than it will hold, or not JSON. */
  upstream_response_invalid: { status: 502, type: 'server_error' },
  /** The last event of a stream Azure broke off: the status is already sent, so it is in the body only. */
  upstream_stream_broken: { status: 502, type: 'server_error' },
  backends_unavailable: { status: 503, type: 'server_error' },
  upstream_credential_unavailable: { status: 503, type: 'server_error' },
  proxy_not_ready: { status: 503, type: 'server_error' },
  upstream_timeout: { status: 504, type: 'server_error' },
} as const satisfies Record<string, { status: number; type: string; types?: readonly string[] }>;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

export interface ErrorOptions {
  param?: string;
  headers?: HeadersInit;
  /** Another of the code's types (`types` in the catalogue), where it has more than one. */
  type?: string;
}

function typeOf(code: ErrorCode, requested: string | undefined): string {
  const entry: { type: string; types?: readonly string[] } = ERROR_CATALOGUE[code];
  return requested !== undefined && entry.types?.includes(requested) === true ? requested : entry.type;
}

/** The OpenAI error body of a catalogued error. */
export function catalogueErrorBody(code: ErrorCode, message: string, param?: string): OpenAIErrorBody {
  const { status, type } = ERROR_CATALOGUE[code];
  return openAIErrorBody(status, { message, type, code, ...(param !== undefined && { param }) });
}

/** A catalogued error to throw: the dispatcher answers it. */
export function proxyError(code: ErrorCode, message: string, options: ErrorOptions = {}): ProxyError {
  const { status } = ERROR_CATALOGUE[code];
  return new ProxyError(status, { message, type: typeOf(code, options.type), code, ...(options.param !== undefined && { param: options.param }) }, options.headers);
}

/** A catalogued error as a Response, where nothing can throw to the dispatcher (the hosts' own answers). */
export function errorResponse(code: ErrorCode, message: string, options: ErrorOptions = {}): Response {
  return proxyError(code, message, options).toResponse();
}

/**
 * An error the core throws to answer a request early; the dispatcher turns it into an OpenAI error Response. Made
 * by `proxyError` for the proxy's own errors; constructed directly only to pass on an error Azure gave.
 */
export class ProxyError extends Error {
  override readonly name = 'ProxyError';
  constructor(
    readonly status: number,
    readonly fields: OpenAIErrorFields,
    readonly headers?: HeadersInit,
  ) {
    super(fields.message);
  }

  toResponse(): Response {
    return openAIError(this.status, this.fields, this.headers);
  }
}

function stringOrNull(value: unknown): string | null {
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return String(value);
  return null;
}

/**
 * Converts an Azure OpenAI error body to OpenAI's shape. Azure answers `{"error":{"code","message",...}}`
 * (with `innererror` for content filtering), while API Management in front of it sometimes answers
 * `{"statusCode":429,"message":"..."}`; anything else (an HTML gateway page) is summarised, never passed on.
 */
export function convertAzureError(status: number, bodyText: string): OpenAIErrorBody {
  let parsed: unknown;
  try {
    parsed = JSON.parse(bodyText);
  } catch {
    parsed = undefined;
  }
  if (isRecord(parsed) && isRecord(parsed.error)) {
    const { message, type, param, code, ...rest } = parsed.error;
    return {
      error: {
        message: typeof message === 'string' && message !== '' ? message : `Azure OpenAI answered HTTP ${status}`,
        type: typeof type === 'string' && type !== '' ? type : errorTypeForStatus(status),
        param: stringOrNull(param),
        code: stringOrNull(code),
        ...rest,
      },
    };
  }
  if (isRecord(parsed) && typeof parsed.message === 'string') {
    return openAIErrorBody(status, { message: parsed.message, code: stringOrNull(parsed.statusCode) ?? String(status) });
  }
  return openAIErrorBody(status, {
    message: `Azure OpenAI answered HTTP ${status} with a body that is not an error object`,
    code: String(status),
  });
}
