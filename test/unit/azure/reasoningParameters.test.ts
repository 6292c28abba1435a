import { editTopLevelKeys } from '../../../src/core/http/jsonModel';
import { isReasoningModel, knownRefused, parameterEdit, RefusedParameters, refusedParameter } from '../../../src/core/azure/reasoningParameters';

const text = (bytes: Uint8Array): string => Buffer.from(bytes).toString('utf8');
const error = (code: string | null, param: string | null) => ({ error: { message: 'm', type: 'invalid_request_error', param, code } });

describe('reasoning models and the parameters they refuse', () => {
  it('knows reasoning models by OpenAI and Azure names, dated or not, and not gpt-5-chat or gpt-4o', () => {
    for (const model of ['o1', 'o1-mini', 'o3-mini-2025-01-31', 'o4-mini', 'gpt-5', 'gpt-5-mini', 'codex-mini']) expect(isReasoningModel(model)).toBe(true);
    for (const model of ['gpt-4o', 'gpt-5-chat', 'gpt-35-turbo', 'omni', 'my-o3']) expect(isReasoningModel(model)).toBe(false);
    expect([...knownRefused('o4-mini')]).toEqual(['max_tokens']);
    expect(knownRefused('gpt-4o').size).toBe(0);
    expect(knownRefused(undefined).size).toBe(0);
  });

  it("reads the refused parameter from Azure's 400, only for codes and parameters it can fix", () => {
    expect(refusedParameter(400, error('unsupported_parameter', 'max_tokens'))).toBe('max_tokens');
    expect(refusedParameter(400, error('unsupported_value', 'temperature'))).toBe('temperature');
    expect(refusedParameter(400, error('unsupported_parameter', 'messages'))).toBeUndefined();
    expect(refusedParameter(400, error('invalid_value', 'temperature'))).toBeUndefined();
    expect(refusedParameter(400, error('unsupported_parameter', null))).toBeUndefined();
    expect(refusedParameter(429, error('unsupported_parameter', 'max_tokens'))).toBeUndefined();
  });

  it('renames max_tokens and drops the others, keeping every other byte of each value, and max_completion_tokens when both are sent', () => {
    const body = Buffer.from('{ "model" : "x", "max_tokens":5,"temperature":0.2, "seed": 9007199254740993, "messages":[{"role":"user","content":"a, \\"b\\"}"}] }');
    const json = JSON.parse(body.toString()) as Record<string, unknown>;
    expect(text(editTopLevelKeys(body, parameterEdit(new Set(['max_tokens', 'temperature']), json)))).toBe(
      '{"model":"x","max_completion_tokens":5,"seed":9007199254740993,"messages":[{"role":"user","content":"a, \\"b\\"}"}]}',
    );
    const both = Buffer.from('{"max_tokens":5,"max_completion_tokens":7}');
    expect(text(editTopLevelKeys(both, parameterEdit(new Set(['max_tokens']), JSON.parse(both.toString()) as Record<string, unknown>)))).toBe('{"max_completion_tokens":7}');
    // Nothing to change: the very same bytes.
    expect(editTopLevelKeys(body, parameterEdit(new Set(['logit_bias']), json))).toBe(body);
  });

  it('remembers what each deployment refused', () => {
    const refused = new RefusedParameters();
    expect(refused.isEmpty).toBe(true);
    refused.add('reasoner@https://r.openai.azure.com', 'temperature');
    expect(refused.isEmpty).toBe(false);
    expect([...refused.get('reasoner@https://r.openai.azure.com')]).toEqual(['temperature']);
    expect(refused.get('other@https://r.openai.azure.com').size).toBe(0);
  });
});
