// The Flex Consumption plan and the Linux function app that runs the custom
// handler. The app settings here are the handler's Azure settings
// (internal/config: Where == Azure) plus the host's own; a test checks that
// the two lists agree.
param name string
param location string
param tags object
param storageAccountName string
param deploymentContainerUrl string
param appInsightsConnectionString string
param cosmosEndpoint string
param databaseName string
param containerName string
@secure()
param functionKeys string
@description('Resource ids of the webhooks the reconciler reads, comma-separated.')
param reconcileWebhooks string
@description('When the reconciler runs (NCRONTAB).')
param reconcileSchedule string
@description('The actions the webhooks were given, comma-separated (ACRSINK_WEBHOOK_ACTIONS): the reconciler reports a webhook that lacks one as drift.')
param webhookActions string
@description('The scope the webhooks were given (ACRSINK_WEBHOOK_SCOPE); empty for the whole registry.')
param webhookScope string
@description('Watched deletes and quarantines (ACRSINK_WATCH), comma-separated patterns; empty for none.')
param watchList string
@description('Memory of each instance, in MB: 512 (0.25 core), 2048 (1 core) or 4096 (2 cores).')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048
@description('Answer only the addresses of Azure Container Registry and Event Grid (service tags); everything else gets 403.')
param restrictInbound bool = false

// The senders of acrsink's events: ACR "sends the request to the configured
// webhook endpoint through the IP addresses for service tags"
// (learn.microsoft.com, container-registry-service-tag), and Event Grid
// delivers from AzureEventGrid's. Access restrictions work on Flex
// Consumption (functions-networking-options, "Inbound access
// restrictions") and take every service tag (app-service-ip-restrictions).
// The tags cover every registry and topic in Azure, not only yours: the key
// check still decides.
var inboundServiceTags = [
  'AzureContainerRegistry'
  'AzureEventGrid'
]

resource plan 'Microsoft.Web/serverfarms@2024-11-01' = {
  name: name
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    tier: 'FlexConsumption'
    name: 'FC1'
  }
  properties: {
    reserved: true
  }
}

resource app 'Microsoft.Web/sites@2024-11-01' = {
  name: name
  location: location
  tags: union(tags, {
    'azd-service-name': 'acrsink'
  })
  kind: 'functionapp,linux'
  identity: {
    type: 'SystemAssigned'
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: deploymentContainerUrl
          authentication: {
            type: 'SystemAssignedIdentity'
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: 40
        instanceMemoryMB: instanceMemoryMB
      }
      runtime: {
        name: 'custom'
        version: '1.0'
      }
    }
    // Flex Consumption refuses many siteConfig properties that other plans
    // take (ARM error 51021; the list and its sources are in
    // internal/testenv/infracheck/flex.go, which fails on any of them). Microsoft's
    // Flex quickstarts set only minTlsVersion here.
    siteConfig: {
      minTlsVersion: '1.2'
      ipSecurityRestrictions: [
        for (tag, i) in (restrictInbound ? inboundServiceTags : []): {
          name: tag
          action: 'Allow'
          tag: 'ServiceTag'
          ipAddress: tag
          priority: 100 + i
        }
      ]
      ipSecurityRestrictionsDefaultAction: restrictInbound ? 'Deny' : 'Allow'
      appSettings: [
        {
          name: 'AzureWebJobsStorage__accountName'
          value: storageAccountName
        }
        {
          name: 'AzureWebJobsStorage__credential'
          value: 'managedidentity'
        }
        {
          name: 'APPLICATIONINSIGHTS_CONNECTION_STRING'
          value: appInsightsConnectionString
        }
        {
          // Ingest with the system-assigned identity: the component takes no
          // key (monitoring.bicep).
          name: 'APPLICATIONINSIGHTS_AUTHENTICATION_STRING'
          value: 'Authorization=AAD'
        }
        {
          name: 'ACRSINK_FUNCTION_KEYS'
          value: functionKeys
        }
        {
          name: 'COSMOS_ENDPOINT'
          value: cosmosEndpoint
        }
        {
          name: 'COSMOS_DATABASE'
          value: databaseName
        }
        {
          name: 'COSMOS_CONTAINER'
          value: containerName
        }
        {
          name: 'ACRSINK_RECONCILE_WEBHOOKS'
          value: reconcileWebhooks
        }
        {
          // With no webhook to read, the reconcile timer is switched off
          // rather than left to fire every 10 minutes for nothing: on Flex
          // Consumption each non-HTTP function scales in its own instance
          // group and each execution bills at least 1,000 ms
          // (learn.microsoft.com, flex-consumption-plan). The setting is
          // the documented switch, AzureWebJobs.<function>.Disabled = true
          // (learn.microsoft.com, disable-function); <function> is the
          // folder reconcile/. Set from the same parameter as the line
          // above, so the two cannot disagree (internal/testenv/infracheck checks
          // both ways).
          name: 'AzureWebJobs.reconcile.Disabled'
          value: empty(reconcileWebhooks) ? 'true' : 'false'
        }
        {
          // Read once at start; a bad pattern stops the handler there.
          name: 'ACRSINK_WATCH'
          value: watchList
        }
        {
          // What the reconciler holds each webhook's configuration to, from
          // the same parameters that configure the webhooks (main.bicep),
          // so that a scope or actions narrowed on purpose are no drift.
          name: 'ACRSINK_WEBHOOK_ACTIONS'
          value: webhookActions
        }
        {
          name: 'ACRSINK_WEBHOOK_SCOPE'
          value: webhookScope
        }
        {
          // reconcile/function.json's %ACRSINK_RECONCILE_SCHEDULE%: the host
          // does not load the function without it.
          name: 'ACRSINK_RECONCILE_SCHEDULE'
          value: reconcileSchedule
        }
        {
          // Go's soft memory limit for the handler: a quarter of the
          // instance, since "instance resources are shared between your
          // function code and the Functions host" (flex-consumption-plan).
          // The host's own share is not published: a quarter is a guess
          // that leaves it most. The handler peaked under 50 MiB under load
          // (docs/performance.md), so the limit is a backstop, not a
          // target.
          name: 'GOMEMLIMIT'
          value: '${instanceMemoryMB / 4}MiB'
        }
        {
          // This cloud's Resource Manager, so sovereign clouds need nothing.
          name: 'ACRSINK_ARM_ENDPOINT'
          value: environment().resourceManager
        }
      ]
    }
  }
}

// No basicPublishingCredentialsPolicies children (ftp, scm): Flex
// Consumption has no FTP ("FTPS not supported", the Functions docs' Flex
// deprecations), and no Microsoft sample or doc sets either policy on a Flex
// app, so nothing supports that ARM takes them there. Deployments use
// Microsoft Entra ID (azd, az functionapp deployment), never basic auth.

output name string = app.name
output hostName string = app.properties.defaultHostName
output principalId string = app.identity.principalId
