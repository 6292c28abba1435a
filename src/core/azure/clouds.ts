/**
 * Azure's clouds as an Azure OpenAI endpoint names them. Azure Government (`*.openai.azure.us`,
 * `*.cognitiveservices.azure.us`) and Azure China (`*.openai.azure.cn`, `*.cognitiveservices.azure.cn`) have their
 * own token audience and Resource Manager; every other host is taken to be the public cloud's.
 */
export interface AzureCloud {
  name: 'AzureCloud' | 'AzureUSGovernment' | 'AzureChinaCloud';
  /** The Entra scope of a token for Azure OpenAI. */
  cognitiveServicesScope: string;
  /** Azure Resource Manager, where the account's deployments are listed. */
  resourceManagerEndpoint: string;
}

export const PUBLIC_CLOUD: AzureCloud = {
  name: 'AzureCloud',
  cognitiveServicesScope: 'https://cognitiveservices.azure.com/.default',
  resourceManagerEndpoint: 'https://management.azure.com',
};

const GOVERNMENT_CLOUD: AzureCloud = {
  name: 'AzureUSGovernment',
  cognitiveServicesScope: 'https://cognitiveservices.azure.us/.default',
  resourceManagerEndpoint: 'https://management.usgovcloudapi.net',
};

const CHINA_CLOUD: AzureCloud = {
  name: 'AzureChinaCloud',
  cognitiveServicesScope: 'https://cognitiveservices.azure.cn/.default',
  resourceManagerEndpoint: 'https://management.chinacloudapi.cn',
};

/** The cloud an endpoint is in, by its host name. */
export function cloudOf(endpoint: string): AzureCloud {
  let host: string;
  try {
    host = new URL(endpoint).hostname.toLowerCase();
  } catch {
    return PUBLIC_CLOUD;
  }
  if (host.endsWith('.azure.us')) return GOVERNMENT_CLOUD;
  if (host.endsWith('.azure.cn')) return CHINA_CLOUD;
  return PUBLIC_CLOUD;
}

/**
 * The Entra scope of a token for a Resource Manager endpoint: its origin with `/.default`, as Azure's management
 * SDKs ask for it (`https://management.azure.com/.default`, `https://management.usgovcloudapi.net/.default`).
 */
export function resourceManagerScope(endpoint: string): string {
  return `${new URL(endpoint).origin}/.default`;
}
