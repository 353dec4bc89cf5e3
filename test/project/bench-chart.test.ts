import t from 'tap'
import { ratioChart } from '../../bench/chart.ts'

const row = (scenario: string, server: string, requestsPerSecond: number) => ({ scenario, server, result: { requestsPerSecond } })

const rows = [
  row('GET /v1/users/{id}', 'users-service', 5000),
  row('GET /v1/users/{id}', 'ceiling', 10000),
  row('GET /v1/users/{id}', 'express', 2500),
  row('GET <health> & more', 'users-service', 900),
  row('GET <health> & more', 'ceiling', 1000)
]

const barWidths = (svg: string): number[] => [...svg.matchAll(/<rect x="200" y="\d+" width="([\d.]+)" height="12"/g)].map((match) => Number(match[1]))

t.test('each server\'s bar is its share of the ceiling on the same axis, labelled with the ratio', async (t) => {
  const svg = ratioChart(rows, 'a run')
  t.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/)
  t.match(svg, /<\/svg>\n$/)
  // The axis spans 0–1 over 480 px: 0.5, 0.25 and 0.9 of it; express has no row for the second scenario.
  t.same(barWidths(svg), [240, 120, 432])
  for (const label of ['0.50', '0.25', '0.90']) t.match(svg, `>${label}</text>`)
  t.match(svg, 'ceiling 1.00')
  t.match(svg, 'hot-path target 0.70')
})

t.test('scenario names and the caption are escaped, so the file stays well-formed', async (t) => {
  const svg = ratioChart(rows, 'caption <b> & "quotes"')
  t.notMatch(svg, '<health>')
  t.match(svg, 'GET &#60;health&#62; &#38; more')
  t.match(svg, 'caption &#60;b&#62; &#38; &#34;quotes&#34;')
})

t.test('a server faster than the ceiling widens the axis instead of overflowing it', async (t) => {
  const svg = ratioChart([row('GET /x', 'ceiling', 100), row('GET /x', 'users-service', 200), row('GET /x', 'express', 50)], 'faster')
  t.same(barWidths(svg), [480, 120])
  t.match(svg, '>2.00</text>')
})
