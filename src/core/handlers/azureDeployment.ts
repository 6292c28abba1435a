/**
 * The deployment-scoped Azure OpenAI operations: the body's `model` picks the deployment, and the request goes
 * to `{endpoint}/openai/deployments/{deployment}/{operation}?api-version=V` with the body exactly as sent.
 */
import type { RouteHandler } from '../context';
import { ProxyError } from '../errors';
import { readJsonBody, requireModel } from '../requestBody';
import { azureRequestHeaders } from '../upstream';
import { relayAzureResponse } from './azureResponse';

export type DeploymentOperation = 'chat/completions' | 'completions' | 'embeddings';

export function deploymentUrl(endpoint: string, deployment: string, operation: string, apiVersion: string): string {
  return `${endpoint}/openai/deployments/${encodeURIComponent(deployment)}/${operation}?api-version=${encodeURIComponent(apiVersion)}`;
}

export function deploymentOperation(operation: DeploymentOperation): RouteHandler {
  return async ({ request, services, logFields }) => {
    const { config, authorizer, upstream } = services;
    // Credentials first: an unauthenticated caller gets nothing read and nothing sent.
    const credential = authorizer.authorize(request.headers);
    const body = await readJsonBody(request, config.maxBodyBytes);
    const model = requireModel(body.json);
    logFields.model = model;
    const resolution = config.azure.modelMap.resolve(model);
    if (resolution === undefined) {
      throw new ProxyError(404, {
        message:
          `The model '${model}' is not mapped to an Azure OpenAI deployment, and it cannot be a deployment name ` +
          'itself. Add it to AZURE_OPENAI_MODEL_MAPPER as model=deployment.',
        param: 'model',
        code: 'model_not_found',
      });
    }
    logFields.deployment = resolution.deployment;
    const response = await upstream({
      url: deploymentUrl(config.azure.endpoint, resolution.deployment, operation, config.azure.apiVersion),
      method: 'POST',
      headers: azureRequestHeaders(request.headers, credential.apiKey),
      body: body.bytes,
      signal: request.signal,
    });
    return relayAzureResponse(response, { streamCompat: config.streamCompat });
  };
}
