import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import t from 'tap'
import { projectRoot } from '../../src/runtime/project-root.ts'
import { withoutCoverage } from '../helpers/child-process.ts'

const run = promisify(execFile)

t.test('openapi.json passes Redocly\'s recommended ruleset with no error or warning beyond the justified ones', async (t) => {
  const { stdout } = await run('node_modules/.bin/redocly', ['lint', 'openapi.json', '--format=json'], {
    cwd: projectRoot,
    // No usage reports or update checks leave the machine.
    env: { ...withoutCoverage(process.env), REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' }
  }).catch((error: { stdout: string }) => error)
  const report = JSON.parse(stdout) as { totals: { errors: number, warnings: number, ignored: number }, problems: Array<{ ruleId: string, message: string }> }
  t.same(report.problems.map(({ ruleId, message }) => `${ruleId}: ${message}`), [], 'no findings')
  t.equal(report.totals.errors, 0)
  t.equal(report.totals.warnings, 0)
  t.equal(report.totals.ignored, 7, 'the probe, discovery and fixed-group findings in .redocly.lint-ignore.yaml, no more')
})
