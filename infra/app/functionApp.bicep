// The Function App on the Flex Consumption plan, with a managed identity for everything it reaches: its
// deployment storage, AzureWebJobsStorage, App Configuration and Azure OpenAI.
param name string
param planName string
param location string
param tags object
param storageAccountName string
param deploymentContainerName string
param appInsightsName string
param nodeVersion string
param identityType string
param userIdentityId string
param userIdentityClientId string
param appSettings object

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: appInsightsName
}

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
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

var userAssigned = identityType == 'UserAssigned'

resource site 'Microsoft.Web/sites@2024-04-01' = {
  name: name
  location: location
  // azd finds the app to deploy by this tag.
  tags: union(tags, { 'azd-service-name': 'api' })
  kind: 'functionapp,linux'
  identity: userAssigned
    ? {
        type: 'UserAssigned'
        userAssignedIdentities: {
          '${userIdentityId}': {}
        }
      }
    : {
        type: 'SystemAssigned'
      }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    siteConfig: {
      minTlsVersion: '1.2'
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storage.properties.primaryEndpoints.blob}${deploymentContainerName}'
          authentication: userAssigned
            ? {
                type: 'UserAssignedIdentity'
                userAssignedIdentityResourceId: userIdentityId
              }
            : {
                type: 'SystemAssignedIdentity'
              }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: 100
        instanceMemoryMB: 2048
      }
      runtime: {
        name: 'node'
        version: nodeVersion
      }
    }
  }
}

resource settings 'Microsoft.Web/sites/config@2024-04-01' = {
  parent: site
  name: 'appsettings'
  properties: union(
    appSettings,
    {
      // Identity-based host storage: an account name, no connection string.
      AzureWebJobsStorage__accountName: storage.name
      AzureWebJobsStorage__credential: 'managedidentity'
      APPLICATIONINSIGHTS_CONNECTION_STRING: appInsights.properties.ConnectionString
    },
    userAssigned
      ? {
          AzureWebJobsStorage__clientId: userIdentityClientId
          AZURE_CLIENT_ID: userIdentityClientId
        }
      : {}
  )
}

output name string = site.name
output uri string = 'https://${site.properties.defaultHostName}'
output principalId string = userAssigned ? '' : site.identity.principalId
