// The app identity's role on one Azure OpenAI account (deployed at that account's resource group, which may be
// another one): Cognitive Services OpenAI User for inference, or OpenAI Contributor, which also allows uploading
// files, batches and fine-tuning jobs. Both include Microsoft.CognitiveServices/*/read, which lists the account's
// deployments for the proxy's discovery (AZURE_OPENAI_RESOURCE_ID).
param accountName string
param principalId string
@allowed([
  'User'
  'Contributor'
])
param role string

var roleIds = {
  User: '5e0bd9bd-7b93-4f28-af87-19fc36ad61bd'
  Contributor: 'a001fd3d-188f-4b5d-821b-7da978bf7442'
}

resource account 'Microsoft.CognitiveServices/accounts@2025-06-01' existing = {
  name: accountName
}

resource openAIRole 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: account
  name: guid(account.id, principalId, roleIds[role])
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleIds[role])
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}
