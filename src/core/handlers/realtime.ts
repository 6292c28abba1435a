/**
 * `POST /v1/realtime/client_secrets`: the Realtime API the serverless way. HTTP functions cannot hold a WebSocket,
 * but a browser's WebRTC session needs only this one call from a server: the proxy asks Azure for a short-lived
 * client secret for the session (`POST {endpoint}/openai/v1/realtime/client_secrets`, Azure's GA Realtime API) with
 * its own credential (the held key or the managed identity), after its client checks (the key, the model allowed,
 * the key's limits) and with `session.model` mapped to the deployment. The browser then sends its SDP offer to
 * Azure directly, to the URL the answer's `x-proxy-realtime-calls-url` header gives, with the secret as its bearer.
 * The session's audio and tokens then flow between the browser and Azure: the proxy does not see them.
 */
import { callerOf } from '../auth/caller';
import { relayAzureResponse } from '../azure/azureResponse';
import type { RouteHandler } from '../context';
import { proxyError } from '../errors/catalogue';
import { isRecord } from '../http/isRecord';
import { readJsonBody, requireModel } from '../http/requestBody';
import { primaryBackend } from '../config/modelMap';
import { backendLabel } from '../pool/balancer';
import { azureRequestHeaders, isRelayedResponseHeader } from '../upstream/upstream';
import { deploymentFor } from './deploymentModel';

/** The response header that tells the browser where to send its SDP offer (`?webrtcfilter=on`: Azure's browser filter). */
export const REALTIME_CALLS_URL_HEADER = 'x-proxy-realtime-calls-url';

export const realtimeClientSecret: RouteHandler = async (context) => {
  const { request, services, logFields } = context;
  const { config, credentials, upstream } = services;
  const caller = callerOf(context);
  const body = await readJsonBody(request, config.maxBodyBytes);
  const { session } = body.json;
  if (!isRecord(session)) throw proxyError('missing_required_parameter', 'You must provide a session with its model (session.model).', { param: 'session.model' });
  const model = requireModel(session);
  const resolution = deploymentFor(context, model, caller);
  logFields.model = model;
  // One deployment names the session: a client secret is for one resource, where the browser then connects.
  const backend = primaryBackend(resolution);
  const endpoint = backend.endpoint ?? config.azure.endpoint;
  logFields.backend = backendLabel(backend, config.azure.endpoint);
  logFields.deployment = backend.deployment;
  const sent = Buffer.from(JSON.stringify({ ...body.json, session: { ...session, model: backend.deployment } }), 'utf8');
  const auth = await credentials.headers(config, caller, backend);
  const response = await upstream({
    url: `${endpoint}/openai/v1/realtime/client_secrets`,
    method: 'POST',
    headers: azureRequestHeaders(request.headers, auth),
    body: sent,
    signal: request.signal,
    keepResponseHeader: isRelayedResponseHeader,
  });
  const relayed = await relayAzureResponse(response, { streamCompat: false });
  if (relayed.status < 300) relayed.headers.set(REALTIME_CALLS_URL_HEADER, `${endpoint}/openai/v1/realtime/calls?webrtcfilter=on`);
  return relayed;
};
