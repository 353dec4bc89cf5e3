import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { dirname } from 'node:path'

/**
 * The contents of `file`, written first from `create()` when it does not exist yet
 * (readable by the owner only): how development keys are kept beside the embedded
 * database, so tokens and sealed secrets survive a restart of `npm start`.
 */
export async function readOrCreate (file: string, create: () => Promise<string> | string): Promise<string> {
  try {
    return await readFile(file, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
  }
  const contents = await create()
  await mkdir(dirname(file), { recursive: true })
  // 'wx': two processes starting together must not overwrite each other's keys.
  await writeFile(file, contents, { mode: 0o600, flag: 'wx' }).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'EEXIST') throw error
  })
  return readFile(file, 'utf8')
}
