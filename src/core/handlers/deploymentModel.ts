/** The deployment a request's model maps to, for this caller, or the 404/403 a client understands. */
import { assertModelAllowed, type Caller } from '../auth/clientKeys';
import type { RequestContext } from '../context';
import { proxyError } from '../errors/catalogue';
import { describeDeployment } from '../discovery/deployments';
import type { DeploymentResolution, ModelMap } from '../config/modelMap';

/**
 * Several discovered deployments run the model (two versions of gpt-4o, say): the proxy does not pick one for
 * the caller, who names a deployment or its version, or has the model mapped.
 */
export function assertUnambiguous(modelMap: ModelMap, model: string): void {
  const running = modelMap.deploymentsRunning(model);
  if (running.length < 2) return;
  const named = running.map(describeDeployment).join(', ');
  throw proxyError(
    'model_not_found',
    `The model '${model}' runs on ${running.length} deployments of this resource: ${named}. Name one of them as the model, ` +
      'or map the model to one (or to a pool of them) in AZURE_OPENAI_MODEL_MAPPER.',
    { param: 'model' },
  );
}

export function deploymentFor(context: RequestContext, model: string, caller: Caller): DeploymentResolution {
  const { config, limiter } = context.services;
  assertModelAllowed(caller, model);
  // The model's own limits, when the key has some for it.
  const { quota } = context;
  if (quota.account !== undefined) limiter.admitModel(quota.account, model);
  const { modelMap } = config.azure;
  const resolution = modelMap.resolve(model);
  if (resolution?.source === 'renamed' || resolution?.source === 'unchanged') assertUnambiguous(modelMap, model);
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
