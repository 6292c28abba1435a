/**
 * `GET /v1/models` and `GET /v1/models/{model}`, answered from the model map in OpenAI's list shape: the mapped
 * models, then the discovered deployments (AZURE_OPENAI_RESOURCE_ID) not behind one of them. Azure's own model
 * list names models, not deployments, so it cannot tell a client which ids this proxy accepts; with
 * AZURE_OPENAI_MODELS_FROM_AZURE it is added after them (fine-tuned models included).
 */
import { assertModelAllowed } from '../auth/clientKeys';
import { resourceUrl } from '../azure/azureApi';
import type { RouteHandler } from '../context';
import { jsonResponse, proxyError } from '../errors/catalogue';
import { isRecord } from '../http/isRecord';
import { primaryBackend, type ModelMap } from '../config/modelMap';
import { azureRequestHeaders } from '../upstream/upstream';
import { readAzureJson, relayAzureResponse } from '../azure/azureResponse';
import { callerOf } from '../auth/caller';
import { assertUnambiguous } from './deploymentModel';

export interface OpenAIModelObject {
  id: string;
  object: 'model';
  created: number;
  owned_by: string;
}

export interface ModelObject extends OpenAIModelObject {
  /** Not in OpenAI's shape: the Azure deployment that serves the model, to make mapping mistakes visible. */
  deployment: string;
}

/** Mapped models have no creation date of their own; a fixed one keeps answers stable across instances. */
const CREATED = 1_677_610_602;

function modelObject(id: string, deployment: string, ownedBy = 'azure-openai'): ModelObject {
  return { id, object: 'model', created: CREATED, owned_by: ownedBy, deployment };
}

/**
 * The ids a client may send, one per deployment: a mapped model's name; a discovered deployment's model name when
 * that name reaches it (it is the one deployment running that model), else the deployment's own name.
 */
export function listModelObjects(modelMap: ModelMap): ModelObject[] {
  const objects = [...modelMap.targets].map(([id, target]) => modelObject(id, primaryBackend(target).deployment));
  const listed = new Set(objects.map((model) => model.id));
  const behindMapped = new Set([...modelMap.targets.values()].flatMap((target) => target.backends.filter((b) => b.endpoint === undefined).map((b) => b.deployment)));
  for (const deployment of modelMap.discovered) {
    if (behindMapped.has(deployment.name)) continue;
    const byModel = modelMap.resolve(deployment.model);
    const reachedByModel = byModel?.source === 'discovered' && primaryBackend(byModel).deployment === deployment.name;
    const id = reachedByModel && !listed.has(deployment.model) ? deployment.model : deployment.name;
    if (listed.has(id)) continue;
    listed.add(id);
    objects.push(modelObject(id, deployment.name, deployment.format === 'OpenAI' ? 'azure-openai' : deployment.format.toLowerCase()));
  }
  return objects;
}

/** One entry of Azure's `GET /openai/models`: models (base and fine-tuned), not deployments. */
interface AzureModel {
  id?: unknown;
  created_at?: unknown;
  fine_tune?: unknown;
}

/** Azure's model list in OpenAI's shape; fine-tuned models are marked by who owns them. */
export function openAIModelsFromAzure(body: unknown): OpenAIModelObject[] {
  const data = isRecord(body) && Array.isArray(body.data) ? (body.data as AzureModel[]) : [];
  return data
    .filter((model): model is AzureModel & { id: string } => typeof model.id === 'string')
    .map((model) => ({
      id: model.id,
      object: 'model' as const,
      created: typeof model.created_at === 'number' ? model.created_at : CREATED,
      owned_by: typeof model.fine_tune === 'string' ? 'azure-openai-fine-tune' : 'azure-openai',
    }));
}

/** Azure's model list is read whole, to merge it: a few hundred KB at most; past this it is refused, not held. */
const MAX_MODEL_LIST_BYTES = 8 * 1024 * 1024;

export const listModels: RouteHandler = async (context) => {
  const { request, services } = context;
  const { config, credentials, upstream } = services;
  const caller = callerOf(context);
  // A key limited to some models sees only those.
  const allowed = (model: OpenAIModelObject): boolean => caller.models?.includes(model.id) ?? true;
  const mapped: OpenAIModelObject[] = listModelObjects(config.azure.modelMap).filter(allowed);
  if (!config.azure.modelsFromAzure) return jsonResponse(200, { object: 'list', data: mapped });

  // The map stays the source of the ids clients should use; the resource's own models are added after it.
  const response = await upstream({
    url: resourceUrl(config.azure, 'files', '/models', new URLSearchParams()),
    method: 'GET',
    headers: azureRequestHeaders(request.headers, await credentials.headers(config, caller)),
    signal: request.signal,
  });
  if (response.status < 200 || response.status > 299) return relayAzureResponse(response, { streamCompat: false });
  const listed = new Set(mapped.map((model) => model.id));
  const fromAzure = openAIModelsFromAzure(await readAzureJson(response, MAX_MODEL_LIST_BYTES, "Azure's model list")).filter((model) => !listed.has(model.id) && allowed(model));
  return jsonResponse(200, { object: 'list', data: [...mapped, ...fromAzure] });
};

export const retrieveModel: RouteHandler = async (context) => {
  const { params, services } = context;
  const caller = callerOf(context);
  const id = params.model ?? '';
  assertModelAllowed(caller, id);
  const { modelMap } = services.config.azure;
  const resolution = modelMap.resolve(id);
  if (resolution === undefined || resolution.source === 'unchanged') {
    assertUnambiguous(modelMap, id);
    throw proxyError('model_not_found', `The model '${id}' does not exist in this proxy's model map (AZURE_OPENAI_MODEL_MAPPER) or among the resource's discovered deployments.`, { param: 'model' });
  }
  return jsonResponse(200, modelObject(id, primaryBackend(resolution).deployment));
};
