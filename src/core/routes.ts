/**
 * The route table: the single source of truth for what the proxy serves. The Azure Functions register one
 * function per entry of FUNCTION_ROUTES from it, the catch-all function dispatches through it (the Functions
 * host may hand the catch-all a request meant for another function), and the local host serves from it.
 */
import type { RouteHandler } from './context';
import { deploymentOperation } from './handlers/azureDeployment';
import { billingCreditGrants, billingSubscription, billingUsage } from './handlers/billingMock';
import { listModels, retrieveModel } from './handlers/models';
import type { RouteTemplate } from './router';

export interface RouteDefinition extends RouteTemplate {
  /** The Azure Functions function that serves this route on its own, or 'catchAll' for mocked routes. */
  functionName: string;
  handle: RouteHandler;
  /** Answered by the proxy itself rather than by Azure OpenAI. */
  mocked?: true;
}

/** Routes with a function of their own (one file each in src/functions). */
export const FUNCTION_ROUTES = [
  { functionName: 'chatCompletions', methods: ['POST'], path: '/chat/completions', handle: deploymentOperation('chat/completions') },
  { functionName: 'completions', methods: ['POST'], path: '/completions', handle: deploymentOperation('completions') },
  { functionName: 'embeddings', methods: ['POST'], path: '/embeddings', handle: deploymentOperation('embeddings') },
  { functionName: 'listModels', methods: ['GET'], path: '/models', handle: listModels },
  { functionName: 'retrieveModel', methods: ['GET'], path: '/models/{model}', handle: retrieveModel },
] as const satisfies readonly RouteDefinition[];

/** Routes the catch-all function answers with mocks (the billing endpoints ChatGPT-style web UIs call). */
export const MOCK_ROUTES = [
  { functionName: 'catchAll', methods: ['GET'], path: '/dashboard/billing/subscription', handle: billingSubscription, mocked: true },
  { functionName: 'catchAll', methods: ['GET'], path: '/dashboard/billing/usage', handle: billingUsage, mocked: true },
  { functionName: 'catchAll', methods: ['GET'], path: '/dashboard/billing/credit_grants', handle: billingCreditGrants, mocked: true },
] as const satisfies readonly RouteDefinition[];

export const ROUTE_TABLE: readonly RouteDefinition[] = [...FUNCTION_ROUTES, ...MOCK_ROUTES];

export type FunctionRouteName = (typeof FUNCTION_ROUTES)[number]['functionName'];

export const CATCH_ALL_FUNCTION = 'catchAll';

/** The Azure Functions route template of a route: `v1/models/{model}` (host.json sets routePrefix to ""). */
export function functionsRouteTemplate(route: RouteTemplate): string {
  return `v1${route.path}`;
}

export function functionRoute(name: FunctionRouteName): RouteDefinition {
  const route = FUNCTION_ROUTES.find((candidate) => candidate.functionName === name);
  if (route === undefined) throw new Error(`No route for function ${name}`);
  return route;
}
