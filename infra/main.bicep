// The Azure OpenAI proxy on Azure Functions (Flex Consumption), with its App Configuration store, monitoring, and
// the role assignments that let it work without any key: deploy with
//   az deployment group create -g <group> -f infra/main.bicep -p infra/main.parameters.json
// or `azd up` (azure.yaml). Raw resource declarations only (no registry modules), so it builds offline.
targetScope = 'resourceGroup'

@minLength(1)
@maxLength(20)
@description('A short prefix for resource names, such as the environment name.')
param namePrefix string

@description('Where the resources go (a region with the Flex Consumption plan).')
param location string = resourceGroup().location

@description('The main Azure OpenAI endpoint, https://<resource>.openai.azure.com.')
param openAIEndpoint string

@description('Resource ids of the Azure OpenAI accounts the app calls; its identity gets Cognitive Services OpenAI User on each.')
param openAIAccountIds array = []

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

@description('The Node.js version of the app.')
@allowed([
  '20'
  '22'
])
param nodeVersion string = '20'

@description('The app\'s managed identity: system-assigned, or a user-assigned one created here.')
@allowed([
  'SystemAssigned'
  'UserAssigned'
])
param identityType string = 'SystemAssigned'

@description('The object id of who deploys (azd passes it): allowed to write the store\'s key-values. Empty to skip seeding.')
param deployerPrincipalId string = ''

@description('The prefix of the proxy\'s keys in App Configuration.')
param appConfigKeyPrefix string = 'openai-proxy:'

@description('The App Configuration label to read, e.g. one per environment; empty for no label.')
param appConfigLabel string = ''

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
  userIdentity: '${namePrefix}-id-${token}'
}

resource userIdentity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = if (identityType == 'UserAssigned') {
  name: names.userIdentity
  location: location
  tags: tags
}

module monitoring 'app/monitoring.bicep' = {
  name: 'monitoring'
  params: {
    logAnalyticsName: names.logAnalytics
    appInsightsName: names.appInsights
    location: location
    tags: tags
  }
}

module storage 'app/storage.bicep' = {
  name: 'storage'
  params: {
    name: names.storage
    containerName: names.deploymentContainer
    location: location
    tags: tags
  }
}

module appConfig 'app/appConfiguration.bicep' = {
  name: 'appConfiguration'
  params: {
    name: names.appConfig
    location: location
    tags: tags
    keyPrefix: appConfigKeyPrefix
    label: appConfigLabel
    modelMap: modelMap
    clientKeyHashes: clientKeyHashes
    settings: storeSettings
    deployerPrincipalId: deployerPrincipalId
  }
}

module functionApp 'app/functionApp.bicep' = {
  name: 'functionApp'
  params: {
    name: names.functionApp
    planName: names.plan
    location: location
    tags: tags
    storageAccountName: storage.outputs.name
    deploymentContainerName: names.deploymentContainer
    appInsightsName: monitoring.outputs.appInsightsName
    nodeVersion: nodeVersion
    identityType: identityType
    userIdentityId: identityType == 'UserAssigned' ? userIdentity.id : ''
    userIdentityClientId: identityType == 'UserAssigned' ? userIdentity!.properties.clientId : ''
    // The settings the proxy reads (README, "Configuration"); keys and client keys are never among them.
    appSettings: {
      AZURE_OPENAI_ENDPOINT: openAIEndpoint
      AZURE_OPENAI_AUTH: authMode
      AZURE_APPCONFIG_ENDPOINT: appConfig.outputs.endpoint
      AZURE_APPCONFIG_KEY_PREFIX: appConfigKeyPrefix
      AZURE_APPCONFIG_LABEL: appConfigLabel
    }
  }
}

var principalId = identityType == 'UserAssigned' ? userIdentity!.properties.principalId : functionApp.outputs.principalId

module roles 'app/roles.bicep' = {
  name: 'roles'
  params: {
    principalId: principalId
    storageAccountName: storage.outputs.name
    appConfigName: appConfig.outputs.name
  }
}

// Cognitive Services OpenAI User on each Azure OpenAI account, wherever its resource group is.
module openAIRoles 'app/openAIRole.bicep' = [
  for (accountId, index) in filter(openAIAccountIds, id => !empty(id)): {
    name: 'openAIRole${index}'
    scope: resourceGroup(split(accountId, '/')[2], split(accountId, '/')[4])
    params: {
      accountName: last(split(accountId, '/'))
      principalId: principalId
    }
  }
]

output functionAppName string = functionApp.outputs.name
@description('The OpenAI base URL clients use.')
output functionAppUrl string = '${functionApp.outputs.uri}/v1'
output identityPrincipalId string = principalId
output appConfigurationEndpoint string = appConfig.outputs.endpoint
