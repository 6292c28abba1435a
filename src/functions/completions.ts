/** POST /v1/completions: the legacy text completions of the mapped deployment. */
import { registerRoute } from '../hosting/functions/functionsApp';

registerRoute('completions');
