/**
 * Deployment-scoped uploads (audio transcriptions and translations, image edits): multipart bodies whose `model`
 * field picks the deployment. The body streams through: only the bytes up to the end of the `model` field are
 * held (once) before the upstream call starts, since the URL needs the deployment; with the field first, that is
 * almost nothing, and with it after the file, the file is held once, never twice.
 */
import type { RouteHandler } from '../context';
import { proxyError, ProxyError } from '../errors/catalogue';
import { MalformedMultipartError, MultipartFieldFinder, multipartBoundary, type FoundField } from '../http/multipart';
import { bodyTooLarge } from '../http/requestBody';
import type { DeploymentOperationOptions } from './azureDeployment';
import { callDeployment } from '../pool/backendCall';
import { callerOf } from '../auth/caller';
import { deploymentFor } from './deploymentModel';

/** The held chunks with the field's value bytes replaced; `delta` is the change in length. */
function replaceField(held: readonly Uint8Array[], field: FoundField, value: string): { chunks: Uint8Array[]; delta: number } {
  const replacement = Buffer.from(value, 'utf8');
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const chunk of held) {
    const start = offset;
    const end = offset + chunk.byteLength;
    offset = end;
    if (end <= field.start || start >= field.end) {
      chunks.push(chunk);
      continue;
    }
    if (start < field.start) chunks.push(chunk.subarray(0, field.start - start));
    if (start <= field.start) chunks.push(replacement);
    if (end > field.end) chunks.push(chunk.subarray(field.end - start));
  }
  return { chunks, delta: replacement.byteLength - (field.end - field.start) };
}

export function deploymentMultipartOperation(options: DeploymentOperationOptions): RouteHandler {
  return async (context) => {
    const { request, services, logFields } = context;
    const { config } = services;
    const caller = callerOf(context);
    const boundary = multipartBoundary(request.headers.get('content-type'));
    if (boundary === undefined) {
      throw proxyError('unsupported_content_type', 'This endpoint takes a multipart/form-data body (a file and its fields), with a boundary.');
    }
    const limit = config.maxBodyBytes;
    const declared = Number(request.headers.get('content-length') ?? Number.NaN);
    if (declared > limit) throw bodyTooLarge(limit);
    if (request.body === null) throw missingModel();

    const reader = (request.body).getReader();
    const finder = new MultipartFieldFinder(boundary, 'model');
    const held: Uint8Array[] = [];
    let total = 0;
    let field: FoundField | undefined;
    try {
      while (field === undefined && !finder.done) {
        const { done, value } = await reader.read();
        if (done) break;
        total += value.byteLength;
        if (total > limit) throw bodyTooLarge(limit);
        held.push(value);
        field = finder.push(value);
      }
    } catch (error) {
      await reader.cancel().catch(() => undefined);
      if (error instanceof MalformedMultipartError) {
        throw proxyError('invalid_multipart', `The multipart body is malformed: ${error.message}.`);
      }
      throw error;
    }
    if (field === undefined) {
      await reader.cancel().catch(() => undefined);
      throw missingModel();
    }

    // A second `model` field, anywhere in the rest of the body, would leave Azure to pick one: the checked one
    // must be the only one. What was read ahead is looked at now; the rest as it streams (the upload is then cut).
    const others = new MultipartFieldFinder(boundary, 'model');
    let second = false;
    // The chunks held so far, from the end of the model's value on (no copy: a late model field means they hold
    // the whole upload).
    for (let i = 0, start = 0; i < held.length && !second; start += held[i]!.byteLength, i++) {
      const chunk = held[i]!;
      if (start + chunk.byteLength <= field.end) continue;
      second = anotherModel(others, start >= field.end ? chunk : chunk.subarray(field.end - start));
    }
    if (second) {
      await reader.cancel().catch(() => undefined);
      throw duplicateModel();
    }

    const model = field.value.trim();
    let resolution;
    try {
      resolution = deploymentFor(context, model, caller);
    } catch (error) {
      await reader.cancel().catch(() => undefined);
      throw error;
    }
    logFields.model = model;

    const found = field;
    let exceeded = false;
    /** The upload as it goes to `bodyModel`'s backend: the held bytes (model rewritten in v1), then the rest. */
    const bodyFor = (bodyModel: string | undefined): { body: ReadableStream<Uint8Array>; delta: number } => {
      let chunks = held;
      let delta = 0;
      if (bodyModel !== undefined) ({ chunks, delta } = replaceField(held, found, bodyModel));
      const body = new ReadableStream<Uint8Array>(
        {
          async pull(controller) {
            const next = chunks.shift();
            if (next !== undefined) {
              controller.enqueue(next);
              return;
            }
            const { done, value } = await reader.read();
            if (done) {
              controller.close();
              return;
            }
            total += value.byteLength;
            if (total > limit) {
              exceeded = true;
              await reader.cancel().catch(() => undefined);
              controller.error(bodyTooLarge(limit));
              return;
            }
            if (!second && anotherModel(others, value)) {
              second = true;
              await reader.cancel().catch(() => undefined);
              controller.error(duplicateModel());
              return;
            }
            controller.enqueue(value);
          },
          cancel: (reason) => reader.cancel(reason),
        },
        { highWaterMark: 0 },
      );
      return { body, delta };
    };
    try {
      // A streamed upload cannot be sent twice, so the pool gets one attempt (at the backend it chooses).
      const { response } = await callDeployment(context, {
        model,
        backends: resolution.backends,
        family: options.family,
        operation: options.operation,
        caller,
        replayable: false,
        body: (target) => {
          const { body, delta } = bodyFor(target.bodyModel);
          // Azure gets the length the client declared (adjusted for a rewritten model), not a chunked upload.
          return { body, ...(Number.isSafeInteger(declared) && { headers: { 'content-length': String(declared + delta) } }) };
        },
        relay: () => ({ streamCompat: false }),
      });
      return response;
    } catch (error) {
      await reader.cancel().catch(() => undefined);
      if (exceeded) throw bodyTooLarge(limit);
      if (second) throw duplicateModel();
      throw error;
    }
  };
}

/** Whether these bytes complete another `model` field; a body the finder cannot read is Azure's to judge. */
function anotherModel(finder: MultipartFieldFinder, bytes: Uint8Array): boolean {
  try {
    return finder.push(bytes) !== undefined;
  } catch (error) {
    if (error instanceof MalformedMultipartError) return false;
    throw error;
  }
}

function duplicateModel(): ProxyError {
  return proxyError('duplicate_parameter', 'The multipart body has more than one "model" field.', { param: 'model' });
}

function missingModel(): ProxyError {
  return proxyError('missing_required_parameter', 'You must provide a model parameter (a "model" field of the multipart body).', { param: 'model' });
}
