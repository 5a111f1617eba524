// acrsink in Azure: a Flex Consumption function app (custom handler) that
// stores ACR webhook events in a serverless Cosmos DB for NoSQL account,
// reached with the app's managed identity. azd up deploys it; so does
// az deployment group create (docs/deploy.md).
targetScope = 'resourceGroup'

@description('Name of the azd environment; used to name the resources.')
@minLength(1)
@maxLength(40)
param environmentName string

@description('Region for every resource except the webhook, which goes with its registry.')
param location string = resourceGroup().location

@description('Function keys the handler accepts, comma-separated; the first is the one given to the ACR webhook. Two during a rotation.')
@secure()
param functionKeys string

@description('Name of an existing container registry to wire a webhook on; empty for none.')
param registryName string = ''

@description('Resource group of that registry; empty means this one.')
param registryResourceGroup string = ''

@description('Regions of the registry\'s replicas to put a webhook in, comma-separated (westus2,eastus). Each regional webhook delivers every push once the content has replicated into its region, wherever it was pushed, so N regions give N deliveries per push: list several only to record arrival in each replica (docs/deploy.md, "Geo-replicated registries"). Empty for one webhook in the registry\'s home region, which sees every push.')
param webhookRegions string = ''

@description('Webhook scope: repo:tag, repo:*, or empty for the whole registry.')
param webhookScope string = ''

@description('Watched deletes and quarantines (ACRSINK_WATCH): comma-separated repository-glob[:tag-glob] patterns, * matching any run of characters, / included (prod/*, *:release-*); empty watches nothing. The app reads it at start: changing it redeploys infra, not the app.')
param watchList string = ''

@description('Actions the webhook posts.')
param webhookActions array = [
  'push'
  'delete'
  'quarantine'
  'chart_push'
  'chart_delete'
]

@description('Object id of a user or group to give data access to Cosmos DB too (Data Explorer queries, acrsink replay); empty for none.')
param principalId string = ''

@description('Answer only Azure Container Registry\'s and Event Grid\'s addresses (their service tags); off by default. docs/deploy.md, "Inbound access".')
param restrictInbound bool = false

@description('When the reconciler reads the webhooks\' history (NCRONTAB, six fields).')
param reconcileSchedule string = '0 */10 * * * *'

@description('E-mail address that gets the alert when an event is not stored or a reconcile run fails; empty for none (the alert still shows in the portal).')
param alertEmail string = ''

@description('Memory of each function app instance, in MB: 512 (0.25 core), 2048 (1 core, the default) or 4096 (2 cores). docs/deploy.md, "What it costs at rest".')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

@description('Days the container keeps each event, counted from when it was stored; 0 (the default) keeps every event forever. Cosmos DB serverless bills storage per GB-month: docs/deploy.md, "Retention". A container property: azd provision changes it, with no redeploy of the app.')
@minValue(0)
@maxValue(24855)
param retentionDays int = 0

@description('Cosmos DB database name.')
param databaseName string = 'acr'

@description('Cosmos DB container name.')
param containerName string = 'pushes'

var token = toLower(uniqueString(subscription().id, resourceGroup().id, environmentName))
var tags = {
  'azd-env-name': environmentName
}
var primaryKey = first(split(functionKeys, ','))

// The webhooks, one per listed region (as ARM names regions; '' is the
// registry's home region), and their names (5-50 letters and digits, the
// ARM schema's rule). Made here, not in the webhook module, so that the
// app's settings can name the webhooks (ACRSINK_RECONCILE_WEBHOOKS) while
// the webhooks take the app's host name: neither waits for the other.
var listedRegions = [for region in split(webhookRegions, ','): toLower(replace(trim(region), ' ', ''))]
var regionList = empty(registryName) ? [] : (empty(trim(webhookRegions)) ? [''] : listedRegions)
var webhookNames = [for region in regionList: empty(region) ? 'acrsink' : take('acrsink${region}', 50)]
var registryGroup = empty(registryResourceGroup) ? resourceGroup().name : registryResourceGroup
var webhookIds = [for name in webhookNames: resourceId(registryGroup, 'Microsoft.ContainerRegistry/registries/webhooks', registryName, name)]

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  params: {
    name: 'acrsink-${token}'
    location: location
    tags: tags
  }
}

module storage 'modules/storage.bicep' = {
  name: 'storage'
  params: {
    name: 'acrsink${token}'
    location: location
    tags: tags
  }
}

module cosmos 'modules/cosmos.bicep' = {
  name: 'cosmos'
  params: {
    name: 'acrsink-${token}'
    location: location
    tags: tags
    databaseName: databaseName
    containerName: containerName
    retentionDays: retentionDays
  }
}

module app 'modules/functionapp.bicep' = {
  name: 'functionapp'
  params: {
    name: 'acrsink-${token}'
    location: location
    tags: tags
    storageAccountName: storage.outputs.name
    deploymentContainerUrl: storage.outputs.deploymentContainerUrl
    appInsightsConnectionString: monitoring.outputs.connectionString
    cosmosEndpoint: cosmos.outputs.endpoint
    databaseName: databaseName
    containerName: containerName
    functionKeys: functionKeys
    restrictInbound: restrictInbound
    reconcileWebhooks: join(webhookIds, ',')
    reconcileSchedule: reconcileSchedule
    watchList: watchList
    webhookActions: join(webhookActions, ',')
    webhookScope: webhookScope
    instanceMemoryMB: instanceMemoryMB
  }
}

module alerts 'modules/alerts.bicep' = {
  name: 'alerts'
  params: {
    name: 'acrsink-${token}'
    location: location
    tags: tags
    componentId: monitoring.outputs.id
    alertEmail: alertEmail
  }
}

module workbook 'modules/workbook.bicep' = {
  name: 'workbook'
  params: {
    name: 'acrsink-${token}'
    location: location
    tags: tags
    componentId: monitoring.outputs.id
  }
}

module monitoringAccess 'modules/monitoring-access.bicep' = {
  name: 'monitoring-access'
  params: {
    componentName: monitoring.outputs.name
    principalId: app.outputs.principalId
  }
}

module storageAccess 'modules/storage-access.bicep' = {
  name: 'storage-access'
  params: {
    storageAccountName: storage.outputs.name
    principalId: app.outputs.principalId
  }
}

module cosmosAccess 'modules/cosmos-access.bicep' = {
  name: 'cosmos-access'
  params: {
    accountName: cosmos.outputs.name
    principalIds: empty(principalId) ? [app.outputs.principalId] : [app.outputs.principalId, principalId]
  }
}

module webhook 'modules/webhook.bicep' = if (!empty(registryName)) {
  name: 'webhook'
  scope: resourceGroup(registryGroup)
  params: {
    registryName: registryName
    serviceUri: 'https://${app.outputs.hostName}/images/push'
    functionKey: primaryKey
    scope: webhookScope
    actions: webhookActions
    regions: regionList
    names: webhookNames
  }
}

module webhookAccess 'modules/webhook-access.bicep' = if (!empty(registryName)) {
  name: 'webhook-access'
  scope: resourceGroup(registryGroup)
  params: {
    registryName: registryName
    webhookNames: webhookNames
    principalId: app.outputs.principalId
  }
  dependsOn: [
    webhook
  ]
}

output AZURE_FUNCTION_APP_NAME string = app.outputs.name
output AZURE_RESOURCE_GROUP string = resourceGroup().name
output WEBHOOK_URL string = 'https://${app.outputs.hostName}/images/push'
output EVENTGRID_URL string = 'https://${app.outputs.hostName}/eventgrid'
output COSMOS_ENDPOINT string = cosmos.outputs.endpoint
output COSMOS_DATABASE string = databaseName
output COSMOS_CONTAINER string = containerName
output DATA_EXPLORER_URL string = 'https://portal.azure.com/#@${tenant().tenantId}/resource${cosmos.outputs.id}/dataExplorer'

// The same, named for az deployment group show --query (ARM returns output
// names with their first letters lower-cased, which mangles AZURE_...).
output functionAppName string = app.outputs.name
output webhookUrl string = 'https://${app.outputs.hostName}/images/push'
output dataExplorerUrl string = 'https://portal.azure.com/#@${tenant().tenantId}/resource${cosmos.outputs.id}/dataExplorer'
output cosmosEndpoint string = cosmos.outputs.endpoint
output cosmosDatabase string = databaseName
output cosmosContainer string = containerName
