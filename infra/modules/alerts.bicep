// The alert an operator gets without asking: when the handler could not
// store an event (it answered 503 and logged "event not stored"), or a
// reconcile run failed (logged "reconcile failed", and the host counts a
// failed invocation of the reconcile function). The handler's log lines
// reach Application Insights through the host, which logs a custom
// handler's output (REFERENCE.md §3); the query looks for the messages the
// code logs, and a test holds the two together. The tables and columns are
// Application Insights' (traces.message; requests.operation_Name and
// success, one request per function invocation); that the host's lines
// land in traces is not verified against a live app.
param name string
param location string
param tags object
param componentId string

@description('E-mail address for the alert; empty for none (it still shows in the portal).')
param alertEmail string

var query = '''
union
  (traces | where message has "event not stored" or message has "reconcile failed"),
  (requests | where operation_Name =~ "reconcile" and success == false)
'''

resource group 'Microsoft.Insights/actionGroups@2023-01-01' = if (!empty(alertEmail)) {
  name: name
  location: 'global'
  tags: tags
  properties: {
    groupShortName: 'acrsink'
    enabled: true
    emailReceivers: [
      {
        name: 'operator'
        emailAddress: alertEmail
        useCommonAlertSchema: true
      }
    ]
  }
}

resource notStored 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = {
  name: '${name}-not-stored'
  location: location
  tags: tags
  kind: 'LogAlert'
  properties: {
    displayName: 'acrsink: an event was not stored, or a reconcile run failed'
    description: 'An ACR event was answered 503 (not stored) or a reconcile run failed. The reconciler stores what the webhook history still holds on its next run; if this repeats, see the handler log lines in Application Insights (traces) and README, Never lose an event.'
    severity: 2
    enabled: true
    scopes: [
      componentId
    ]
    evaluationFrequency: 'PT5M'
    windowSize: 'PT5M'
    criteria: {
      allOf: [
        {
          query: query
          timeAggregation: 'Count'
          operator: 'GreaterThan'
          threshold: 0
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    autoMitigate: true
    actions: {
      actionGroups: empty(alertEmail) ? [] : [group.id]
    }
  }
}
