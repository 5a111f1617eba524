// A picture of the sink's health: an Azure Monitor workbook on the
// Application Insights component (sourceId), deployed with infra so that
// every environment has it. Its queries read only what the handler's log
// lines carry, as the alerts do (alerts.bicep says what that is and where
// it was read): each stdout line of the handler is one trace, its JSON
// inside message, and console lines carry no operation name, so the
// traces parts read message alone. They find a line by its "msg" and read
// a field with extract() on the line's JSON text, not parse_json(message):
// whether message is exactly the line was not checked against a live app,
// and extract() reads the field wherever the line sits in message. Kusto's
// regular expressions are RE2, as Go's are, so a test runs each extract()
// and each contains() of these queries against lines the handler's code
// really logs (internal/testenv/infracheck/workbook_test.go).
// The throughput panels count Information lines (request, event grid
// delivery, reconciled): with ACRSINK_LOG_LEVEL above info they stay empty.
param name string
param location string
param tags object
param componentId string

var panels = [
  {
    title: 'Events stored per hour, by door (webhook, Event Grid, reconcile)'
    visualization: 'timechart'
    query: '''
let webhook = traces
  | where message contains '"msg":"request"' and message contains '"path":"/images/push"' and message contains '"outcome":"stored"'
  | project timestamp, door = "webhook", events = 1;
let eventGrid = traces
  | where message contains '"msg":"event grid delivery"'
  | project timestamp, door = "Event Grid", events = toint(extract('"stored":([0-9]+)', 1, message));
let reconciler = traces
  | where message contains '"msg":"reconciled"' or message contains '"msg":"reconcile failed"'
  | project timestamp, door = "reconcile", events = toint(extract('"recovered":([0-9]+)', 1, message));
union webhook, eventGrid, reconciler
| summarize events = sum(events) by bin(timestamp, 1h), door
'''
  }
  {
    title: 'Events stored per hour, by action (webhook deliveries and single-event Event Grid deliveries)'
    visualization: 'timechart'
    query: '''
traces
| where message contains '"msg":"request"' and message contains '"outcome":"stored"' and message contains '"action":'
| extend action = extract('"action":"([^"]*)"', 1, message)
| summarize events = count() by bin(timestamp, 1h), action
'''
  }
  {
    title: 'Events recovered by the reconciler per hour, by webhook'
    visualization: 'barchart'
    query: '''
traces
| where message contains '"msg":"reconciled"' or message contains '"msg":"reconcile failed"'
| extend webhook = extract('"webhook":"([^"]*)"', 1, message), recovered = toint(extract('"recovered":([0-9]+)', 1, message))
| summarize recovered = sum(recovered) by bin(timestamp, 1h), webhook
'''
  }
  {
    title: 'Events not stored per hour, by reason (invalid: a delivery refused; store failed, store too slow: answered 503)'
    visualization: 'barchart'
    query: '''
traces
| where message contains '"msg":"event not stored"'
| extend reason = extract('"reason":"([^"]*)"', 1, message)
| summarize lines = count() by bin(timestamp, 1h), reason
'''
  }
  {
    title: 'Watched events (ACRSINK_WATCH), newest first'
    visualization: 'table'
    query: '''
traces
| where message contains '"msg":"watched event"'
| extend action = extract('"action":"([^"]*)"', 1, message), repository = extract('"repository":"([^"]*)"', 1, message), tag = extract('"tag":"([^"]*)"', 1, message), digest = extract('"digest":"([^"]*)"', 1, message), door = extract('"source":"([^"]*)"', 1, message)
| project timestamp, action, repository, tag, digest, door
| order by timestamp desc
| take 200
'''
  }
  {
    title: 'Webhook drift, newest first (the line names what drifted)'
    visualization: 'table'
    query: '''
traces
| where message contains '"msg":"webhook drift"'
| extend webhook = extract('"webhook":"([^"]*)"', 1, message)
| project timestamp, webhook, message
| order by timestamp desc
| take 200
'''
  }
  {
    title: 'Reconcile runs per hour, and the failed ones'
    visualization: 'barchart'
    query: '''
requests
| where operation_Name =~ "reconcile"
| summarize runs = count(), failed = countif(tostring(success) =~ "false") by bin(timestamp, 1h)
'''
  }
  {
    title: 'Reconcile run duration (ms): median and longest per hour'
    visualization: 'timechart'
    query: '''
requests
| where operation_Name =~ "reconcile"
| summarize median = percentile(duration, 50), longest = max(duration) by bin(timestamp, 1h)
'''
  }
  {
    title: 'Handler latency (ms, the handler\'s own time per delivery): p50 and p99 per hour, by door'
    visualization: 'timechart'
    query: '''
traces
| where message contains '"msg":"request"' and (message contains '"path":"/images/push"' or message contains '"path":"/eventgrid"')
| extend door = extract('"path":"([^"]*)"', 1, message), ms = todouble(extract('"durationMs":([0-9.]+)', 1, message))
| summarize p50 = percentile(ms, 50), p99 = percentile(ms, 99) by bin(timestamp, 1h), door
'''
  }
]

var intro = {
  type: 1
  name: 'intro'
  content: {
    json: '## acrsink\nWhat the handler stored, recovered, refused and watched, from its log lines in this Application Insights component, over the time range picked above. How to read it: docs/operations.md, "The workbook".'
  }
}

var queryItems = [
  for (p, i) in panels: {
    type: 3
    name: 'panel${i}'
    content: {
      version: 'KqlItem/1.0'
      title: p.title
      query: p.query
      size: 0
      queryType: 0
      resourceType: 'microsoft.insights/components'
      visualization: p.visualization
      timeContext: {
        durationMs: 604800000
      }
    }
  }
]

resource workbook 'Microsoft.Insights/workbooks@2023-06-01' = {
  // A workbook's name must be a GUID (the ARM schema); the same component
  // gives the same workbook on every deployment, so a redeploy updates it.
  name: guid(componentId, 'acrsink-health')
  location: location
  tags: tags
  kind: 'shared'
  properties: {
    displayName: 'acrsink health (${name})'
    category: 'workbook'
    sourceId: componentId
    version: 'Notebook/1.0'
    serializedData: string({
      version: 'Notebook/1.0'
      items: concat([intro], queryItems)
      isLocked: false
      fallbackResourceIds: [
        componentId
      ]
    })
  }
}

output id string = workbook.id
