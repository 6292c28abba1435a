/** POST /v1/completions: the legacy text completions of the mapped deployment. */
import { functionsProxy } from '../hosting/functionsApp';
import { registerRouteFunction } from '../hosting/azureFunctions';

registerRouteFunction('completions', functionsProxy);
