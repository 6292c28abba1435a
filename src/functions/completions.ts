/** POST /v1/completions: the legacy text completions of the mapped deployment. */
import { functionsProxy } from '../hosting/functions/functionsApp';
import { registerRouteFunction } from '../hosting/functions/azureFunctions';

registerRouteFunction('completions', functionsProxy);
