/**
 * `GET /v1/models` and `GET /v1/models/{model}`, answered from the model map in OpenAI's list shape. Azure's
 * own model list names models, not deployments, so it cannot tell a client which ids this proxy accepts.
 */
import type { ModelMap } from '../modelMap';
import type { RouteHandler } from '../context';
import { jsonResponse, ProxyError } from '../errors';

export interface ModelObject {
  id: string;
  object: 'model';
  created: number;
  owned_by: string;
  /** Not in OpenAI's shape: the Azure deployment that serves the model, to make mapping mistakes visible. */
  deployment: string;
}

/** Mapped models have no creation date of their own; a fixed one keeps answers stable across instances. */
const CREATED = 1_677_610_602;

function modelObject(id: string, deployment: string): ModelObject {
  return { id, object: 'model', created: CREATED, owned_by: 'azure-openai', deployment };
}

export function listModelObjects(modelMap: ModelMap): ModelObject[] {
  return modelMap.models.map((id) => modelObject(id, modelMap.explicit(id) ?? id));
}

export const listModels: RouteHandler = async ({ request, services }) => {
  services.authorizer.check(request.headers);
  return jsonResponse(200, { object: 'list', data: listModelObjects(services.config.azure.modelMap) });
};

export const retrieveModel: RouteHandler = async ({ request, params, services }) => {
  services.authorizer.check(request.headers);
  const id = params.model ?? '';
  const resolution = services.config.azure.modelMap.resolve(id);
  if (resolution === undefined || resolution.source === 'unchanged') {
    throw new ProxyError(404, {
      message: `The model '${id}' does not exist in this proxy's model map (AZURE_OPENAI_MODEL_MAPPER).`,
      param: 'model',
      code: 'model_not_found',
    });
  }
  return jsonResponse(200, modelObject(id, resolution.deployment));
};
