// The alerts an operator gets without asking, one per thing that needs a
// human, each with its own severity:
// - not stored (severity 2): the handler did not store an event (it logged
//   "event not stored": a store failure answered 503, or a delivery refused
//   as invalid), or a reconcile run failed (logged "reconcile failed", and
//   the host counts a failed invocation of the reconcile function);
// - watched (severity 3, informational): a delete, quarantine or
//   chart_delete that matched ACRSINK_WATCH was stored (logged "watched
//   event", once per event): the ticket a platform team asks for;
// - drift (severity 1): a reconcile run found a webhook disabled, or its
//   actions or scope narrowed (logged "webhook drift"): ACR will not send
//   what the webhook no longer covers, and the reconciler cannot recover an
//   event that was never sent.
// A test holds each query to the message the code logs
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

// One line per watched event, so one row per event: the alert is stateless
// (autoMitigate false), so a watched delete in the next window notifies
// again rather than joining an alert still open.
var watchedQuery = '''
traces | where message has "watched event"
'''

// A run logs a drift line for each drifted webhook on every run while the
// drift lasts, so the window (an hour) covers a run at the default
// schedule (every 10 minutes) and an hourly one: the alert stays open while
// the drift lasts and resolves on its own (autoMitigate) within the hour
// after it is fixed.
var driftQuery = '''
traces | where message has "webhook drift"
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

resource watched 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = {
  name: '${name}-watched'
  location: location
  tags: tags
  kind: 'LogAlert'
  properties: {
    displayName: 'acrsink: a watched image was deleted or quarantined'
    description: 'A delete, quarantine or chart_delete that matched ACRSINK_WATCH was stored. The event is in the container, marked "watched": true; the line names its id, action, repository, tag, digest and region (traces | where message has "watched event"). docs/operations.md, Watched deletes and quarantines.'
    severity: 3
    enabled: true
    scopes: [
      componentId
    ]
    evaluationFrequency: 'PT5M'
    windowSize: 'PT5M'
    criteria: {
      allOf: [
        {
          query: watchedQuery
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
    autoMitigate: false
    actions: {
      actionGroups: empty(alertEmail) ? [] : [group.id]
    }
  }
}

resource drift 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = {
  name: '${name}-drift'
  location: location
  tags: tags
  kind: 'LogAlert'
  properties: {
    displayName: 'acrsink: a webhook no longer sends what acrsink needs'
    description: 'A reconcile run found a webhook disabled, an action missing, or its scope narrower than configured. ACR does not send what the webhook no longer covers, and the reconciler cannot recover events that were never sent. The line names the webhook and what drifted (traces | where message has "webhook drift"); redeploy (azd provision) or fix the webhook, docs/operations.md, Webhook drift.'
    severity: 1
    enabled: true
    scopes: [
      componentId
    ]
    evaluationFrequency: 'PT15M'
    windowSize: 'PT1H'
    criteria: {
      allOf: [
        {
          query: driftQuery
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
