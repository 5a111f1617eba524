// The webhook on an existing registry. The key travels in a custom header,
// never in the URL, so it stays out of the registry's event history URIs
// and out of access logs.
param registryName string
param serviceUri string
@secure()
param functionKey string
param scope string
param actions array

resource registry 'Microsoft.ContainerRegistry/registries@2025-04-01' existing = {
  name: registryName
}

resource webhook 'Microsoft.ContainerRegistry/registries/webhooks@2025-04-01' = {
  parent: registry
  name: 'acrsink'
  location: registry.location
  properties: {
    serviceUri: serviceUri
    customHeaders: {
      'x-functions-key': functionKey
    }
    actions: actions
    scope: scope
    status: 'enabled'
  }
}

output name string = webhook.name
