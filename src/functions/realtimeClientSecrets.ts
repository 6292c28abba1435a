/** POST /v1/realtime/client_secrets: a short-lived key for a browser's WebRTC Realtime session with Azure. */
import { registerRoute } from '../hosting/functions/functionsApp';

registerRoute('realtimeClientSecrets');
