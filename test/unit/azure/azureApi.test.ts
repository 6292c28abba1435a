import { deploymentTarget, fillPath, resourceUrl } from '../../../src/core/azure/azureApi';
import { loadConfig } from '../../../src/core/config/config';

const ENDPOINT = 'https://res.openai.azure.com';
const backend = (deployment: string) => ({ deployment, priority: 1, weight: 1 });
const azure = (env: Record<string, string> = {}) => loadConfig({ AZURE_OPENAI_ENDPOINT: ENDPOINT, ...env }).azure;

describe('deploymentTarget', () => {
  it('puts the deployment and the family api-version in a dated URL', () => {
    expect(deploymentTarget(azure(), 'inference', 'chat/completions', backend('gpt-4.1'))).toEqual({
      url: `${ENDPOINT}/openai/deployments/gpt-4.1/chat/completions?api-version=2024-10-21`,
    });
    expect(deploymentTarget(azure(), 'audio', 'audio/speech', backend('tts')).url).toBe(`${ENDPOINT}/openai/deployments/tts/audio/speech?api-version=2025-04-01-preview`);
  });

  it('uses OpenAI paths in the v1 shape, with the deployment for the body', () => {
    expect(deploymentTarget(azure({ AZURE_OPENAI_API_VERSION: 'v1' }), 'inference', 'embeddings', backend('emb'))).toEqual({ url: `${ENDPOINT}/openai/v1/embeddings`, bodyModel: 'emb' });
    expect(deploymentTarget(azure({ AZURE_OPENAI_API_VERSION: 'preview' }), 'audio', 'audio/speech', backend('tts')).url).toBe(`${ENDPOINT}/openai/v1/audio/speech?api-version=preview`);
  });
  it("sends a model with its own endpoint and api-version there", () => {
    const target = { ...backend('gpt-4o'), endpoint: 'https://other.openai.azure.com', apiVersion: '2025-03-01-preview' };
    expect(deploymentTarget(azure(), 'inference', 'chat/completions', target).url).toBe(
      'https://other.openai.azure.com/openai/deployments/gpt-4o/chat/completions?api-version=2025-03-01-preview',
    );
  });
});

describe('resourceUrl', () => {
  it('keeps the client query and replaces its api-version', () => {
    const search = new URLSearchParams('limit=2&after=file-1&api-version=2099-01-01');
    expect(resourceUrl(azure(), 'files', '/files', search)).toBe(`${ENDPOINT}/openai/files?limit=2&after=file-1&api-version=2024-10-21`);
    expect(resourceUrl(azure({ AZURE_OPENAI_API_VERSION: 'v1' }), 'files', '/files', search)).toBe(`${ENDPOINT}/openai/v1/files?limit=2&after=file-1`);
  });
});

describe('fillPath', () => {
  it('encodes parameters so they cannot add path segments', () => {
    expect(fillPath('/files/{file_id}/content', { file_id: '../deployments/x' })).toBe('/files/..%2Fdeployments%2Fx/content');
  });
});
