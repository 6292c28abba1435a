/**
 * Parameters Azure's reasoning deployments (o1, o3, o4-mini, gpt-5…) refuse, which chat UIs and SDK versions still
 * send: `max_tokens` (they take `max_completion_tokens`), and sampling parameters they do not take (`temperature` and
 * `top_p` other than their default 1, `presence_penalty`, `frequency_penalty`, `logprobs`, `top_logprobs`,
 * `logit_bias`). Azure answers 400 with `code` `unsupported_parameter` or `unsupported_value` and the parameter in
 * `param`, one at a time; the proxy then fixes that field and sends again, before anything reached the client.
 */
import type { OpenAIErrorBody } from '../errors/catalogue';

/** How each parameter is fixed: renamed to what reasoning models take, or dropped (the model's default applies). */
const FIXES: ReadonlyMap<string, 'max_completion_tokens' | null> = new Map([
  ['max_tokens', 'max_completion_tokens'],
  ['temperature', null],
  ['top_p', null],
  ['presence_penalty', null],
  ['frequency_penalty', null],
  ['logprobs', null],
  ['top_logprobs', null],
  ['logit_bias', null],
]);

/** Parameters fixed before the first call where the model is known to reason: every reasoning model refuses these. */
const KNOWN_REFUSED: ReadonlySet<string> = new Set(['max_tokens']);

const NONE: ReadonlySet<string> = new Set();

/** Whether a model name (OpenAI's or Azure's, dated or not) is a reasoning model's: o1, o3, o4-mini, gpt-5 (not gpt-5-chat). */
export function isReasoningModel(model: string): boolean {
  return /^(o\d|gpt-5(?!-chat)|codex-mini)/.test(model);
}

/** What every reasoning model refuses, for a model known to reason; nothing otherwise. */
export function knownRefused(model: string | undefined): ReadonlySet<string> {
  return model !== undefined && isReasoningModel(model) ? KNOWN_REFUSED : NONE;
}

/** The parameter Azure's error names as refused, when it is one the proxy knows how to fix. */
export function refusedParameter(status: number, body: OpenAIErrorBody): string | undefined {
  if (status !== 400) return undefined;
  const { code, param } = body.error;
  if (code !== 'unsupported_parameter' && code !== 'unsupported_value') return undefined;
  return param !== null && FIXES.has(param) ? param : undefined;
}

/**
 * The key's new name for a body whose `params` are to be fixed (`null`: dropped; `undefined`: kept). `max_tokens`
 * is renamed, unless the body has `max_completion_tokens` too, which then wins and `max_tokens` goes.
 */
export function parameterEdit(params: ReadonlySet<string>, body: Readonly<Record<string, unknown>>): (key: string) => string | null | undefined {
  return (key) => {
    if (!params.has(key)) return undefined;
    const fix = FIXES.get(key);
    if (fix === undefined) return undefined;
    if (fix !== null && body[fix] !== undefined) return null;
    return fix;
  };
}

/**
 * The parameters each deployment refused, learned from Azure's answers, so that later requests to it are fixed
 * before their first call instead of costing a round trip each. Per deployment (name and endpoint), bounded.
 */
export class RefusedParameters {
  readonly #byDeployment = new Map<string, Set<string>>();

  /** No deployment refused anything yet (the usual case: no request need look further). */
  get isEmpty(): boolean {
    return this.#byDeployment.size === 0;
  }

  get(deployment: string): ReadonlySet<string> {
    return this.#byDeployment.get(deployment) ?? NONE;
  }

  add(deployment: string, param: string): void {
    let refused = this.#byDeployment.get(deployment);
    if (refused === undefined) {
      // Deployments come from the configuration and discovery, so few; bounded anyway.
      if (this.#byDeployment.size >= 1000) this.#byDeployment.clear();
      this.#byDeployment.set(deployment, (refused = new Set()));
    }
    refused.add(param);
  }
}
