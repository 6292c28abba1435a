/**
 * One request over a model's pool of backends: the balancer picks a backend for each attempt; a 429, a 5xx, a
 * connection error or a timeout before the response headers moves on to the next one, within `maxAttempts`
 * and the deadline. Every decision is made on a response's status, before any byte of it reaches the client,
 * so a stream that has begun is never retried. When every backend is rate limited, the answer is at once a 429
 * with the shortest wait left, and nothing is sent to Azure; backends set aside by their circuits are still tried
 * when nothing else is left (balancer.ts).
 */
import type { Caller } from '../auth/clientKeys';
import { deploymentTarget, type DeploymentTarget } from '../azure/azureApi';
import { backendLabel, retryAfterMs, type Outcome } from './balancer';
import type { ApiFamily } from '../config/config';
import type { RequestContext } from '../context';
import { proxyError, ProxyError } from '../errors/catalogue';
import type { Backend } from '../config/modelMap';
import { discardBody, type ProxyResponse } from '../http/proxyResponse';
import { azureRequestHeaders, isRelayedResponseHeader } from '../upstream/upstream';
import { relayAzureResponse, type RelayOptions } from '../azure/azureResponse';
import { recordUsageIn } from '../usage/usageFields';

/** Sends one attempt to one backend; `headersTimeoutMs` bounds its wait for the response headers. */
export type BackendAttempt = (backend: Backend, headersTimeoutMs: number) => Promise<ProxyResponse>;

export interface PoolCall {
  model: string;
  backends: readonly Backend[];
  /** Whether the request body can be sent again (JSON bytes can; a streamed upload cannot). */
  replayable: boolean;
  send: BackendAttempt;
}

export interface PoolResult {
  response: ProxyResponse;
  backend: Backend;
  attempts: number;
}

const RETRYABLE_STATUSES = new Set([500, 502, 503, 504]);

function outcomeOf(response: ProxyResponse): Outcome {
  if (response.status === 429) return { kind: 'rate-limited', retryAfterMs: retryAfterMs(response.headers) };
  if (RETRYABLE_STATUSES.has(response.status)) return { kind: 'failure' };
  return { kind: 'success' };
}

/** The headers that say which backend answered and after how many attempts (no secrets: deployment@host). */
export function annotate(headers: Headers, backend: Backend | undefined, attempts: number, defaultEndpoint: string): void {
  if (backend !== undefined) headers.set('x-proxy-backend', backendLabel(backend, defaultEndpoint));
  headers.set('x-proxy-attempts', String(attempts));
}

export async function callPool(context: RequestContext, call: PoolCall): Promise<PoolResult> {
  const { services, logFields } = context;
  const { config, balancer } = services;
  const { routing } = config;
  const endpoint = config.azure.endpoint;
  const deadline = Date.now() + routing.deadlineMs;
  const maxAttempts = call.replayable ? routing.maxAttempts : 1;
  const tried = new Set<Backend>();
  let last: { response: ProxyResponse; backend: Backend } | { error: ProxyError; backend: Backend } | undefined;

  while (tried.size < maxAttempts) {
    const remaining = deadline - Date.now();
    if (remaining <= 0) break;
    const choice = balancer.choose(call.backends, tried, endpoint, routing);
    if (choice.kind === 'none') {
      if (last !== undefined) break;
      throw allRateLimited(call.model, choice.waitMs);
    }
    const { backend } = choice;
    tried.add(backend);
    logFields.backend = backendLabel(backend, endpoint);
    logFields.deployment = backend.deployment;
    logFields.attempts = tried.size;
    let response: ProxyResponse;
    try {
      response = await call.send(backend, Math.min(remaining, routing.attemptTimeoutMs));
    } catch (error) {
      // Only the network's failures (502 unreachable, 504 no headers in time) move on; a client abort does not.
      if (!(error instanceof ProxyError) || (error.status !== 502 && error.status !== 504)) throw error;
      balancer.report(backend, { kind: 'failure' }, routing, endpoint);
      last = { error, backend };
      continue;
    }
    const outcome = outcomeOf(response);
    balancer.report(backend, outcome, routing, endpoint);
    if (outcome.kind === 'success') return { response, backend, attempts: tried.size };
    if (last !== undefined && 'response' in last) await discardBody(last.response);
    last = { response, backend };
  }

  if (last === undefined) throw proxyError('backends_unavailable', `No deployment of the model '${call.model}' could be tried before the deadline.`, { headers: { 'x-proxy-attempts': '0' } });
  if ('error' in last) {
    const headers = new Headers(last.error.headers);
    annotate(headers, last.backend, tried.size, endpoint);
    throw new ProxyError(last.error.status, last.error.fields, headers);
  }
  return { response: last.response, backend: last.backend, attempts: tried.size };
}

/** Every backend is set aside by a 429 (a circuit alone never refuses): answered at once, with the wait left. */
function allRateLimited(model: string, waitMs: number): ProxyError {
  const retryAfterMsValue = Math.max(1, Math.ceil(waitMs));
  const headers = { 'retry-after': String(Math.max(1, Math.ceil(waitMs / 1000))), 'retry-after-ms': String(retryAfterMsValue), 'x-proxy-attempts': '0' };
  return proxyError('rate_limit_exceeded', `Every deployment of the model '${model}' is rate limited. Retry after ${retryAfterMsValue} ms.`, { headers });
}

export interface DeploymentCall {
  model: string;
  backends: readonly Backend[];
  family: ApiFamily;
  /** The path after the deployment, e.g. `chat/completions`. */
  operation: string;
  caller: Caller;
  replayable: boolean;
  /** The body for one backend (whose v1 URL may need its deployment in the body), and any headers it adds. */
  body(target: DeploymentTarget, backend: Backend): { body: Uint8Array | ReadableStream<Uint8Array>; headers?: Record<string, string> };
  /** How the answer of the backend that answered is relayed. */
  relay(backend: Backend): Omit<RelayOptions, 'onUsage'>;
}

/** The relayed answer, and the backend that gave it (of a pool, perhaps not the first of its deployment's name). */
export interface DeploymentAnswer {
  response: ProxyResponse;
  backend: Backend;
}

/** A deployment-scoped call over a model's pool: the URL, credential and body for each attempt, then the relay. */
export async function callDeployment(context: RequestContext, call: DeploymentCall): Promise<DeploymentAnswer> {
  const { request, services, logFields } = context;
  const { config, credentials, upstream } = services;
  const { response, backend, attempts } = await callPool(context, {
    model: call.model,
    backends: call.backends,
    replayable: call.replayable,
    send: (backend, headersTimeoutMs) => {
      const target = deploymentTarget(config.azure, call.family, call.operation, backend);
      const { body, headers: extra } = call.body(target, backend);
      const send = (auth: Record<string, string>): Promise<ProxyResponse> => {
        const headers = azureRequestHeaders(request.headers, auth);
        if (extra !== undefined) Object.assign(headers, extra);
        return upstream({ url: target.url, method: 'POST', headers, body, signal: request.signal, headersTimeoutMs, keepResponseHeader: isRelayedResponseHeader });
      };
      // A key is at hand: the call goes out without waiting a turn for it.
      const auth = credentials.headers(config, call.caller, backend);
      return auth instanceof Promise ? auth.then(send) : send(auth);
    },
  });
  const relaying = relayAzureResponse(response, { ...call.relay(backend), onUsage: recordUsageIn(logFields) });
  const relayed = relaying instanceof Promise ? await relaying : relaying;
  annotate(relayed.headers, backend, attempts, config.azure.endpoint);
  return { response: relayed, backend };
}
