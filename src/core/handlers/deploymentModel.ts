/** The deployment a request's model maps to, for this caller, or the 404/403 a client understands. */
import { assertModelAllowed, type Caller } from '../auth/clientKeys';
import type { ProxyConfig } from '../config/config';
import { proxyError } from '../errors/catalogue';
import type { DeploymentResolution } from '../config/modelMap';

export function deploymentFor(config: ProxyConfig, model: string, caller: Caller): DeploymentResolution {
  assertModelAllowed(caller, model);
  const resolution = config.azure.modelMap.resolve(model);
  if (resolution === undefined) {
    throw proxyError(
      'model_not_found',
      `The model '${model}' is not mapped to an Azure OpenAI deployment, and it cannot be a deployment name ` +
        'itself. Add it to AZURE_OPENAI_MODEL_MAPPER as model=deployment.',
      { param: 'model' },
    );
  }
  return resolution;
}
