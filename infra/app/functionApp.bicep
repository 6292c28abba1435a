// The Function App on the Flex Consumption plan, with the user-assigned identity it reaches everything with: its
// deployment storage, AzureWebJobsStorage, App Configuration, Application Insights and Azure OpenAI.
param name string
param planName string
param location string
param tags object
param storageAccountName string
param deploymentContainerName string
param appInsightsName string
param nodeVersion string
param perInstanceConcurrency int
param instanceMemoryMB int
param maximumInstanceCount int
param siteUpdateStrategy string
param identityId string
param identityClientId string
@description('The proxy\'s own settings, and any extra ones, by name.')
param proxySettings object

resource storage 'Microsoft.Storage/storageAccounts@2025-01-01' existing = {
  name: storageAccountName
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: appInsightsName
}

resource plan 'Microsoft.Web/serverfarms@2025-03-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    name: 'FC1'
    tier: 'FlexConsumption'
  }
  properties: {
    reserved: true
  }
}

// The host's and the app's settings. In siteConfig, so they are in place at the app's first start, rather than in
// a separate sites/config resource applied after it. Extra settings (proxySettings) win.
var settings = union(
  {
    // Identity-based host storage: an account name, no connection string.
    AzureWebJobsStorage__accountName: storage.name
    AzureWebJobsStorage__credential: 'managedidentity'
    AzureWebJobsStorage__clientId: identityClientId
    AZURE_CLIENT_ID: identityClientId
    APPLICATIONINSIGHTS_CONNECTION_STRING: appInsights.properties.ConnectionString
    // Entra authentication to Application Insights (its key-based ingestion is off), for the host and the app.
    APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identityClientId};Authorization=AAD'
  },
  proxySettings
)

resource site 'Microsoft.Web/sites@2025-03-01' = {
  name: name
  location: location
  // azd finds the app to deploy by this tag.
  tags: union(tags, { 'azd-service-name': 'api' })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    siteConfig: {
      minTlsVersion: '1.2'
      appSettings: map(items(settings), setting => { name: setting.key, value: string(setting.value) })
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storage.properties.primaryEndpoints.blob}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
        triggers: {
          http: {
            perInstanceConcurrency: perInstanceConcurrency
          }
        }
      }
      runtime: {
        name: 'node'
        version: nodeVersion
      }
      // Documented for API version 2024-11-01 and later (Flex Consumption "site update strategies"), but not yet in
      // the published type definitions Bicep checks against.
      #disable-next-line BCP037
      siteUpdateStrategy: {
        type: siteUpdateStrategy
      }
    }
  }
}

output name string = site.name
output uri string = 'https://${site.properties.defaultHostName}'
