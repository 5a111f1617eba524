// Log Analytics and a workspace-based Application Insights: the host ships
// the handler's JSON log lines (stdout) there. Local (instrumentation key)
// auth is off, so a tenant policy that forbids it changes nothing: the app
// ingests with its managed identity (monitoring-access.bicep, and the app
// setting APPLICATIONINSIGHTS_AUTHENTICATION_STRING), as Microsoft's Flex
// Consumption samples do (Azure-Samples/azure-functions-flex-consumption-samples,
// IaC/bicep).
param name string
param location string
param tags object

resource workspace 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    sku: {
      name: 'PerGB2018'
    }
    retentionInDays: 30
  }
}

resource insights 'Microsoft.Insights/components@2020-02-02' = {
  name: name
  location: location
  tags: tags
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: workspace.id
    DisableLocalAuth: true
  }
}

output name string = insights.name
output id string = insights.id
output connectionString string = insights.properties.ConnectionString
