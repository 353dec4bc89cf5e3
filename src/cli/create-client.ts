/**
 * npm run client:create -- --name billing --scope users:read [--scope events:read] [--auth-method client_secret_post]
 * Registers a machine client without an HTTP call (the first one, say) and prints its
 * id and secret once; only the secret's hash is kept. For `private_key_jwt`, pass the
 * public JWK Set with --jwks '{"keys":[…]}' instead: nothing secret is printed then.
 */
import { parseArgs } from 'node:util'
import { SYSTEM } from '../access/actor.ts'
import { createClient } from '../clients/clients.ts'
import { CLIENT_AUTH_METHODS, type ClientAuthMethod } from '../clients/scopes.ts'
import { operatorDomain } from './operator-domain.ts'
import { loadConfig } from '../config.ts'
import { connectDatabase } from '../db/connect.ts'
import { CommandFailure, runAsMain, type CommandIo } from './command.ts'

function isAuthMethod (value: string): value is ClientAuthMethod {
  return (CLIENT_AUTH_METHODS as readonly string[]).includes(value)
}

function parsedJwks (text: string | undefined): { keys: Array<{ kty: string }> } | undefined {
  if (text === undefined) return undefined
  try {
    const parsed = JSON.parse(text) as unknown
    if (typeof parsed === 'object' && parsed !== null && Array.isArray((parsed as { keys?: unknown }).keys)) return parsed as { keys: Array<{ kty: string }> }
  } catch {}
  throw new CommandFailure('--jwks must be a JSON Web Key Set: {"keys": [...]}')
}

export async function createClientCommand (io: CommandIo): Promise<void> {
  const { values } = parseArgs({
    args: io.args,
    options: { name: { type: 'string' }, scope: { type: 'string', multiple: true, default: [] }, 'auth-method': { type: 'string' }, jwks: { type: 'string' } }
  })
  if (values.name === undefined || values.name.trim() === '') throw new CommandFailure('--name is required')
  const authMethod = values['auth-method'] ?? 'client_secret_basic'
  if (!isAuthMethod(authMethod)) throw new CommandFailure(`--auth-method must be one of: ${CLIENT_AUTH_METHODS.join(', ')}`)
  const jwks = parsedJwks(values.jwks)

  const config = loadConfig(io.env)
  const connection = await connectDatabase(config.database)
  try {
    await connection.migrate()
    // The operator at the machine: the CLI acts as the system, under the same rules as every caller.
    const { client, secret } = await createClient(operatorDomain(connection.db, config), SYSTEM, {
      name: values.name,
      scopes: values.scope,
      auth_method: authMethod,
      jwks
    })
    io.stdout.write(`created client ${client.name} (${client.id}) with scopes ${client.scopes.join(' ') || '(none)'}\n`)
    if (secret !== undefined) io.stdout.write(`client_id=${client.id}\nclient_secret=${secret}\n`)
  } finally {
    await connection.close()
  }
}

if (import.meta.main) await runAsMain('client:create', createClientCommand)
