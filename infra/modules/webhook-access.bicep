// Lets the app's identity read the configuration and the delivery history
// of exactly its own webhooks, and nothing else: a custom role with the two
// actions the reconciler uses (Microsoft.ContainerRegistry provider
// operations: webhooks/read, for the drift check's GET of a webhook's
// status, actions and scope, which carries no custom header and so no key;
// webhooks/listEvents/action, for the history), assigned on each webhook
// rather than on the registry, so the app cannot read other webhooks'
// configuration, keys included. Not Contributor, which would let it change
// the registry.
//
// The role is assignable in the registry's resource group (this module's
// scope: main.bicep deploys it there), not in the registry alone: Azure
// recommends custom roles with a management group, subscription or resource
// group as assignable scope, assigned at a narrow scope, and limits a
// tenant to 5,000 custom roles (learn.microsoft.com,
// role-based-access-control/role-definitions; Azure/ResourceModules'
// resource-group role definition module does the same). Creating or
// updating it needs Microsoft.Authorization/roleDefinitions/write on that
// resource group (Owner or User Access Administrator there). Its name is
// guid() of the registry's id: the same registry gives the same role on
// every deployment, so a redeploy updates it in place (earlier versions of
// this module made the same role, assignable in the registry alone) and
// two registries never share one. azd down does not delete it: docs/deploy.md,
// "Tearing it down".
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
    description: 'Read an ACR webhook and list its delivery history for acrsink\'s reconciler; acrsink assigns it only on its own webhooks of registry ${registryName}.'
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
      resourceGroup().id
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
