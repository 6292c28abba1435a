/**
 * What an emulated operation answers, written by one place in the server: JSON, text, binary (sent in chunks),
 * or server-sent events (sent one by one, with the configured delay, stopping when the client goes away).
 */
import type { JsonObject } from './content';

export interface SseEvent {
  /** The `event:` name (the Responses and Assistants APIs name their events; chat streams do not). */
  event?: string;
  /** A JSON object, or a raw string such as `[DONE]`. */
  data: JsonObject | string;
}

export type Reply =
  | { kind: 'json'; status?: number; body: unknown; headers?: Record<string, string> }
  | { kind: 'text'; status?: number; body: string; contentType: string }
  | { kind: 'bytes'; status?: number; body: Uint8Array; contentType: string }
  | { kind: 'events'; events: readonly SseEvent[]; done?: string };

export const json = (body: unknown, status = 200): Reply => ({ kind: 'json', status, body });

export class EmulatorHttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: JsonObject,
    readonly headers: Record<string, string> = {},
  ) {
    super(`HTTP ${status}`);
  }
}

export function azureError(status: number, code: string, message: string, extra: JsonObject = {}): EmulatorHttpError {
  return new EmulatorHttpError(status, { error: { code, message, ...extra } });
}

/** The validation errors Azure passes on from the model service are in OpenAI's own shape. */
export function validationError(message: string, param: string | null = null): EmulatorHttpError {
  return new EmulatorHttpError(400, { error: { message, type: 'invalid_request_error', param, code: null } });
}

export const resourceNotFound = (): EmulatorHttpError => azureError(404, '404', 'Resource not found');

export function notFound(what: string, id: string): EmulatorHttpError {
  return new EmulatorHttpError(404, {
    error: { message: `No ${what} found with id '${id}'.`, type: 'invalid_request_error', param: null, code: null },
  });
}

export const deploymentNotFound = (): EmulatorHttpError =>
  azureError(
    404,
    'DeploymentNotFound',
    'The API deployment for this resource does not exist. If you created the deployment within the last 5 minutes, please wait a moment and try again.',
  );
