/**
 * Node arguments that run one of our TypeScript entry points in a child process
 * with the loader tap runs this test file with. Coverage from children is merged
 * with the tests' coverage by file: a second transpiler (tsx) would give the same
 * file other offsets, and the merge then drops or garbles that file's coverage.
 */
export function typescriptEntry (entry: string, ...args: string[]): string[] {
  return [...process.execArgv, entry, ...args]
}

/**
 * Environment for a tool that loads our sources through its own transpiler
 * (drizzle-kit reads the schema): its coverage of them must not be recorded.
 */
export function withoutCoverage (env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return { ...env, _TAPJS_PROCESSINFO_COVERAGE_: '0' }
}
