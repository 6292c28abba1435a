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
import { callDeployment, type DeploymentAnswer } from '../pool/backendCall';
import { backendKey } from '../pool/balancer';
import { callerOf } from '../auth/caller';
import { deploymentFor } from './deploymentModel';
import { chatFileReferences } from '../ownership/ownership';
import { editTopLevelKeys } from '../http/jsonModel';
import { knownRefused, parameterEdit, refusedParameter } from '../azure/reasoningParameters';
import { MAX_ERROR_BODY_BYTES, readAzureJson } from '../azure/azureResponse';
import { jsonResponse, type OpenAIErrorBody } from '../errors/catalogue';

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
  /**
   * Fix the parameters a reasoning deployment refuses (core/azure/reasoningParameters) when Azure names one, and
   * send again; before the first call where the deployment's model is known to reason, or refused one already.
   */
  reasoningParameters?: boolean;
}

/** How many times one request is sent again with a refused parameter fixed: Azure names one per answer. */
const MAX_PARAMETER_RETRIES = 4;

/** The model a deployment runs, where known: as discovered, else the name the client used (mapped or as is). */
function knownModel(config: ProxyConfig, backend: Backend, model: string): string {
  return config.azure.modelMap.discoveredNamed(backend.deployment)?.model ?? model;
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
    const translating = options.reasoningParameters === true && config.translateParameters;
    const { refusedParameters } = services;
    // Refused in this request's earlier answers (an array: most requests have none, and a Set costs a table).
    const refused: string[] = [];
    const fixesFor = (backend: Backend): string[] => {
      const known = knownRefused(knownModel(config, backend, model));
      // No deployment refused anything yet (the usual case): no key is made to look one up.
      const learned = refusedParameters.isEmpty ? undefined : refusedParameters.get(backendKey(backend, config.azure.endpoint));
      if (known.size === 0 && (learned === undefined || learned.size === 0) && refused.length === 0) return [];
      return [...new Set([...known, ...(learned ?? []), ...refused])].filter((param) => body.json[param] !== undefined);
    };
    const call = (): Promise<DeploymentAnswer> =>
      callDeployment(context, {
        model,
        backends: resolution.backends,
        family: options.family,
        operation: options.operation,
        caller,
        replayable: true,
        body: (target, backend) => {
          let bytes = target.bodyModel === undefined ? body.bytes : replaceTopLevelModel(body.bytes, target.bodyModel);
          if (addsUsage(backend)) bytes = requestStreamUsage(bytes);
          if (translating) {
            const fixes = fixesFor(backend);
            if (fixes.length > 0) {
              bytes = editTopLevelKeys(bytes, parameterEdit(new Set(fixes), body.json));
              logFields.translated = fixes.join(',');
            }
          }
          return { body: bytes };
        },
        relay: (backend) => ({ streamCompat: config.streamCompat && options.streamCompat === true, dropUsageChunk: addsUsage(backend) }),
      });
    let { response, backend: answered } = await call();
    for (let retry = 0; translating && response.status === 400 && retry < MAX_PARAMETER_RETRIES; retry++) {
      // Azure's error, already in OpenAI's shape (relayAzureResponse) and cut to the size it reads: read whole.
      const error = (await readAzureJson(response, MAX_ERROR_BODY_BYTES, "Azure's error")) as OpenAIErrorBody;
      const param = refusedParameter(response.status, error);
      if (param === undefined || refused.includes(param) || body.json[param] === undefined) {
        return jsonResponse(response.status, error, response.headers);
      }
      // Nothing has reached the client: the request goes again with the field fixed, and later ones to the
      // deployment that refused it (this resource's: a pool's resources may name theirs alike) are fixed before
      // their first call.
      refused.push(param);
      refusedParameters.add(backendKey(answered, config.azure.endpoint), param);
      logFields.parameter_retries = retry + 1;
      ({ response, backend: answered } = await call());
    }
    return response;
  };
}
