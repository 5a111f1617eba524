// Lets the app's identity send telemetry to Application Insights, whose
// local (key) auth is off: the Monitoring Metrics Publisher role on the
// component, as Microsoft's Flex Consumption samples grant it
// (Azure-Samples/azure-functions-flex-consumption-samples, IaC/bicep).
param componentName string
param principalId string

var monitoringMetricsPublisher = '3913510d-42f4-4e42-8a64-420c390055eb'

resource insights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: componentName
}

resource assignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(insights.id, principalId, monitoringMetricsPublisher)
  scope: insights
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', monitoringMetricsPublisher)
  }
}
