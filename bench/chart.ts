/**
 * The contenders' table drawn as a chart: for each scenario, each server's throughput as a
 * share of the ceiling's, with the ceiling (1.0) and the hot path's target (0.70) marked.
 * Plain SVG, written by `npm run bench` into docs/, so the page shows the latest run
 * without a network or a charting library.
 */

export interface ChartRow {
  scenario: string
  server: string
  result: { requestsPerSecond: number }
}

const WIDTH = 760
const LABEL_WIDTH = 200
const PLOT_WIDTH = 480
const BAR_HEIGHT = 14
const GROUP_GAP = 14
const TOP = 84
const SERVERS: ReadonlyArray<{ name: string, colour: string }> = [
  { name: 'users-service', colour: '#2b6cb0' },
  { name: 'express', colour: '#a0aec0' }
]
const HOT_PATH_TARGET = 0.7

function escapeXml (text: string): string {
  return text.replace(/[<>&'"]/g, (character) => `&#${character.charCodeAt(0)};`)
}

/** Ratios above 1 (a server faster than the ceiling) still fit: the axis grows to the largest. */
export function ratioChart (rows: readonly ChartRow[], caption: string): string {
  const scenarios = [...new Set(rows.map((row) => row.scenario))]
  const rate = (scenario: string, server: string): number | undefined =>
    rows.find((row) => row.scenario === scenario && row.server.startsWith(server))?.result.requestsPerSecond
  const ratios = scenarios.map((scenario) => {
    const ceiling = rate(scenario, 'ceiling')
    return SERVERS.map(({ name }) => {
      const served = rate(scenario, name)
      return served === undefined || ceiling === undefined || ceiling === 0 ? undefined : served / ceiling
    })
  })
  const axisMax = Math.max(1, ...ratios.flat().filter((ratio): ratio is number => ratio !== undefined))
  const x = (ratio: number): number => LABEL_WIDTH + (ratio / axisMax) * PLOT_WIDTH
  const groupHeight = SERVERS.length * BAR_HEIGHT + GROUP_GAP
  const height = TOP + scenarios.length * groupHeight + 40
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="sans-serif" font-size="12">`,
    '<title>Throughput as a share of the ceiling (bare node:http + postgres.js)</title>',
    `<rect width="${WIDTH}" height="${height}" fill="#ffffff"/>`,
    '<text x="16" y="20" font-size="14" font-weight="bold">req/s × ceiling (bare node:http + postgres.js)</text>',
    `<text x="16" y="38" fill="#4a5568">${escapeXml(caption)}</text>`
  ]
  SERVERS.forEach(({ name, colour }, index) => {
    const legendX = LABEL_WIDTH + index * 140
    const legendY = 62
    parts.push(`<rect x="${legendX}" y="${legendY - 10}" width="10" height="10" fill="${colour}"/>`, `<text x="${legendX + 16}" y="${legendY}">${escapeXml(name)}</text>`)
  })
  scenarios.forEach((scenario, group) => {
    const groupTop = TOP + group * groupHeight
    parts.push(`<text x="${LABEL_WIDTH - 8}" y="${groupTop + BAR_HEIGHT + 4}" text-anchor="end">${escapeXml(scenario)}</text>`)
    SERVERS.forEach(({ name, colour }, index) => {
      const ratio = ratios[group]![index]
      if (ratio === undefined) return
      const y = groupTop + index * BAR_HEIGHT
      parts.push(
        `<rect x="${LABEL_WIDTH}" y="${y}" width="${(x(ratio) - LABEL_WIDTH).toFixed(1)}" height="${BAR_HEIGHT - 2}" fill="${colour}"><title>${escapeXml(`${scenario}, ${name}: ${ratio.toFixed(2)} × ceiling`)}</title></rect>`,
        `<text x="${(x(ratio) + 4).toFixed(1)}" y="${y + BAR_HEIGHT - 3}" font-size="11">${ratio.toFixed(2)}</text>`
      )
    })
  })
  const axisBottom = TOP + scenarios.length * groupHeight
  for (const [ratio, label, dash] of [[1, 'ceiling 1.00', ''], [HOT_PATH_TARGET, 'hot-path target 0.70', ' stroke-dasharray="4 3"']] as const) {
    parts.push(
      `<line x1="${x(ratio).toFixed(1)}" y1="${TOP - 6}" x2="${x(ratio).toFixed(1)}" y2="${axisBottom}" stroke="#c53030"${dash}/>`,
      `<text x="${x(ratio).toFixed(1)}" y="${axisBottom + 16}" text-anchor="middle" fill="#c53030" font-size="11">${label}</text>`
    )
  }
  parts.push('</svg>')
  return `${parts.join('\n')}\n`
}
