// Lets the app's identity read the delivery history of exactly its own
// webhooks, and nothing else: a custom role with the two actions the
// reconciler uses (Microsoft.ContainerRegistry provider operations:
// webhooks/read and webhooks/listEvents/action), assignable only within
// this registry, and assigned on each webhook rather than on the registry,
// so the app cannot read other webhooks' configuration, keys included.
// Not Contributor, which would let it change the registry.
param registryName string
param webhookNames array
param principalId string

resource registry 'Microsoft.ContainerRegistry/registries@2025-04-01' existing = {
  name: registryName
}

resource historyReader 'Microsoft.Authorization/roleDefinitions@2022-04-01' = {
  name: guid(registry.id, 'acrsink-webhook-history-reader')
  properties: {
    roleName: 'acrsink webhook history reader (${registryName}, ${uniqueString(registry.id)})'
    description: 'Read an ACR webhook and list its delivery history (for acrsink\'s reconciler).'
    type: 'CustomRole'
    permissions: [
      {
        actions: [
          'Microsoft.ContainerRegistry/registries/webhooks/read'
          'Microsoft.ContainerRegistry/registries/webhooks/listEvents/action'
        ]
        notActions: []
        dataActions: []
        notDataActions: []
      }
    ]
    assignableScopes: [
      registry.id
    ]
  }
}

resource webhooks 'Microsoft.ContainerRegistry/registries/webhooks@2025-04-01' existing = [
  for name in webhookNames: {
    parent: registry
    name: name
  }
]

resource assignments 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for (name, i) in webhookNames: {
    name: guid(webhooks[i].id, principalId, historyReader.id)
    scope: webhooks[i]
    properties: {
      principalId: principalId
      principalType: 'ServicePrincipal'
      roleDefinitionId: historyReader.id
    }
  }
]
