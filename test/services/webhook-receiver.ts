import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http'

export interface ReceivedWebhook {
  headers: IncomingHttpHeaders
  body: string
}

/** What the receiver does with one request: answer with a status, or never answer. */
export type Behaviour = (webhook: ReceivedWebhook, attempt: number) => number | 'hang'

export interface WebhookReceiver {
  url: string
  /** Every request, in the order they arrived. */
  readonly requests: ReceivedWebhook[]
  /** The webhooks answered with a 2xx, in the order they were answered. */
  readonly delivered: ReceivedWebhook[]
  /** The most deliveries of one webhook-id that were ever in progress at once. */
  readonly mostAtOnce: number
  behave (behaviour: Behaviour): void
  close (): Promise<void>
}

/** A real HTTP receiver on a loopback port whose answers a test decides. */
export async function startWebhookReceiver (): Promise<WebhookReceiver> {
  const requests: ReceivedWebhook[] = []
  const delivered: ReceivedWebhook[] = []
  const attempts = new Map<string, number>()
  const inProgress = new Map<string, number>()
  const hanging = new Set<ServerResponse>()
  let behaviour: Behaviour = () => 204
  let mostAtOnce = 0

  const server = createServer((request, response) => {
    let body = ''
    request.setEncoding('utf8')
    request.on('data', (chunk: string) => { body += chunk })
    request.on('end', () => {
      const webhook = { headers: request.headers, body }
      const id = String(request.headers['webhook-id'])
      requests.push(webhook)
      attempts.set(id, (attempts.get(id) ?? 0) + 1)
      inProgress.set(id, (inProgress.get(id) ?? 0) + 1)
      mostAtOnce = Math.max(mostAtOnce, inProgress.get(id)!)
      const done = () => inProgress.set(id, inProgress.get(id)! - 1)
      const answer = behaviour(webhook, attempts.get(id)!)
      if (answer === 'hang') {
        hanging.add(response)
        response.on('close', done)
        return
      }
      // Later than the answer a slow sender might wait for: a concurrent duplicate would overlap.
      setTimeout(() => {
        if (answer >= 200 && answer < 300) delivered.push(webhook)
        done()
        response.writeHead(answer, { 'content-type': 'text/plain' }).end('the receiver\'s own words, never to be logged')
      }, 5)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  return {
    url: `http://127.0.0.1:${port}/hooks/users`,
    requests,
    delivered,
    get mostAtOnce () { return mostAtOnce },
    behave (next) { behaviour = next },
    async close () {
      for (const response of hanging) response.destroy()
      server.closeAllConnections()
      await new Promise((resolve) => server.close(resolve))
    }
  }
}
