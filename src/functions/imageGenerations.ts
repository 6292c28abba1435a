/** POST /v1/images/generations: images from the deployment the body's model maps to. */
import { functionsProxy } from '../hosting/functions/functionsApp';
import { registerRouteFunction } from '../hosting/functions/azureFunctions';

registerRouteFunction('imageGenerations', functionsProxy);
