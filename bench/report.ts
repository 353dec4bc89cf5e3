import { type LoadResult, medianOf } from './lib/load.ts'
import type { LoginFigures } from './scenarios/logins.ts'
import type { TransferFigures } from './scenarios/transfer.ts'
import type { WebhookThroughput } from './scenarios/webhooks.ts'
import { SORTS } from './scenarios/listing.ts'

const MB = 1024 * 1024

interface Row { scenario: string, server: string, result: LoadResult }

export interface BenchFigures {
  header: string
  /** users-service, the ceiling and the peer on the same scenarios. */
  rows: Row[]
  /** users-service alone. */
  v2: Row[]
  logins: { password: LoginFigures, mfa: LoginFigures }
  webhooks: WebhookThroughput
  transfer: TransferFigures
  stall: { alone: LoadResult, during: LoadResult }
  coldPostgres: number
  coldPglite: number
  soak: { result: LoadResult, half: number, end: number, peak: number }
  soakSeconds: number
  soakWarmupSeconds: number
  users: number
}

function line (row: Row): string {
  const { result } = row
  return `${result.requestsPerSecond.toFixed(0)} | ${result.p50} | ${result.p99} | ${result.errors} | ${result.non2xx} | ${result.cpuMicrosPerRequest.toFixed(0)} | ${(result.peakRssBytes / MB).toFixed(0)}`
}

/** The tables and the targets, in Markdown. */
export function renderReport (figures: BenchFigures): string {
  const { rows, v2, logins, webhooks, stall, soak, transfer } = figures
  const find = (list: Row[], scenario: string, server = 'users-service'): LoadResult => list.find((row) => row.scenario === scenario && row.server.startsWith(server))!.result
  const rps = (list: Row[], scenario: string): number => find(list, scenario).requestsPerSecond
  const lines: string[] = [`# users-service benchmark — ${new Date().toISOString()}`, '', figures.header, '']
  lines.push('Each row the median of three rounds in which the servers took turns.', '')
  lines.push('| scenario | server | req/s | p50 ms | p99 ms | errors | non-2xx | server CPU µs/req | peak RSS MB | × ceiling | × express |', '|---|---|---|---|---|---|---|---|---|---|---|')
  for (const row of rows) {
    const ratio = (server: string) => (row.result.requestsPerSecond / find(rows, row.scenario, server).requestsPerSecond).toFixed(2)
    lines.push(`| ${row.scenario} | ${row.server} | ${line(row)} | ${ratio('ceiling')} | ${ratio('express')} |`)
  }
  lines.push('', 'users-service alone (v2 scenarios; writes with 10 connections; each listing case the median of interleaved rounds):', '')
  lines.push('| scenario | req/s | p50 ms | p99 ms | errors | non-2xx | server CPU µs/req | peak RSS MB |', '|---|---|---|---|---|---|---|---|')
  for (const row of v2) lines.push(`| ${row.scenario} | ${line(row)} |`)
  lines.push('', 'Logins, ten at a time (an MFA login is both of its requests):', '')
  lines.push('| login | logins/s | completed | failed | server CPU µs/login |', '|---|---|---|---|---|')
  for (const [name, login] of [['password', logins.password], ['password + TOTP', logins.mfa]] as const) {
    lines.push(`| ${name} | ${login.perSecond.toFixed(0)} | ${login.logins} | ${login.failed} | ${login.cpuMicrosPerLogin.toFixed(0)} |`)
  }

  const writes = (method: string, state: string): number => medianOf(v2.filter((row) => row.scenario.startsWith(`${method} `) && row.scenario.includes(state)).map((row) => row.result.requestsPerSecond))
  const outbox = writes('PATCH', 'events on') / writes('PATCH', 'events off')
  const hot = find(rows, 'GET /v1/users/{id}')
  const hotRatio = hot.requestsPerSecond / find(rows, 'GET /v1/users/{id}', 'ceiling').requestsPerSecond
  const pageOne = rps(v2, 'GET /v1/users sort=created_at page 1')
  const deepRatios = SORTS.map((sort) => [sort, rps(v2, `GET /v1/users sort=${sort} page 1`) / rps(v2, `GET /v1/users sort=${sort} deep page`)] as const)
  const searches = v2.filter((row) => row.scenario.startsWith('GET /v1/users q search'))
    .map((row) => [row.scenario.replace('GET /v1/users ', ''), pageOne / row.result.requestsPerSecond] as const)
  const ceiling = find(rows, 'GET /v1/users/{id}', 'ceiling')
  const express = find(rows, 'GET /v1/users/{id}', 'express')
  // CPU ratios are the other's CPU per request over ours: above 1 is cheaper than the other.
  const cpuRatio = (other: LoadResult) => other.cpuMicrosPerRequest / hot.cpuMicrosPerRequest
  const hotExpress = hot.requestsPerSecond / express.requestsPerSecond
  const cpu = (scenario: string) => find(v2, scenario).cpuMicrosPerRequest
  const atMost = (scenario: string, micros: number): [string, string, boolean] => [`${scenario} ≤ ${micros} µs of server CPU`, `${cpu(scenario).toFixed(0)} µs (${rps(v2, scenario).toFixed(0)} req/s)`, cpu(scenario) <= micros]
  const atLeast = (scenario: string, perSecond: number): [string, string, boolean] => [`${scenario} ≥ ${perSecond.toLocaleString('en')} req/s`, `${rps(v2, scenario).toFixed(0)} (${cpu(scenario).toFixed(0)} µs)`, rps(v2, scenario) >= perSecond]
  const patchCpu = medianOf(v2.filter((row) => row.scenario.startsWith('PATCH ') && row.scenario.includes('events on')).map((row) => row.result.cpuMicrosPerRequest))
  const scimLookup = cpu('GET /scim/v2/Users userName eq') / cpu('GET /v1/users/{id} person token')
  const mfaRatio = logins.mfa.cpuMicrosPerLogin / logins.password.cpuMicrosPerLogin
  const targets: Array<[string, string, boolean]> = [
    ['hot path ≥ 1.25 × express in req/s', `${hotExpress.toFixed(2)} (${hot.requestsPerSecond.toFixed(0)} / ${express.requestsPerSecond.toFixed(0)})`, hotExpress >= 1.25],
    ['hot path ≥ 1.25 × express in CPU per request', `${cpuRatio(express).toFixed(2)} (${hot.cpuMicrosPerRequest.toFixed(0)} / ${express.cpuMicrosPerRequest.toFixed(0)} µs)`, cpuRatio(express) >= 1.25],
    ['hot path ≥ 0.60 × ceiling in req/s', hotRatio.toFixed(2), hotRatio >= 0.6],
    ['hot path ≥ 0.60 × ceiling in CPU per request', `${cpuRatio(ceiling).toFixed(2)} (${ceiling.cpuMicrosPerRequest.toFixed(0)} µs)`, cpuRatio(ceiling) >= 0.6],
    ['hot path p99 < 10 ms', `${hot.p99} ms`, hot.p99 < 10],
    atMost('POST /v1/auth/token refresh rotation', 500),
    ['PATCH /v1/users/{id} (events on) ≤ 500 µs of server CPU', `${patchCpu.toFixed(0)} µs`, patchCpu <= 500],
    atLeast('POST /v1/auth/token client_credentials', 2000),
    atLeast('POST /v1/auth/token client_credentials private_key_jwt', 1000),
    atLeast('POST /v1/auth/introspect', 5000),
    ['SCIM userName eq ≤ 1.5 × GET /v1/users/{id}, in CPU per request', `${scimLookup.toFixed(2)}`, scimLookup <= 1.5],
    ['MFA login (password + TOTP) ≤ 1.1 × a password login, in CPU per login', `${mfaRatio.toFixed(2)} (${logins.mfa.cpuMicrosPerLogin.toFixed(0)} / ${logins.password.cpuMicrosPerLogin.toFixed(0)} µs; ${logins.mfa.failed + logins.password.failed} failed)`, mfaRatio <= 1.1 && logins.mfa.failed === 0 && logins.password.failed === 0],
    ['hot path: 0 errors, 0 non-2xx', `${hot.errors}, ${hot.non2xx}`, hot.errors === 0 && hot.non2xx === 0],
    ...deepRatios.map(([sort, ratio]) => [`deep page ≤ 1.2 × page 1, sort=${sort} (cost = 1 / req/s)`, ratio.toFixed(2), ratio <= 1.2] as [string, string, boolean]),
    ...searches.map(([search, ratio]) => [`${search} ≤ 2 × page 1`, ratio.toFixed(2), ratio <= 2] as [string, string, boolean]),
    ['outbox: PATCH with events ≥ 0.90 × without', `${outbox.toFixed(2)} (${writes('PATCH', 'events on').toFixed(0)} / ${writes('PATCH', 'events off').toFixed(0)} req/s; POST ${writes('POST', 'events on').toFixed(1)} / ${writes('POST', 'events off').toFixed(1)})`, outbox >= 0.9],
    ['webhook delivery ≥ 1,000 events/s', `${webhooks.perSecond.toFixed(0)} (${webhooks.events} events, ${webhooks.subjects} users, ${webhooks.seconds.toFixed(1)} s)`, webhooks.perSecond >= 1000],
    [`import ≥ 20,000 users/s (NDJSON, bcrypt hashes, ${transfer.importedUsers} users)`, `${transfer.importUsersPerSecond.toFixed(0)} users/s, server peak RSS ${transfer.importPeakRssMb.toFixed(0)} MB`, transfer.importUsersPerSecond >= 20_000],
    [`the ${transfer.importedUsers} imported users, exported and compared one by one (email, name, created_at)`, `${transfer.comparedEqual} equal, ${transfer.comparedDifferent} different or missing`, transfer.comparedDifferent === 0],
    [`export of every user (${transfer.exportedUsers}), streamed: server RSS stays flat`, `${transfer.exportUsersPerSecond.toFixed(0)} users/s, server peak RSS ${transfer.exportPeakRssMb.toFixed(0)} MB (import's: ${transfer.importPeakRssMb.toFixed(0)} MB)`, transfer.exportPeakRssMb <= transfer.importPeakRssMb * 1.5],
    ['sign-ups: read p99 during ≤ 2 × alone', `${stall.during.p99} / ${stall.alone.p99} ms`, stall.during.p99 <= 2 * Math.max(stall.alone.p99, 1)],
    [`soak ${figures.soakSeconds} s after a ${figures.soakWarmupSeconds} s warm-up: mean RSS of the 2nd half < 1.1 × the 1st, no errors`, `${(soak.half / MB).toFixed(0)} → ${(soak.end / MB).toFixed(0)} MB (peak ${(soak.peak / MB).toFixed(0)}), ${soak.result.requestsPerSecond.toFixed(0)} req/s, ${soak.result.errors} errors, ${soak.result.non2xx} non-2xx`, soak.end < soak.half * 1.1 && soak.result.errors === 0 && soak.result.non2xx === 0],
    ['cold start to ready on PostgreSQL < 1 s', `${figures.coldPostgres.toFixed(0)} ms (PGlite, fresh, migrations included: ${figures.coldPglite.toFixed(0)} ms)`, figures.coldPostgres < 1000]
  ]
  lines.push('', '| target | measured | |', '|---|---|---|')
  for (const [target, measured, met] of targets) lines.push(`| ${target} | ${measured} | ${met ? 'met' : 'MISSED'} |`)
  if (figures.users < 1_000_000) lines.push('', 'The listing targets are stated for 1M users: run with --users 1000000 (the default) for them.')
  return lines.join('\n')
}
