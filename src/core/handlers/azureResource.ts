/**
 * Resource-level Azure OpenAI operations (responses, files, batches, fine-tuning, vector stores, assistants and
 * threads): the OpenAI path goes to the same path under `/openai` (or `/openai/v1`), with the client's query.
 * JSON bodies are checked and forwarded as sent, except that where Azure expects a deployment in `model` (a
 * response, an assistant, a run) the model is mapped in place. Uploads stream through. Where keys own their
 * objects (core/ownership), the objects a request names are checked first, and what it creates is recorded.
 */
import { fillPath, resourceUrl } from '../azure/azureApi';
import type { ApiFamily, Grant } from '../config/config';
import type { RouteHandler } from '../context';
import { replaceTopLevelModel } from '../http/jsonModel';
import { primaryBackend } from '../config/modelMap';
import { multipartBoundary } from '../http/multipart';
import { assertJsonContentType, bodyTooLarge, limitBodyStream, parseJsonBody, readBodyWithLimit, requireModel } from '../http/requestBody';
import { azureRequestHeaders, isRelayedResponseHeader } from '../upstream/upstream';
import { relayAzureResponse } from '../azure/azureResponse';
import { callerOf } from '../auth/caller';
import { assertGranted, isLimited } from '../auth/clientKeys';
import { deploymentFor } from './deploymentModel';
import { recordUsageIn } from '../usage/usageFields';
import { applyOwnership, objectParamOf, objectRouteOf } from '../ownership/objectRoutes';
import { referencedObjects } from '../ownership/ownership';

export interface ResourceOperationOptions {
  family: ApiFamily;
  /** The OpenAI path template, e.g. `/files/{file_id}/content`. */
  path: string;
  /** The body's `model` names a deployment on Azure, so it is mapped. */
  mapsModel?: boolean;
  /** A limited key must name an allowed model here (creating a response, an assistant, a run). */
  modelRequired?: boolean;
  /** The grant a limited key needs for this family. */
  grant?: Grant;
  /** `POST /responses`: a limited key may chain to a stored response (`previous_response_id`) only with the grant. */
  createsResponse?: boolean;
}

const BODYLESS = new Set(['GET', 'HEAD', 'DELETE']);

export function resourceOperation(options: ResourceOperationOptions): RouteHandler {
  const objectParam = objectParamOf(options.path);
  return async (context) => {
    const { request, url, params, services, logFields } = context;
    const { config, credentials, upstream, ownership } = services;
    const caller = callerOf(context);
    if (options.grant !== undefined) assertGranted(caller, options.grant);
    const limited = isLimited(caller);
    const headers = azureRequestHeaders(request.headers, await credentials.headers(config, caller));
    const limit = config.maxBodyBytes;
    let body: Uint8Array | ReadableStream<Uint8Array> | null = null;
    let exceeded = false;
    // The objects this request acts on, or refers to in its body: all must be the caller's, where keys own theirs.
    const objects = new Set<string>();
    const named = objectParam === undefined ? undefined : params[objectParam];
    if (named !== undefined) objects.add(named);

    if (!BODYLESS.has(request.method) && request.body !== null) {
      if (multipartBoundary(request.headers.get('content-type')) !== undefined) {
        const declared = Number(request.headers.get('content-length') ?? Number.NaN);
        if (declared > limit) throw bodyTooLarge(limit);
        if (Number.isSafeInteger(declared)) headers['content-length'] = String(declared);
        body = limitBodyStream(request.body, limit, () => {
          exceeded = true;
        });
      } else {
        assertJsonContentType(request.headers);
        const bytes = await readBodyWithLimit(request, limit);
        // A limited key names the model of what it creates: without one, Azure would use another's (a run
        // takes its assistant's model), which its check could not see.
        if (limited && options.modelRequired === true && bytes.byteLength === 0) requireModel({});
        // Actions such as `POST /batches/{id}/cancel` have no body at all.
        if (bytes.byteLength > 0) {
          const json = parseJsonBody(bytes);
          body = json.bytes;
          if (ownership !== undefined) referencedObjects(json.json, objects);
          if (limited && options.modelRequired === true) requireModel(json.json);
          if (limited && options.createsResponse === true && json.json.previous_response_id !== undefined && json.json.previous_response_id !== null) {
            assertGranted(caller, 'responses');
          }
          const model = json.json.model;
          if (options.mapsModel === true && typeof model === 'string') {
            // Resource-level calls go to the default endpoint: a model's own endpoint applies to
            // deployment-scoped routes only, since later calls (get, delete) cannot know it.
            const { deployment } = primaryBackend(deploymentFor(context, model, caller));
            logFields.model = model;
            logFields.deployment = deployment;
            body = replaceTopLevelModel(json.bytes, deployment);
          }
        }
      }
    }

    if (ownership !== undefined && objects.size > 0) await ownership.assertOwned(caller, objects);

    try {
      const response = await upstream({
        url: resourceUrl(config.azure, options.family, fillPath(options.path, params), url.searchParams),
        // HEAD goes to Azure as GET: its answer's headers are the client's, its body is not sent (the host drops it).
        method: request.method === 'HEAD' ? 'GET' : request.method,
        headers,
        body,
        signal: request.signal,
        keepResponseHeader: isRelayedResponseHeader,
      });
      const relayed = await relayAzureResponse(response, { streamCompat: false, onUsage: recordUsageIn(logFields) });
      return ownership === undefined ? relayed : await applyOwnership(ownership, caller, objectRouteOf(request.method, objectParam), relayed, services.logger);
    } catch (error) {
      if (exceeded) throw bodyTooLarge(limit);
      throw error;
    }
  };
}
