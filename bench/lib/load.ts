import autocannon from 'autocannon'

export interface LoadOptions {
  connections: number
  durationSeconds: number
  warmupSeconds: number
  method?: 'GET' | 'POST' | 'PATCH'
  headers?: Record<string, string>
  body?: string
  /** autocannon replaces `[<id>]` in the body with a fresh id per request (unique sign-ups). */
  idReplacement?: boolean
  /** Builds each request (and reads its response) where one request depends on the last. */
  request?: Pick<autocannon.Request, 'setupRequest' | 'onResponse'>
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
  /** CPU time the server spent per response during the measured run, in microseconds, when it was sampled. */
  cpuMicrosPerRequest: number
}

/** What can be read of the server process while it is under load. */
export interface ServerProbe {
  rss (): number
  /** User + system CPU time the process has used so far. */
  cpuSeconds (): number
}

function run (url: string, options: LoadOptions, durationSeconds: number): Promise<autocannon.Result> {
  return autocannon({
    url,
    connections: options.connections,
    duration: durationSeconds,
    method: options.method ?? 'GET',
    headers: options.headers,
    body: options.body,
    idReplacement: options.idReplacement ?? false,
    ...(options.request === undefined ? {} : { requests: [options.request] })
  })
}

/**
 * Drives url with autocannon over loopback; the warm-up round is thrown away. A probe's
 * server is sampled for RSS every 250 ms and for CPU time before and after the run:
 * CPU per response does not depend on what else the machine runs, req/s does.
 */
export async function measure (url: string, options: LoadOptions, probe?: ServerProbe): Promise<LoadResult> {
  if (options.warmupSeconds > 0) await run(url, options, options.warmupSeconds)
  let peakRssBytes = 0
  const sampler = probe === undefined ? undefined : setInterval(() => { peakRssBytes = Math.max(peakRssBytes, probe.rss()) }, 250)
  const cpuBefore = probe?.cpuSeconds() ?? 0
  let result: autocannon.Result
  try {
    result = await run(url, options, options.durationSeconds)
  } finally {
    clearInterval(sampler)
  }
  const cpuSeconds = (probe?.cpuSeconds() ?? 0) - cpuBefore
  return {
    peakRssBytes,
    cpuMicrosPerRequest: result.requests.total === 0 ? 0 : (cpuSeconds * 1e6) / result.requests.total,
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
/** The middle value (the upper one of an even count). */
export function medianOf (values: number[]): number {
  return [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!
}

export function median (results: LoadResult[]): LoadResult {
  const sorted = [...results].sort((a, b) => a.requestsPerSecond - b.requestsPerSecond)
  return sorted[Math.floor(sorted.length / 2)]!
}

/** The list started at its (round mod length)-th element, so that across rounds each takes its turn first. */
export function rotated<T> (list: readonly T[], round: number): T[] {
  const start = round % list.length
  return [...list.slice(start), ...list.slice(0, start)]
}
