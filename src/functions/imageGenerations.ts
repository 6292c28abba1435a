/** POST /v1/images/generations: images from the deployment the body's model maps to. */
import { registerRoute } from '../hosting/functions/functionsApp';

registerRoute('imageGenerations');
