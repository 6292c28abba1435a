/** POST /v1/images/generations: images from the deployment the body's model maps to. */
import { functionsProxy } from '../hosting/functionsApp';
import { registerRouteFunction } from '../hosting/azureFunctions';

registerRouteFunction('imageGenerations', functionsProxy);
