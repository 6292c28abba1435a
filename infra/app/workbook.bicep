// The proxy's Azure Monitor workbook on its Application Insights: tokens by client and model, requests and 429s by
// backend, latency percentiles, failovers, top keys. Its queries are the files in infra/workbook (one source: a
// test checks them against the metric names and dimensions the app emits).
param appInsightsName string
param location string
param tags object = {}
@description('The workbook\'s name: a GUID, stable per environment.')
param workbookId string

resource appInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: appInsightsName
}

var queries = [
  {
    name: 'tokens'
    title: 'Tokens by client key and model'
    query: loadTextContent('../workbook/tokens-by-client-and-model.kql')
    visualization: 'timechart'
  }
  {
    name: 'requests'
    title: 'Requests and 429s by backend'
    query: loadTextContent('../workbook/requests-and-429s-by-backend.kql')
    visualization: 'table'
  }
  {
    name: 'latency'
    title: 'Latency p50 and p95 (ms)'
    query: loadTextContent('../workbook/latency-percentiles.kql')
    visualization: 'timechart'
  }
  {
    name: 'failovers'
    title: 'Failovers to another backend'
    query: loadTextContent('../workbook/failovers.kql')
    visualization: 'barchart'
  }
  {
    name: 'topKeys'
    title: 'Top client keys by tokens'
    query: loadTextContent('../workbook/top-keys.kql')
    visualization: 'table'
  }
]

var content = {
  version: 'Notebook/1.0'
  items: concat(
    [
      {
        type: 1
        name: 'title'
        content: { json: '## Azure OpenAI proxy\nTokens, requests, 429s, latency and failovers, from the app\'s metrics and request lines.' }
      }
    ],
    map(queries, q => {
      type: 3
      name: q.name
      content: {
        version: 'KqlItem/1.0'
        title: q.title
        query: q.query
        size: 0
        timeContext: { durationMs: 86400000 }
        queryType: 0
        resourceType: 'microsoft.insights/components'
        visualization: q.visualization
      }
    })
  )
  isLocked: false
  fallbackResourceIds: [appInsights.id]
}

resource workbook 'Microsoft.Insights/workbooks@2023-06-01' = {
  name: workbookId
  location: location
  tags: tags
  kind: 'shared'
  properties: {
    displayName: 'Azure OpenAI proxy'
    category: 'workbook'
    sourceId: appInsights.id
    serializedData: string(content)
  }
}

output id string = workbook.id
