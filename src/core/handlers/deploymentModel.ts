/** The deployment a request's model maps to, or the 404 a client understands when there is none. */
import type { ProxyConfig } from '../config';
import { ProxyError } from '../errors';

export function deploymentFor(config: ProxyConfig, model: string): string {
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
  return resolution.deployment;
}
