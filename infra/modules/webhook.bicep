// The webhooks on an existing registry, one per region listed (the
// registry's home region when none is). "With a geo-replicated registry,
// you configure each webhook to respond to events in a specific regional
// replica" (learn.microsoft.com, container-registry-webhook), and Microsoft's
// geo-replication tutorial (container-registry-tutorial-deploy-update) shows
// what that means: after one docker push, "While the image is being
// replicated, you can see the Azure Container Registry webhooks being
// triggered ... You should see a row for the push action in the logs of both
// Webhooks." So a regional webhook fires when content arrives in its
// replica, wherever it was pushed: one webhook sees every push, and N
// regional webhooks give N deliveries of each push. Whether those deliveries
// share an event id is not documented (docs/deploy.md, "Geo-replicated
// registries"). Each webhook sends the function key in the x-functions-key
// header and its region in x-acrsink-region, which the handler records as
// the document's region: the replica whose arrival that delivery reports.
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

@description('The regions to put a webhook in, as ARM names them; an empty entry is the registry\'s home region.')
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
