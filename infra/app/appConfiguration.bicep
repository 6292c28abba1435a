// The App Configuration store the proxy reads its model map, client keys and settings from, by identity only
// (local auth off). Its initial key-values are written here by the deployer, who gets App Configuration Data
// Owner for that (ARM passes the deployer's own identity through to the store).
param name string
param location string
param tags object
param keyPrefix string
param label string
param modelMap object
param clientKeyHashes object
param settings object
param deployerPrincipalId string

var appConfigDataOwner = '5ae67dd6-50cb-40e7-96ff-dc2bfa4b606b'
// Key-value resource names: `/` in a key is written `~2F`, and a label follows a `$`.
var labelSuffix = empty(label) ? '' : '$${label}'

resource store 'Microsoft.AppConfiguration/configurationStores@2024-05-01' = {
  name: name
  location: location
  tags: tags
  sku: {
    name: 'standard'
  }
  properties: {
    disableLocalAuth: true
    dataPlaneProxy: {
      authenticationMode: 'Pass-through'
      privateLinkDelegation: 'Disabled'
    }
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

resource models 'Microsoft.AppConfiguration/configurationStores/keyValues@2024-05-01' = [
  for entry in items(modelMap): if (!empty(deployerPrincipalId)) {
    parent: store
    name: '${replace('${keyPrefix}model-map/${entry.key}', '/', '~2F')}${labelSuffix}'
    properties: {
      value: entry.value
    }
    dependsOn: [
      deployerOwner
    ]
  }
]

resource clientKeys 'Microsoft.AppConfiguration/configurationStores/keyValues@2024-05-01' = [
  for entry in items(clientKeyHashes): if (!empty(deployerPrincipalId)) {
    parent: store
    name: '${replace('${keyPrefix}client-keys/${entry.key}', '/', '~2F')}${labelSuffix}'
    properties: {
      value: entry.value
    }
    dependsOn: [
      deployerOwner
    ]
  }
]

resource plainSettings 'Microsoft.AppConfiguration/configurationStores/keyValues@2024-05-01' = [
  for entry in items(settings): if (!empty(deployerPrincipalId)) {
    parent: store
    name: '${replace('${keyPrefix}${entry.key}', '/', '~2F')}${labelSuffix}'
    properties: {
      value: string(entry.value)
    }
    dependsOn: [
      deployerOwner
    ]
  }
]

output name string = store.name
output endpoint string = store.properties.endpoint
