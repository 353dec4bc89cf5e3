import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { createClient } from '@hey-api/openapi-ts'
import t from 'tap'
import sdkConfig from '../../sdk/openapi-ts.config.ts'
import { projectRoot } from '../../src/runtime/project-root.ts'

async function filesUnder (directory: string): Promise<Map<string, string>> {
  const entries = await readdir(directory, { recursive: true, withFileTypes: true })
  const files = entries.filter((entry) => entry.isFile()).map((entry) => join(entry.parentPath, entry.name))
  return new Map(await Promise.all(files.map(async (file) => [relative(directory, file), await readFile(file, 'utf8')] as const)))
}

t.test('the committed SDK is what the generator makes of the committed openapi.json', async (t) => {
  const scratch = await mkdtemp(join(tmpdir(), 'users-sdk-'))
  t.teardown(() => rm(scratch, { recursive: true, force: true }))
  const config = await sdkConfig as { input: string, output: { path: string } }
  await createClient({ ...config, input: join(projectRoot, config.input), output: { ...config.output, path: scratch }, logs: { file: false, level: 'silent' } } as never)
  const fresh = await filesUnder(scratch)
  const committed = await filesUnder(join(projectRoot, config.output.path))
  t.same([...committed.keys()].sort(), [...fresh.keys()].sort(), 'the same files')
  for (const [file, text] of fresh) t.equal(committed.get(file), text, `${file} is current (else run \`npm run sdk\` and commit)`)
})
