/**
 * Where a request goes on Azure: the one place that knows the two URL shapes.
 *  - dated: `{endpoint}/openai/deployments/{deployment}/{operation}?api-version=V` for deployment-scoped
 *    operations, `{endpoint}/openai/{path}?api-version=V` for resource-level ones;
 *  - v1: `{endpoint}/openai/v1/{path}` for both, the deployment named by the body's `model`, and api-version
 *    omitted for `v1` or sent as `preview`.
 */
import type { ApiFamily, ProxyConfig } from '../config/config';
import type { Backend } from '../config/modelMap';

type AzureSettings = ProxyConfig['azure'];

export interface DeploymentTarget {
  url: string;
  /** Set in the v1 shape: the body's `model` must be rewritten to this deployment name. */
  bodyModel?: string;
}

function query(search: URLSearchParams, apiVersion: string, shape: AzureSettings['apiShape']): string {
  const sendsVersion = shape === 'dated' || apiVersion !== 'v1';
  // The usual case, no query of the client's: no URLSearchParams to build.
  if (search.size === 0) return sendsVersion ? `?api-version=${encodeURIComponent(apiVersion)}` : '';
  const params = new URLSearchParams(search);
  // The proxy owns the api-version; a client's (meant for OpenAI or for another shape), however spelled, is replaced.
  for (const name of [...params.keys()]) if (name.toLowerCase() === 'api-version') params.delete(name);
  if (sendsVersion) params.set('api-version', apiVersion);
  const text = params.toString();
  return text === '' ? '' : `?${text}`;
}

const NO_QUERY = new URLSearchParams();

/**
 * A deployment-scoped call to one backend, which may name its own endpoint and api-version. These operations take
 * no query of the client's (Azure's take only the api-version, the proxy's): none is passed on. Resource-level
 * ones keep the client's (lists page with `limit`, `after`, `order`…), but for its api-version.
 */
export function deploymentTarget(azure: AzureSettings, family: ApiFamily, operation: string, target: Backend): DeploymentTarget {
  const apiVersion = target.apiVersion ?? azure.apiVersions[family];
  const endpoint = target.endpoint ?? azure.endpoint;
  if (azure.apiShape === 'v1') {
    return { url: `${endpoint}/openai/v1/${operation}${query(NO_QUERY, apiVersion, 'v1')}`, bodyModel: target.deployment };
  }
  return { url: `${endpoint}/openai/deployments/${encodeURIComponent(target.deployment)}/${operation}${query(NO_QUERY, apiVersion, 'dated')}` };
}

/** A resource-level path (`/files/{id}/content`) on Azure, with the client's query string kept. */
export function resourceUrl(azure: AzureSettings, family: ApiFamily, path: string, search: URLSearchParams): string {
  const base = azure.apiShape === 'v1' ? `${azure.endpoint}/openai/v1` : `${azure.endpoint}/openai`;
  return `${base}${path}${query(search, azure.apiVersions[family], azure.apiShape)}`;
}

/** Fills a route template's `{name}` segments with encoded values, so a parameter can never add a path segment. */
export function fillPath(template: string, params: Readonly<Record<string, string>>): string {
  return template.replace(/\{(\w+)\}/g, (_, name: string) => encodeURIComponent(params[name] ?? ''));
}
