/**
 * Deployment-scoped operations with a JSON body (chat, completions, embeddings, image generation, speech): the
 * body's `model` picks the deployment; the body goes upstream as sent, except that in the v1 shape its `model`
 * is rewritten to the deployment name in place.
 */
import type { ApiFamily } from '../config';
import type { RouteHandler } from '../context';
import { deploymentTarget } from '../azureApi';
import { replaceTopLevelModel } from '../jsonModel';
import { readJsonBody, requireModel } from '../requestBody';
import { azureRequestHeaders } from '../upstream';
import { relayAzureResponse } from './azureResponse';
import { annotate, callPool } from './backendCall';
import { callerOf } from './caller';
import { deploymentFor } from './deploymentModel';

export interface DeploymentOperationOptions {
  /** The path after the deployment, e.g. `chat/completions`. */
  operation: string;
  family: ApiFamily;
  /** Drop Azure's filter-only chunks from this operation's streams when AZURE_OPENAI_STREAM_COMPAT is on. */
  streamCompat?: boolean;
}

export function deploymentJsonOperation(options: DeploymentOperationOptions): RouteHandler {
  return async (context) => {
    const { request, url, services, logFields } = context;
    const { config, credentials, upstream } = services;
    // Credentials first: an unauthenticated caller gets nothing read and nothing sent.
    const caller = callerOf(context);
    const body = await readJsonBody(request, config.maxBodyBytes);
    const model = requireModel(body.json);
    const resolution = deploymentFor(config, model, caller);
    logFields.model = model;
    const { response, backend, attempts } = await callPool(context, {
      model,
      backends: resolution.backends,
      replayable: true,
      send: async (backend, headersTimeoutMs) => {
        const target = deploymentTarget(config.azure, options.family, options.operation, backend, url.searchParams);
        return upstream({
          url: target.url,
          method: 'POST',
          headers: azureRequestHeaders(request.headers, await credentials.headers(config, caller, backend)),
          body: target.bodyModel === undefined ? body.bytes : replaceTopLevelModel(body.bytes, target.bodyModel),
          signal: request.signal,
          headersTimeoutMs,
        });
      },
    });
    const relayed = await relayAzureResponse(response, { streamCompat: config.streamCompat && options.streamCompat === true });
    annotate(relayed.headers, backend, attempts, config.azure.endpoint);
    return relayed;
  };
}
