// The App Configuration store the proxy reads its model map, client keys and settings from, by identity only
// (local auth off). Its initial key-values are written after provisioning by scripts/seedAppConfiguration.mjs,
// which retries until the deployer's App Configuration Data Owner role (granted here) is in effect: key-value
// resources in this template would be written through the data plane at once, and fail with Forbidden on a
// first deployment.
param name string
param location string
param tags object
@description('Who deploys (deployer()): App Configuration Data Owner. Empty to grant nothing.')
param deployerPrincipalId string

var appConfigDataOwner = '5ae67dd6-50cb-40e7-96ff-dc2bfa4b606b'

resource store 'Microsoft.AppConfiguration/configurationStores@2024-06-01' = {
  name: name
  location: location
  tags: tags
  sku: {
    name: 'standard'
  }
  properties: {
    disableLocalAuth: true
  }
}

resource deployerOwner 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(deployerPrincipalId)) {
  scope: store
  name: guid(store.id, deployerPrincipalId, appConfigDataOwner)
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', appConfigDataOwner)
    principalId: deployerPrincipalId
  }
}

output name string = store.name
output endpoint string = store.properties.endpoint
