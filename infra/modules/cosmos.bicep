// Cosmos DB for NoSQL, serverless (pay per request, nothing at rest but
// storage), Entra ID only. The container's partition key is the event id;
// its indexing policy serves the query cookbook (docs/queries.md) and skips the raw
// payload, which nobody filters on.
param name string
param location string
param tags object
param databaseName string
param containerName string

// How long the container keeps an event, in days; 0 keeps every event.
// Cosmos DB's container TTL (defaultTtl, in seconds): absent or null, TTL
// is off; -1, TTL is on and items never expire; n > 0, an item expires n
// seconds after its last write (_ts). An item's own ttl field would
// override it: acrsink writes none (internal/document's test holds that).
// The largest TTL is 2,147,483,647 seconds, about 24,855 days
// (learn.microsoft.com, cosmos-db/time-to-live). 0 maps to -1, not to
// absent, so that setting it back to 0 after a retention turns expiry off
// by a value ARM sends, not by a property left out of the request.
@minValue(0)
@maxValue(24855)
param retentionDays int = 0

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
      defaultTtl: retentionDays == 0 ? -1 : retentionDays * 86400
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
