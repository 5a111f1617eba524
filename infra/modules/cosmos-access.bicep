// The built-in Cosmos DB Data Contributor role (data plane) for each
// principal: the function app, and optionally a person for Data Explorer
// and acrsink replay (local auth is off, so keys cannot be used).
param accountName string
param principalIds array

resource account 'Microsoft.DocumentDB/databaseAccounts@2025-04-15' existing = {
  name: accountName
}

resource assignments 'Microsoft.DocumentDB/databaseAccounts/sqlRoleAssignments@2025-04-15' = [
  for principalId in principalIds: {
    parent: account
    name: guid(account.id, principalId, 'data-contributor')
    properties: {
      principalId: principalId
      roleDefinitionId: '${account.id}/sqlRoleDefinitions/00000000-0000-0000-0000-000000000002'
      scope: account.id
    }
  }
]
