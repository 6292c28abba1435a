// The Azure OpenAI proxy on Azure Functions (Flex Consumption), with its App Configuration store, monitoring, and
// the role assignments that let it work without any key: deploy with `azd up` (azure.yaml), or
//   az deployment group create -g <group> -f infra/main.bicep -p namePrefix=... openAIEndpoint=...
// then `node scripts/seedAppConfiguration.mjs <outputs.json>` and `npm run publish:azure -- <app>` (README).
// Raw resource declarations only (no registry modules), so it builds offline.
targetScope = 'resourceGroup'

@minLength(1)
@maxLength(20)
@description('A short prefix for resource names, such as the environment name.')
param namePrefix string

@description('Where the resources go (a region with the Flex Consumption plan).')
param location string = resourceGroup().location

@description('The main Azure OpenAI endpoint, https://<resource>.openai.azure.com.')
param openAIEndpoint string

@description('Resource ids of the Azure OpenAI accounts the app calls; its identity gets openAIRole on each. The first is openAIEndpoint\'s account.')
param openAIAccountIds array = []

@description('Find the first account\'s deployments in Resource Manager (AZURE_OPENAI_RESOURCE_ID), so GET /v1/models lists them and a model name reaches the one deployment running it. openAIRole grants the read: both roles include Microsoft.CognitiveServices/*/read.')
param discoverDeployments bool = true

@description('The app\'s role on those accounts. User covers inference (chat, embeddings, images, audio, responses, assistants); Contributor also covers uploading files, batches and fine-tuning (README, "Deploy to Azure").')
@allowed([
  'User'
  'Contributor'
])
param openAIRole string = 'User'

@description('The initial model map: model name to deployment name, or to a pool as JSON text (see README).')
param modelMap object = {}

@description('How the app authenticates to Azure OpenAI: its managed identity, or the caller\'s own key passed through.')
@allowed([
  'managed-identity'
  'passthrough'
])
param authMode string = 'managed-identity'

@description('Client keys the proxy accepts, as name to the key\'s SHA-256 in hex (hashes only, never keys).')
param clientKeyHashes object = {}

@description('Plain settings for the store, by key after the prefix, e.g. {"api-version": "2024-10-21"} (README, "Azure App Configuration").')
param storeSettings object = {}

@description('The Node.js major version the app runs on: the versions Flex Consumption supports, as package.json engines allows.')
@allowed([
  '22'
  '24'
])
param nodeVersion string = '24'

@description('Memory of each instance, in MB.')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

@description('Concurrent HTTP requests one instance takes before Flex Consumption adds another. The default, 80 per 2,048 MB, is what `npm run bench` measured one instance to hold at half its CPU with every request a 10 s stream of 500 chunks (README, "Sizing"); Flex\'s own default is 16 at 2,048 MB.')
@minValue(1)
@maxValue(1000)
param perInstanceConcurrency int = instanceMemoryMB * 80 / 2048

@description('The most instances Flex Consumption may run.')
@minValue(40)
@maxValue(1000)
param maximumInstanceCount int = 100

@description('How deployments and settings changes reach running instances. RollingUpdate (in preview) drains instances and lets streams in flight finish; Recreate restarts every instance at once, cutting them.')
@allowed([
  'RollingUpdate'
  'Recreate'
])
param siteUpdateStrategy string = 'RollingUpdate'

@description('Grant the deployer App Configuration Data Owner on the store, so the post-provision step can write the initial key-values and `az appconfig kv set --auth-mode login` works.')
param grantDeployerDataOwner bool = true

@description('The prefix of the proxy\'s keys in App Configuration.')
param appConfigKeyPrefix string = 'openai-proxy:'

@description('The App Configuration label to read, e.g. one per environment; empty for no label.')
param appConfigLabel string = ''

@description('More app settings, by name; they win over the template\'s own. Settings changed in the portal are replaced on each provision: put lasting ones here.')
param extraAppSettings object = {}

param tags object = {}

var token = toLower(uniqueString(resourceGroup().id, namePrefix, location))
var names = {
  functionApp: '${namePrefix}-proxy-${token}'
  plan: '${namePrefix}-plan-${token}'
  storage: 'st${token}'
  deploymentContainer: 'app-package'
  logAnalytics: '${namePrefix}-logs-${token}'
  appInsights: '${namePrefix}-ai-${token}'
  appConfig: '${namePrefix}-config-${token}'
  identity: '${namePrefix}-id-${token}'
}

// Created first, with every role it needs, before the site: the site starts, and the first package upload
// runs, with its roles already assigned. (A system-assigned identity exists only once the site does, so its
// roles are always assigned after it, and the first upload can fail with 403.)
resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2024-11-30' = {
  name: names.identity
  location: location
  tags: tags
}

module monitoring 'app/monitoring.bicep' = {
  name: 'monitoring-${token}'
  params: {
    logAnalyticsName: names.logAnalytics
    appInsightsName: names.appInsights
    location: location
    tags: tags
  }
}

module storage 'app/storage.bicep' = {
  name: 'storage-${token}'
  params: {
    name: names.storage
    containerName: names.deploymentContainer
    location: location
    tags: tags
  }
}

module appConfig 'app/appConfiguration.bicep' = {
  name: 'appConfiguration-${token}'
  params: {
    name: names.appConfig
    location: location
    tags: tags
    deployerPrincipalId: grantDeployerDataOwner ? deployer().objectId : ''
  }
}

module workbook 'app/workbook.bicep' = {
  name: 'workbook-${token}'
  params: {
    appInsightsName: monitoring.outputs.appInsightsName
    location: location
    tags: tags
    workbookId: guid(resourceGroup().id, namePrefix, 'workbook')
  }
}

module roles 'app/roles.bicep' = {
  name: 'roles-${token}'
  params: {
    principalId: identity.properties.principalId
    storageAccountName: storage.outputs.name
    appConfigName: appConfig.outputs.name
    appInsightsName: monitoring.outputs.appInsightsName
  }
}

// The app's role on each Azure OpenAI account, wherever its resource group is. The deployment name carries this
// environment's token: environments sharing an OpenAI resource group must not overwrite each other's.
module openAIRoles 'app/openAIRole.bicep' = [
  for (accountId, index) in filter(openAIAccountIds, id => !empty(id)): {
    name: 'openAIRole-${token}-${index}'
    scope: resourceGroup(split(accountId, '/')[2], split(accountId, '/')[4])
    params: {
      accountName: last(split(accountId, '/'))
      principalId: identity.properties.principalId
      role: openAIRole
    }
  }
]

module functionApp 'app/functionApp.bicep' = {
  name: 'functionApp-${token}'
  params: {
    name: names.functionApp
    planName: names.plan
    location: location
    tags: tags
    storageAccountName: storage.outputs.name
    deploymentContainerName: names.deploymentContainer
    appInsightsName: monitoring.outputs.appInsightsName
    nodeVersion: nodeVersion
    perInstanceConcurrency: perInstanceConcurrency
    instanceMemoryMB: instanceMemoryMB
    maximumInstanceCount: maximumInstanceCount
    siteUpdateStrategy: siteUpdateStrategy
    identityId: identity.id
    identityClientId: identity.properties.clientId
    // The settings the proxy reads (README, "Configuration"); keys and client keys are never among them.
    proxySettings: union(
      {
        AZURE_OPENAI_ENDPOINT: openAIEndpoint
        AZURE_OPENAI_AUTH: authMode
        // Empty (so unset) without an account id: the proxy then serves mapped models and deployment names.
        AZURE_OPENAI_RESOURCE_ID: discoverDeployments && !empty(filter(openAIAccountIds, id => !empty(id))) ? filter(openAIAccountIds, id => !empty(id))[0] : ''
        AZURE_APPCONFIG_ENDPOINT: appConfig.outputs.endpoint
        // Limits' counts shared by every instance, with the identity's Storage Table Data Contributor role.
        PROXY_USAGE_TABLE_ENDPOINT: storage.outputs.tableEndpoint
        AZURE_APPCONFIG_KEY_PREFIX: appConfigKeyPrefix
        AZURE_APPCONFIG_LABEL: appConfigLabel
        // Below Azure's 230 s front-end limit, so a slow upstream ends in the proxy's own 504, not a cut.
        PROXY_ATTEMPT_TIMEOUT_SECONDS: '180'
        PROXY_DEADLINE_SECONDS: '200'
      },
      extraAppSettings
    )
  }
  // Its identity's roles exist before it starts, or its first start and upload race them.
  dependsOn: [
    roles
    openAIRoles
  ]
}

// What the post-provision step writes to the store (scripts/seedAppConfiguration.mjs). Hashes and names only.
var seed = concat(
  map(items(modelMap), entry => { key: '${appConfigKeyPrefix}model-map/${entry.key}', value: string(entry.value), label: appConfigLabel }),
  map(items(clientKeyHashes), entry => { key: '${appConfigKeyPrefix}client-keys/${entry.key}', value: string(entry.value), label: appConfigLabel }),
  map(items(storeSettings), entry => { key: '${appConfigKeyPrefix}${entry.key}', value: string(entry.value), label: appConfigLabel })
)

output FUNCTION_APP_NAME string = functionApp.outputs.name
@description('The OpenAI base URL clients use.')
output FUNCTION_APP_URL string = '${functionApp.outputs.uri}/v1'
output IDENTITY_PRINCIPAL_ID string = identity.properties.principalId
output APP_CONFIGURATION_ENDPOINT string = appConfig.outputs.endpoint
output APP_CONFIGURATION_SEED array = seed
