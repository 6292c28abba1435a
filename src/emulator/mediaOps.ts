/** The emulator's image and audio operations, answering as Azure's DALL-E / gpt-image, Whisper and TTS do. */
import { contentFilterResults, countTokens, promptFilterResults, type JsonObject } from './content';
import { checkContentFilter, type InferenceSettings, type ModelDeployment } from './inference';
import { colourFor, readWav, silentMp3, solidPng, tone } from './media';
import { json, validationError, type Reply } from './reply';

/** Images generated with `response_format: "url"` are kept here and served like a blob's SAS URL. */
export type ImageStore = Map<string, Buffer>;

const SIZES = new Set(['256x256', '512x512', '1024x1024', '1792x1024', '1024x1792', '1536x1024', '1024x1536', 'auto']);

function imageSize(size: unknown): [number, number] {
  if (size === undefined || size === null || size === 'auto') return [1024, 1024];
  if (typeof size !== 'string' || !SIZES.has(size)) throw validationError(`'${JSON.stringify(size)}' is not a supported size.`, 'size');
  const [w, h] = size.split('x').map(Number);
  return [w ?? 1024, h ?? 1024];
}

function images(
  deployment: ModelDeployment,
  prompt: string,
  options: { n: unknown; size: unknown; responseFormat: unknown },
  store: ImageStore,
  baseUrl: string,
): Reply {
  const [width, height] = imageSize(options.size);
  const count = typeof options.n === 'number' ? options.n : 1;
  if (count < 1 || count > 10) throw validationError('n must be between 1 and 10.', 'n');
  // gpt-image models answer in base64 only; DALL-E answers with URLs unless asked for base64.
  const base64 = options.responseFormat === 'b64_json' || deployment.model.startsWith('gpt-image');
  const data = Array.from({ length: count }, (_, index) => {
    // Generated at a reduced size: the colour says which prompt it was for, the header the requested size.
    const png = solidPng(Math.min(width, 64), Math.min(height, 64), colourFor(`${prompt}#${index}`));
    const item: JsonObject = { revised_prompt: prompt, content_filter_results: contentFilterResults(), prompt_filter_results: promptFilterResults()[0] };
    if (base64) return { b64_json: png.toString('base64'), ...item };
    const id = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
    store.set(id, png);
    return { url: `${baseUrl}/emulator-blobs/images/${id}.png`, ...item };
  });
  return json({ created: Math.floor(Date.now() / 1000), data });
}

export function imageGenerations(deployment: ModelDeployment, body: JsonObject, settings: InferenceSettings, store: ImageStore, baseUrl: string): Reply {
  if (typeof body.prompt !== 'string' || body.prompt === '') throw validationError("'prompt' is a required property", 'prompt');
  checkContentFilter(body.prompt, settings);
  return images(deployment, body.prompt, { n: body.n, size: body.size, responseFormat: body.response_format }, store, baseUrl);
}

export function imageEdits(deployment: ModelDeployment, form: FormData, settings: InferenceSettings, store: ImageStore, baseUrl: string): Reply {
  const prompt = form.get('prompt');
  if (typeof prompt !== 'string' || prompt === '') throw validationError("'prompt' is a required property", 'prompt');
  const image = form.get('image') ?? form.get('image[]');
  if (image === null || typeof image === 'string') throw validationError("'image' is a required file", 'image');
  checkContentFilter(prompt, settings);
  return images(deployment, prompt, { n: numberField(form, 'n'), size: form.get('size') ?? undefined, responseFormat: form.get('response_format') }, store, baseUrl);
}

function numberField(form: FormData, name: string): number | undefined {
  const value = form.get(name);
  return typeof value === 'string' && value !== '' ? Number(value) : undefined;
}

function timestamp(seconds: number, separator: string): string {
  const ms = Math.round(seconds * 1000);
  const pad = (n: number, width = 2): string => String(n).padStart(width, '0');
  return `${pad(Math.floor(ms / 3_600_000))}:${pad(Math.floor(ms / 60_000) % 60)}:${pad(Math.floor(ms / 1000) % 60)}${separator}${pad(ms % 1000, 3)}`;
}

/** Whisper: what the emulator "hears" is a description of the file, so tests can see what arrived. */
export async function transcribe(deployment: ModelDeployment, form: FormData, task: 'transcribe' | 'translate'): Promise<Reply> {
  const file = form.get('file');
  if (file === null || typeof file === 'string') throw validationError("'file' is a required property", 'file');
  const bytes = Buffer.from(await file.arrayBuffer());
  const wav = readWav(bytes);
  const duration = wav?.durationSeconds ?? 0;
  const described = wav === undefined ? `${bytes.length} bytes of audio` : `${duration.toFixed(2)} seconds of ${wav.sampleRate} Hz audio`;
  const text = `Emulated ${task === 'transcribe' ? 'transcription' : 'translation'} by ${deployment.name} of ${file.name}: ${described}.`;
  const format = form.get('response_format') ?? 'json';
  switch (format) {
    case 'json':
      return json({ text });
    case 'text':
      return { kind: 'text', body: text, contentType: 'text/plain; charset=utf-8' };
    case 'srt':
      return { kind: 'text', body: `1\n${timestamp(0, ',')} --> ${timestamp(duration, ',')}\n${text}\n\n`, contentType: 'text/plain; charset=utf-8' };
    case 'vtt':
      return { kind: 'text', body: `WEBVTT\n\n${timestamp(0, '.')} --> ${timestamp(duration, '.')}\n${text}\n\n`, contentType: 'text/plain; charset=utf-8' };
    case 'verbose_json':
      return json({
        task,
        language: task === 'translate' ? 'english' : (form.get('language') ?? 'english'),
        duration,
        text,
        segments: [{ id: 0, seek: 0, start: 0, end: duration, text, tokens: [], temperature: 0, avg_logprob: 0, compression_ratio: 1, no_speech_prob: 0 }],
      });
    default:
      throw validationError(`'${JSON.stringify(format)}' is not one of ['json', 'text', 'srt', 'verbose_json', 'vtt'] - 'response_format'`, 'response_format');
  }
}

const VOICES = new Set(['alloy', 'ash', 'ballad', 'coral', 'echo', 'fable', 'nova', 'onyx', 'sage', 'shimmer', 'verse']);

/** TTS: a tone as long as the text would take to say. The emulator encodes mp3 (silent frames), wav and pcm. */
export function speech(body: JsonObject): Reply {
  if (typeof body.input !== 'string' || body.input === '') throw validationError("'input' is a required property", 'input');
  if (typeof body.voice !== 'string' || !VOICES.has(body.voice)) throw validationError(`'${String(body.voice)}' is not a supported voice.`, 'voice');
  const seconds = Math.min(60, 0.35 * Math.max(1, countTokens(body.input)));
  switch (body.response_format ?? 'mp3') {
    case 'mp3':
      return { kind: 'bytes', body: silentMp3(seconds), contentType: 'audio/mpeg' };
    case 'wav':
      return { kind: 'bytes', body: tone(seconds), contentType: 'audio/wav' };
    case 'pcm':
      return { kind: 'bytes', body: tone(seconds, 24_000, false), contentType: 'audio/pcm' };
    default:
      throw validationError('The emulator produces mp3, wav and pcm audio only.', 'response_format');
  }
}
