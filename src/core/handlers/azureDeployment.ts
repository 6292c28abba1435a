/**
 * Deployment-scoped operations with a JSON body (chat, completions, embeddings, image generation, speech): the
 * body's `model` picks the deployment; the body goes upstream as sent, except that in the v1 shape its `model`
 * is rewritten to the deployment name in place.
 */
import type { ApiFamily, ProxyConfig } from '../config/config';
import { isRecord } from '../http/isRecord';
import type { Backend } from '../config/modelMap';
import type { RouteHandler } from '../context';
import { replaceTopLevelModel, requestStreamUsage } from '../http/jsonModel';
import { readJsonBody, requireModel } from '../http/requestBody';
import { callDeployment } from '../pool/backendCall';
import { callerOf } from '../auth/caller';
import { deploymentFor } from './deploymentModel';
import { chatFileReferences } from '../ownership/ownership';

export interface DeploymentOperationOptions {
  /** The path after the deployment, e.g. `chat/completions`. */
  operation: string;
  family: ApiFamily;
  /** Drop Azure's filter-only chunks from this operation's streams when AZURE_OPENAI_STREAM_COMPAT is on. */
  streamCompat?: boolean;
  /**
   * Ask for a stream's usage chunk (`stream_options.include_usage`) when the caller did not, so the log line
   * has the tokens; the chunk is then not forwarded to that caller.
   */
  requestUsage?: boolean;
}

/** Whether an api-version knows `stream_options` (2024-09-01-preview and later, and the v1 API). */
function knowsStreamOptions(config: ProxyConfig, family: ApiFamily, backend: Backend): boolean {
  if (config.azure.apiShape === 'v1') return true;
  return (backend.apiVersion ?? config.azure.apiVersions[family]).slice(0, 10) >= '2024-09-01';
}

export function deploymentJsonOperation(options: DeploymentOperationOptions): RouteHandler {
  return async (context) => {
    const { request, services, logFields } = context;
    const { config } = services;
    // Credentials first: an unauthenticated caller gets nothing read and nothing sent.
    const caller = callerOf(context);
    const body = await readJsonBody(request, config.maxBodyBytes);
    const model = requireModel(body.json);
    const resolution = deploymentFor(context, model, caller);
    logFields.model = model;
    // A chat message may name a file (`file_id`): where keys own their objects, only one of the caller's.
    const { ownership } = services;
    if (ownership?.applies(caller) === true) {
      const files = chatFileReferences(body.json);
      if (files.size > 0) await ownership.assertOwned(caller, files);
    }
    const streamOptions = body.json.stream_options;
    const askUsage =
      options.requestUsage === true && body.json.stream === true && !(isRecord(streamOptions) && streamOptions.include_usage === true);
    const addsUsage = (backend: Backend): boolean => askUsage && knowsStreamOptions(config, options.family, backend);
    return callDeployment(context, {
      model,
      backends: resolution.backends,
      family: options.family,
      operation: options.operation,
      caller,
      replayable: true,
      body: (target, backend) => {
        let bytes = target.bodyModel === undefined ? body.bytes : replaceTopLevelModel(body.bytes, target.bodyModel);
        if (addsUsage(backend)) bytes = requestStreamUsage(bytes);
        return { body: bytes };
      },
      relay: (backend) => ({ streamCompat: config.streamCompat && options.streamCompat === true, dropUsageChunk: addsUsage(backend) }),
    });
  };
}
