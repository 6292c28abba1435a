import { replaceTopLevelModel, topLevelModelRanges } from '../../../src/core/http/jsonModel';

const rewrite = (text: string, model: string): string => Buffer.from(replaceTopLevelModel(Buffer.from(text), model)).toString();

describe('replaceTopLevelModel', () => {
  it('replaces only the value, keeping every other byte', () => {
    const text = '{\n  "input" : "hi \\"model\\": \\"x\\"",\n  "model":"gpt-4o" ,"n":1.50e1, "é": [ {"model": "inner"} ]}';
    expect(rewrite(text, 'prod-gpt4o')).toBe(text.replace('"model":"gpt-4o"', '"model":"prod-gpt4o"'));
  });

  it('leaves nested models and strings alone', () => {
    const text = '{"tools":[{"model":"a"}],"metadata":{"model":"b"},"note":"\\"model\\":\\"c\\"","model":"d"}';
    expect(topLevelModelRanges(Buffer.from(text))).toHaveLength(1);
    expect(JSON.parse(rewrite(text, 'e'))).toEqual({ tools: [{ model: 'a' }], metadata: { model: 'b' }, note: '"model":"c"', model: 'e' });
  });

  it('returns the very same bytes when the model already names the deployment', () => {
    const bytes = Buffer.from('{"model":"gpt-4.1", "x": true}');
    expect(replaceTopLevelModel(bytes, 'gpt-4.1')).toBe(bytes);
  });

  it('escapes the new value and replaces every duplicate key', () => {
    expect(rewrite('{"model":"a","model":"b"}', 'x"y')).toBe('{"model":"x\\"y","model":"x\\"y"}');
  });

  it('keeps bytes that are not UTF-8 as they came: only the value is replaced', () => {
    const body = Buffer.concat([Buffer.from('{"input":"a'), Buffer.from([0xff, 0xfe]), Buffer.from('b","model":"gpt-4o"}')]);
    const expected = Buffer.concat([Buffer.from('{"input":"a'), Buffer.from([0xff, 0xfe]), Buffer.from('b","model":"prod"}')]);
    expect(Buffer.from(replaceTopLevelModel(body, 'prod')).equals(expected)).toBe(true);
  });

  it('does nothing to a body without a top-level string model', () => {
    expect(rewrite('{"model":null,"input":"x"}', 'd')).toBe('{"model":null,"input":"x"}');
    expect(rewrite('[{"model":"a"}]', 'd')).toBe('[{"model":"a"}]');
  });
});
