// The webhooks on an existing registry: one per regional replica, because
// "with a geo-replicated registry, you configure each webhook to respond to
// events in a specific regional replica" (learn.microsoft.com,
// container-registry-webhook). Each sends the function key in the
// x-functions-key header and its region in x-acrsink-region, which the
// handler records as the document's region.
//
// The key is not secret from the registry's readers of webhook data: ACR
// records the request headers it sent, custom headers included, in the
// delivery history (az acr webhook list-events), and get-config shows them
// too (REST model EventRequestMessage.headers; azure-cli recording
// test_acr_create_webhook.yaml). A header only keeps the key out of URLs.
param registryName string
param serviceUri string
@secure()
param functionKey string
param scope string
param actions array

@description('The regions to cover, as ARM names them; an empty entry is the registry\'s home region.')
param regions array

@description('The webhooks\' names, one per region (main.bicep makes both).')
param names array

resource registry 'Microsoft.ContainerRegistry/registries@2025-04-01' existing = {
  name: registryName
}

// The home region in the same form, whatever form ARM reports it in.
var home = toLower(replace(registry.location, ' ', ''))

resource webhooks 'Microsoft.ContainerRegistry/registries/webhooks@2025-04-01' = [
  for (region, i) in regions: {
    parent: registry
    name: names[i]
    location: empty(region) ? home : region
    properties: {
      serviceUri: serviceUri
      customHeaders: {
        'x-functions-key': functionKey
        'x-acrsink-region': empty(region) ? home : region
      }
      actions: actions
      scope: scope
      status: 'enabled'
    }
  }
]

output ids array = [for (region, i) in regions: webhooks[i].id]
