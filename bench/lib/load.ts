import autocannon from 'autocannon'

export interface LoadOptions {
  connections: number
  durationSeconds: number
  warmupSeconds: number
  method?: 'GET' | 'POST'
  headers?: Record<string, string>
  body?: string
  /** autocannon replaces `[<id>]` in the body with a fresh id per request (unique sign-ups). */
  idReplacement?: boolean
}

export interface LoadResult {
  requestsPerSecond: number
  p50: number
  p90: number
  p99: number
  errors: number
  non2xx: number
  total: number
  /** Responses per status code. */
  statuses: Record<string, number>
  /** Highest resident set size of the server seen during the measured run, when it was sampled. */
  peakRssBytes: number
}

function run (url: string, options: LoadOptions, durationSeconds: number): Promise<autocannon.Result> {
  return autocannon({
    url,
    connections: options.connections,
    duration: durationSeconds,
    method: options.method ?? 'GET',
    headers: options.headers,
    body: options.body,
    idReplacement: options.idReplacement ?? false
  })
}

/** Drives url with autocannon over loopback; the warm-up round is thrown away. `rss` samples the server every 250 ms. */
export async function measure (url: string, options: LoadOptions, rss?: () => number): Promise<LoadResult> {
  if (options.warmupSeconds > 0) await run(url, options, options.warmupSeconds)
  let peakRssBytes = 0
  const sampler = rss === undefined ? undefined : setInterval(() => { peakRssBytes = Math.max(peakRssBytes, rss()) }, 250)
  let result: autocannon.Result
  try {
    result = await run(url, options, options.durationSeconds)
  } finally {
    clearInterval(sampler)
  }
  return {
    peakRssBytes,
    requestsPerSecond: result.requests.average,
    p50: result.latency.p50,
    p90: result.latency.p90,
    p99: result.latency.p99,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
    total: result.requests.total,
    statuses: Object.fromEntries(Object.entries(result.statusCodeStats ?? {}).map(([code, { count }]) => [code, count ?? 0]))
  }
}

/** The round with the median throughput, so one disturbed round does not decide. */
export function median (results: LoadResult[]): LoadResult {
  const sorted = [...results].sort((a, b) => a.requestsPerSecond - b.requestsPerSecond)
  return sorted[Math.floor(sorted.length / 2)]!
}
