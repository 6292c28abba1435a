import { ModelMap, ModelMapSyntaxError, parseModelMapper, RESOLVED_KEPT, singleBackend } from '../../../src/core/config/modelMap';

describe('parseModelMapper', () => {
  it('reads model=deployment pairs, ignoring blanks and empty entries', () => {
    const map = parseModelMapper(' gpt-4o = prod-gpt4o ,gpt-4=gpt4-32k,, ');
    expect(map.models).toEqual(['gpt-4o', 'gpt-4']);
    expect(map.explicit('gpt-4o')).toEqual(singleBackend('prod-gpt4o'));
    expect(map.explicit('gpt-4')).toEqual(singleBackend('gpt4-32k'));
  });

  it.each([
    ['gpt-4o', 'entry 1 "gpt-4o" is not of the form model=deployment'],
    ['a=b,c', 'entry 2 "c" is not of the form model=deployment'],
    ['a=b=c', 'entry 1 "a=b=c" is not of the form model=deployment'],
    ['=dep', 'entry 1 "=dep" has an empty model name'],
    ['gpt-4o=my/deployment', 'entry 1 "gpt-4o=my/deployment": deployment "my/deployment" is not a valid Azure deployment name'],
    ['gpt-4o=a,gpt-4o=b', 'entry 2 "gpt-4o=b" maps "gpt-4o" again'],
    ['gpt-4o=a?priority=first', 'entry 1 "gpt-4o=a?priority=first": priority must be a whole number from 0'],
    ['gpt-4o=a?weight=0', 'entry 1 "gpt-4o=a?weight=0": weight must be a whole number from 1 to 1000'],
    ['gpt-4o=a?region=eu', 'entry 1 "gpt-4o=a?region=eu": "region" is not a backend parameter'],
    ['gpt-4o=a?auth=magic', 'entry 1 "gpt-4o=a?auth=magic": auth "magic" must be passthrough, key or managed-identity'],
  ])('rejects %j naming the bad entry', (text, message) => {
    expect(() => parseModelMapper(text)).toThrow(ModelMapSyntaxError);
    expect(() => parseModelMapper(text)).toThrow(`AZURE_OPENAI_MODEL_MAPPER: ${message}`);
  });

  it('accepts the same mapping twice', () => {
    expect(parseModelMapper('a=b,a=b').explicit('a')).toEqual(singleBackend('b'));
  });
});

describe('the compact form of a pool', () => {
  it('reads backends joined by |, with endpoints and parameters', () => {
    const map = parseModelMapper(
      'gpt-4o=https://ptu.openai.azure.com/gpt-4o-ptu?priority=0|https://we.openai.azure.com/gpt-4o?weight=3&api-version=2024-06-01|gpt-4o?auth=key&key-setting=AZURE_OPENAI_KEY_NE',
    );
    expect(map.explicit('gpt-4o')?.backends).toEqual([
      { deployment: 'gpt-4o-ptu', endpoint: 'https://ptu.openai.azure.com', priority: 0, weight: 1 },
      { deployment: 'gpt-4o', endpoint: 'https://we.openai.azure.com', priority: 1, weight: 3, apiVersion: '2024-06-01' },
      { deployment: 'gpt-4o', priority: 1, weight: 1, auth: 'key', keySetting: 'AZURE_OPENAI_KEY_NE' },
    ]);
  });
});

describe('ModelMap.resolve', () => {
  const map = parseModelMapper('gpt-4o=prod-gpt4o,gpt-3.5-turbo=my-turbo');

  it('prefers an explicit entry, even over a built-in rename', () => {
    expect(map.resolve('gpt-4o')).toEqual({ ...singleBackend('prod-gpt4o'), source: 'mapped' });
    expect(map.resolve('gpt-3.5-turbo')).toEqual({ ...singleBackend('my-turbo'), source: 'mapped' });
  });

  it('renames the gpt-3.5-turbo family to Azure spelling', () => {
    expect(new ModelMap().resolve('gpt-3.5-turbo')).toEqual({ ...singleBackend('gpt-35-turbo'), source: 'renamed' });
    expect(map.resolve('gpt-3.5-turbo-0301')).toEqual({ ...singleBackend('gpt-35-turbo-0301'), source: 'renamed' });
    expect(map.resolve('gpt-3.5-turbo-instruct')).toEqual({ ...singleBackend('gpt-35-turbo-instruct'), source: 'renamed' });
  });

  it('checks a renamed name as any other: no path, control character or oversized name gets through', () => {
    for (const name of ['gpt-3.5-turbo/../../x', 'gpt-3.5-turbo\u001b[31m', 'gpt-3.5-turbo\r\nx-injected: 1', `gpt-3.5-turbo${'a'.repeat(2_000_000)}`, 'gpt-3.5-turbo?x=1']) {
      expect(map.resolve(name)).toBeUndefined();
    }
  });

  it('uses any other model name as the deployment, dots included', () => {
    expect(map.resolve('gpt-4.1')).toEqual({ ...singleBackend('gpt-4.1'), source: 'unchanged' });
    expect(map.resolve('my_deployment-2')).toEqual({ ...singleBackend('my_deployment-2'), source: 'unchanged' });
  });

  it('gives nothing for names that cannot be deployments, so they never reach a URL', () => {
    for (const name of ['ft:gpt-4o:org::abc', '../admin', 'a/b', 'a b', '', 'x'.repeat(65), '.hidden']) {
      expect(map.resolve(name)).toBeUndefined();
      expect(map.resolve(name)).toBeUndefined();
    }
  });

  it('resolves a model once per map (every request asks), and answers the same after any number of other names', () => {
    const fresh = parseModelMapper('gpt-4o=prod-gpt4o');
    const first = fresh.resolve('gpt-4o');
    expect(fresh.resolve('gpt-4o')).toBe(first);
    for (let n = 0; n < RESOLVED_KEPT * 2 + 3; n++) expect(fresh.resolve(`model-${n}`)).toEqual({ ...singleBackend(`model-${n}`), source: 'unchanged' });
    expect(fresh.resolve('gpt-4o')).toEqual(first);
    expect(fresh.resolve('gpt-3.5-turbo')).toEqual({ ...singleBackend('gpt-35-turbo'), source: 'renamed' });
    // A new map (a configuration change) answers from its own entries, not the old map's.
    expect(fresh.withOverrides(parseModelMapper('gpt-4o=other').targets).resolve('gpt-4o')).toEqual({ ...singleBackend('other'), source: 'mapped' });
  });
});
