// The app's storage, reached by managed identity only: shared keys are off, so no connection string exists.
param name string
param containerName string
param location string
param tags object

resource storage 'Microsoft.Storage/storageAccounts@2025-01-01' = {
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: 'Standard_LRS'
  }
  properties: {
    allowSharedKeyAccess: false
    allowBlobPublicAccess: false
    defaultToOAuthAuthentication: true
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
  }
}

resource blobs 'Microsoft.Storage/storageAccounts/blobServices@2025-01-01' = {
  parent: storage
  name: 'default'
}

// Where Flex Consumption keeps the deployed package.
resource deploymentContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2025-01-01' = {
  parent: blobs
  name: containerName
}

output name string = storage.name
@description('Where the app shares limits\' counts (PROXY_USAGE_TABLE_ENDPOINT).')
output tableEndpoint string = storage.properties.primaryEndpoints.table
