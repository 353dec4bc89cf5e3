import { existsSync } from 'node:fs'
import { chromium, type Browser } from 'playwright-core'

// Debian's chromium; .ci/run installs it. In CI a missing browser is a failure, never a skip.
const executablePath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'

export const browserUnavailable = !existsSync(executablePath) && process.env.CI !== 'true'
  ? `no browser at ${executablePath}: install Debian's chromium or set CHROMIUM_PATH`
  : undefined

// Without the background-networking flags Chromium calls home at start; the page itself must not.
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync']

/** Headless Debian Chromium, as the tests drive it. */
export function launchChromium (): Promise<Browser> {
  return chromium.launch({ executablePath, args: CHROMIUM_ARGS })
}
