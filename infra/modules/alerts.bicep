// The alert an operator gets without asking: when the handler did not
// store an event (it logged "event not stored": a store failure answered
// 503, or a delivery refused as invalid), or a reconcile run failed (logged
// "reconcile failed", and the host counts a failed invocation of the
// reconcile function). A test holds the query to the messages the code logs
// (internal/testenv/infracheck/alerts_test.go).
//
// What the query may rely on, and only that:
// - The handler's log lines are its stdout. The Functions host logs each
//   stdout line of a custom handler as a trace at Information in category
//   Host.Function.Console, whatever level the JSON line states; the JSON
//   fields stay inside message (not customDimensions); console lines carry
//   no operation name or invocation id (azure-functions-host,
//   Workers/ProcessManagement/WorkerProcess.cs, WorkerConsoleLogService.cs;
//   Azure/Azure-Functions #2575; REFERENCE.md §7). So the traces part
//   searches message and nothing else.
// - requests holds "one request for each function invocation", and its
//   operation name is the function's name (learn.microsoft.com,
//   analyze-telemetry-data). Application Insights' requests.success is a
//   string (a bool only in the workspace table AppRequests), and a
//   scheduled query rule validates its query on creation
//   (skipQueryValidation defaults to false): success == false is a type
//   error there, and a query that fails validation fails the deployment.
//   The query compares text, which holds for either type.
// - host.json excludes Request and Trace from sampling, so neither part is
//   sampled away in a burst (internal/testenv/infracheck/hostjson.go).
// That the host's lines land in traces as described was read in the host's
// source, not seen in a live app.
param name string
param location string
param tags object
param componentId string

@description('E-mail address for the alert; empty for none (it still shows in the portal).')
param alertEmail string

var query = '''
union
  (traces | where message has "event not stored" or message has "reconcile failed"),
  (requests | where operation_Name =~ "reconcile" and tostring(success) =~ "false")
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
    description: 'An ACR event was not stored (a store failure, answered 503, or a delivery refused as invalid) or a reconcile run failed. The reconciler retries what the webhook history still holds on its next run; if this repeats, see the handler log lines in Application Insights (traces | where message has "event not stored" or message has "reconcile failed") and docs/operations.md, Never lose an event.'
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
