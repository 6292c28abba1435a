/**
 * The route table: the single source of truth for what the proxy serves. Each Azure Function in src/functions
 * registers from it (one function per OpenAI API: a route, or a family of routes under one path), the catch-all
 * function dispatches through it (the Functions host may hand the catch-all a request meant for another
 * function), and the local host serves from it.
 */
import type { ApiFamily, Grant } from '../config/config';
import type { RouteHandler } from '../context';
import { deploymentJsonOperation } from '../handlers/azureDeployment';
import { deploymentMultipartOperation } from '../handlers/azureMultipart';
import { resourceOperation } from '../handlers/azureResource';
import { billingCreditGrants, billingSubscription, billingUsage } from '../handlers/billingMock';
import { listModels, retrieveModel } from '../handlers/models';
import { realtimeClientSecret } from '../handlers/realtime';
import type { HttpMethod, RouteTemplate } from './router';

/** What a route becomes on Azure, for the README and for tests that keep the two in step. */
export type AzureCall =
  | { kind: 'deployment'; family: ApiFamily; body: 'json' | 'multipart' }
  | { kind: 'resource'; family: ApiFamily; mapsModel: boolean }
  | { kind: 'realtime' }
  | { kind: 'none' };

export interface RouteDefinition extends RouteTemplate {
  /** The Azure Function that serves this route (the catch-all's, CATCH_ALL_FUNCTION, for the mocked ones). */
  functionName: string;
  handle: RouteHandler;
  azure: AzureCall;
  /** Answered by the proxy itself with made-up values, because Azure OpenAI has no such API. */
  mocked?: true;
}

function deployment(
  functionName: string,
  path: string,
  family: ApiFamily,
  body: 'json' | 'multipart',
  streams: { streamCompat?: boolean; requestUsage?: boolean; reasoningParameters?: boolean } = {},
): RouteDefinition {
  const options = { operation: path.slice(1), family, ...streams };
  return {
    functionName,
    methods: ['POST'],
    path,
    handle: body === 'json' ? deploymentJsonOperation(options) : deploymentMultipartOperation(options),
    azure: { kind: 'deployment', family, body },
  };
}

/**
 * What a limited key needs to reach each stateful family (its objects are shared by every key that reaches it).
 * Creating a response is inference, checked by its model; reading stored ones needs the grant.
 */
const GRANT_OF: Readonly<Record<string, Grant>> = {
  files: 'files',
  batches: 'batches',
  fineTuning: 'fine-tuning',
  vectorStores: 'assistants',
  assistants: 'assistants',
  threads: 'assistants',
  responses: 'responses',
};

/**
 * A resource-level route. `model`: `'maps'` where the body's `model` names a deployment (mapped in place), and
 * `'required'` where it also decides what runs, so a limited key must name an allowed one (a run without a model
 * would use its assistant's, whatever that is).
 */
function resource(functionName: string, family: ApiFamily, method: HttpMethod, path: string, model?: 'maps' | 'required'): RouteDefinition {
  const mapsModel = model !== undefined;
  const createsResponse = functionName === 'responses' && method === 'POST' && path === '/responses';
  const grant = createsResponse ? undefined : GRANT_OF[functionName];
  return {
    functionName,
    methods: [method],
    path,
    handle: resourceOperation({ family, path, mapsModel, modelRequired: model === 'required', ...(grant !== undefined && { grant }), createsResponse }),
    azure: { kind: 'resource', family, mapsModel },
  };
}

function local(functionName: string, path: string, handle: RouteHandler, mocked = false): RouteDefinition {
  return { functionName, methods: ['GET'], path, handle, azure: { kind: 'none' }, ...(mocked && { mocked: true as const }) };
}

/**
 * The function that takes every request no other function matched. The Functions host tries function routes in
 * the order of the functions' names (`StringComparer.OrdinalIgnoreCase`, azure-functions-host
 * `FunctionMetadataManager`) and takes the first that matches, so a `{*path}` route shadows every function whose
 * name sorts after its own: the catch-all's name must sort after every other (the tests check it does).
 */
export const CATCH_ALL_FUNCTION = 'zCatchAll';

export const ROUTE_TABLE: readonly RouteDefinition[] = [
  deployment('chatCompletions', '/chat/completions', 'inference', 'json', { streamCompat: true, requestUsage: true, reasoningParameters: true }),
  deployment('completions', '/completions', 'inference', 'json', { streamCompat: true }),
  deployment('embeddings', '/embeddings', 'inference', 'json'),
  deployment('imageGenerations', '/images/generations', 'images', 'json'),
  deployment('imageEdits', '/images/edits', 'images', 'multipart'),
  deployment('audioTranscriptions', '/audio/transcriptions', 'audio', 'multipart'),
  deployment('audioTranslations', '/audio/translations', 'audio', 'multipart'),
  deployment('audioSpeech', '/audio/speech', 'audio', 'json'),

  local('listModels', '/models', listModels),

  // A WebRTC session's client secret, from Azure's GA Realtime API (the session itself runs between browser and Azure).
  { functionName: 'realtimeClientSecrets', methods: ['POST'], path: '/realtime/client_secrets', handle: realtimeClientSecret, azure: { kind: 'realtime' } },
  local('retrieveModel', '/models/{model}', retrieveModel),

  resource('responses', 'responses', 'POST', '/responses', 'required'),
  resource('responses', 'responses', 'GET', '/responses/{response_id}'),
  resource('responses', 'responses', 'DELETE', '/responses/{response_id}'),
  resource('responses', 'responses', 'POST', '/responses/{response_id}/cancel'),
  resource('responses', 'responses', 'GET', '/responses/{response_id}/input_items'),

  resource('files', 'files', 'POST', '/files'),
  resource('files', 'files', 'GET', '/files'),
  resource('files', 'files', 'GET', '/files/{file_id}'),
  resource('files', 'files', 'DELETE', '/files/{file_id}'),
  resource('files', 'files', 'GET', '/files/{file_id}/content'),

  resource('batches', 'files', 'POST', '/batches'),
  resource('batches', 'files', 'GET', '/batches'),
  resource('batches', 'files', 'GET', '/batches/{batch_id}'),
  resource('batches', 'files', 'POST', '/batches/{batch_id}/cancel'),

  resource('fineTuning', 'files', 'POST', '/fine_tuning/jobs'),
  resource('fineTuning', 'files', 'GET', '/fine_tuning/jobs'),
  resource('fineTuning', 'files', 'GET', '/fine_tuning/jobs/{job_id}'),
  resource('fineTuning', 'files', 'POST', '/fine_tuning/jobs/{job_id}/cancel'),
  resource('fineTuning', 'files', 'GET', '/fine_tuning/jobs/{job_id}/events'),
  resource('fineTuning', 'files', 'GET', '/fine_tuning/jobs/{job_id}/checkpoints'),

  resource('vectorStores', 'assistants', 'POST', '/vector_stores'),
  resource('vectorStores', 'assistants', 'GET', '/vector_stores'),
  resource('vectorStores', 'assistants', 'GET', '/vector_stores/{vector_store_id}'),
  resource('vectorStores', 'assistants', 'POST', '/vector_stores/{vector_store_id}'),
  resource('vectorStores', 'assistants', 'DELETE', '/vector_stores/{vector_store_id}'),
  resource('vectorStores', 'assistants', 'POST', '/vector_stores/{vector_store_id}/search'),
  resource('vectorStores', 'assistants', 'POST', '/vector_stores/{vector_store_id}/files'),
  resource('vectorStores', 'assistants', 'GET', '/vector_stores/{vector_store_id}/files'),
  resource('vectorStores', 'assistants', 'GET', '/vector_stores/{vector_store_id}/files/{file_id}'),
  resource('vectorStores', 'assistants', 'DELETE', '/vector_stores/{vector_store_id}/files/{file_id}'),
  resource('vectorStores', 'assistants', 'POST', '/vector_stores/{vector_store_id}/file_batches'),
  resource('vectorStores', 'assistants', 'GET', '/vector_stores/{vector_store_id}/file_batches/{batch_id}'),
  resource('vectorStores', 'assistants', 'POST', '/vector_stores/{vector_store_id}/file_batches/{batch_id}/cancel'),
  resource('vectorStores', 'assistants', 'GET', '/vector_stores/{vector_store_id}/file_batches/{batch_id}/files'),

  resource('assistants', 'assistants', 'POST', '/assistants', 'required'),
  resource('assistants', 'assistants', 'GET', '/assistants'),
  resource('assistants', 'assistants', 'GET', '/assistants/{assistant_id}'),
  resource('assistants', 'assistants', 'POST', '/assistants/{assistant_id}', 'maps'),
  resource('assistants', 'assistants', 'DELETE', '/assistants/{assistant_id}'),

  resource('threads', 'assistants', 'POST', '/threads'),
  resource('threads', 'assistants', 'POST', '/threads/runs', 'required'),
  resource('threads', 'assistants', 'GET', '/threads/{thread_id}'),
  resource('threads', 'assistants', 'POST', '/threads/{thread_id}'),
  resource('threads', 'assistants', 'DELETE', '/threads/{thread_id}'),
  resource('threads', 'assistants', 'POST', '/threads/{thread_id}/messages'),
  resource('threads', 'assistants', 'GET', '/threads/{thread_id}/messages'),
  resource('threads', 'assistants', 'GET', '/threads/{thread_id}/messages/{message_id}'),
  resource('threads', 'assistants', 'POST', '/threads/{thread_id}/messages/{message_id}'),
  resource('threads', 'assistants', 'DELETE', '/threads/{thread_id}/messages/{message_id}'),
  resource('threads', 'assistants', 'POST', '/threads/{thread_id}/runs', 'required'),
  resource('threads', 'assistants', 'GET', '/threads/{thread_id}/runs'),
  resource('threads', 'assistants', 'GET', '/threads/{thread_id}/runs/{run_id}'),
  resource('threads', 'assistants', 'POST', '/threads/{thread_id}/runs/{run_id}'),
  resource('threads', 'assistants', 'POST', '/threads/{thread_id}/runs/{run_id}/cancel'),
  resource('threads', 'assistants', 'POST', '/threads/{thread_id}/runs/{run_id}/submit_tool_outputs'),
  resource('threads', 'assistants', 'GET', '/threads/{thread_id}/runs/{run_id}/steps'),
  resource('threads', 'assistants', 'GET', '/threads/{thread_id}/runs/{run_id}/steps/{step_id}'),

  local(CATCH_ALL_FUNCTION, '/dashboard/billing/subscription', billingSubscription, true),
  local(CATCH_ALL_FUNCTION, '/dashboard/billing/usage', billingUsage, true),
  local(CATCH_ALL_FUNCTION, '/dashboard/billing/credit_grants', billingCreditGrants, true),
];

/** The functions with routes of their own: every function name of the table but the catch-all's. */
export const FUNCTION_NAMES = [...new Set(ROUTE_TABLE.map((route) => route.functionName))].filter(
  (name) => name !== CATCH_ALL_FUNCTION,
);

export interface FunctionRoute {
  /** The Azure Functions route template (host.json sets routePrefix to ""). */
  route: string;
  methods: readonly HttpMethod[];
}

/**
 * How a function registers: a single path as itself (`v1/models/{model}`); a family of paths under the first
 * segment they share, with a catch-all parameter (`v1/files/{*rest}`), whose routes the core then tells apart.
 */
export function functionRoute(functionName: string): FunctionRoute {
  const routes = ROUTE_TABLE.filter((route) => route.functionName === functionName);
  if (routes.length === 0) throw new Error(`No route in the table for function ${functionName}`);
  const paths = [...new Set(routes.map((route) => route.path))];
  const methods = [...new Set(routes.flatMap((route) => route.methods))];
  if (paths.length === 1) return { route: `v1${paths[0]}`, methods };
  const firstSegment = paths[0]?.split('/')[1];
  if (paths.some((path) => path.split('/')[1] !== firstSegment)) {
    throw new Error(`The routes of function ${functionName} do not share a first path segment`);
  }
  return { route: `v1/${firstSegment}/{*rest}`, methods };
}
