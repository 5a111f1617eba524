// Cosmos DB for NoSQL, serverless (pay per request, nothing at rest but
// storage), Entra ID only. The container's partition key is the event id;
// its indexing policy serves the query cookbook (docs/queries.md) and skips the raw
// payload, which nobody filters on.
param name string
param location string
param tags object
param databaseName string
param containerName string

resource account 'Microsoft.DocumentDB/databaseAccounts@2025-04-15' = {
  name: name
  location: location
  tags: tags
  kind: 'GlobalDocumentDB'
  properties: {
    databaseAccountOfferType: 'Standard'
    locations: [
      {
        locationName: location
        failoverPriority: 0
        isZoneRedundant: false
      }
    ]
    capabilities: [
      {
        name: 'EnableServerless'
      }
    ]
    consistencyPolicy: {
      defaultConsistencyLevel: 'Session'
    }
    disableLocalAuth: true
    minimalTlsVersion: 'Tls12'
  }
}

resource database 'Microsoft.DocumentDB/databaseAccounts/sqlDatabases@2025-04-15' = {
  parent: account
  name: databaseName
  properties: {
    resource: {
      id: databaseName
    }
  }
}

resource container 'Microsoft.DocumentDB/databaseAccounts/sqlDatabases/containers@2025-04-15' = {
  parent: database
  name: containerName
  properties: {
    resource: {
      id: containerName
      partitionKey: {
        paths: [
          '/id'
        ]
        kind: 'Hash'
      }
      indexingPolicy: {
        indexingMode: 'consistent'
        automatic: true
        includedPaths: [
          {
            path: '/*'
          }
        ]
        excludedPaths: [
          {
            path: '/payload/*'
          }
          {
            path: '/"_etag"/?'
          }
        ]
        // One per cookbook query that filters and sorts or filters on a
        // range (internal/testenv/cookbook; a test checks each is served).
        compositeIndexes: [
          [
            {
              path: '/action'
              order: 'ascending'
            }
            {
              path: '/timestamp'
              order: 'descending'
            }
          ]
          // Equality then range (deletes since a time): the range path
          // last and ascending, the shape Cosmos DB documents for it.
          [
            {
              path: '/action'
              order: 'ascending'
            }
            {
              path: '/timestamp'
              order: 'ascending'
            }
          ]
          [
            {
              path: '/repository'
              order: 'ascending'
            }
            {
              path: '/timestamp'
              order: 'descending'
            }
          ]
          // Where a digest arrived, region by region: its pushes, oldest
          // first.
          [
            {
              path: '/digest'
              order: 'ascending'
            }
            {
              path: '/action'
              order: 'ascending'
            }
            {
              path: '/timestamp'
              order: 'ascending'
            }
          ]
        ]
      }
    }
  }
}

output name string = account.name
output id string = account.id
output endpoint string = account.properties.documentEndpoint
