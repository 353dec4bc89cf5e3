import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { readdir, readFile } from 'node:fs/promises'
import { delimiter, join } from 'node:path'
import { promisify } from 'node:util'
import t, { type Test } from 'tap'
import { parse, parseAllDocuments } from 'yaml'
import { EnvSchema } from '../../src/config.ts'
import { buildTestApp } from '../helpers/app.ts'
import { memoryDatabase } from '../helpers/databases.ts'

const run = promisify(execFile)
const OVERLAYS = 'deploy/k8s/overlays'
const knownVariables = new Set(Object.keys(EnvSchema.properties))
const kubectl = (process.env.PATH ?? '').split(delimiter).filter(Boolean).map((dir) => join(dir, 'kubectl')).find((path) => existsSync(path))
// In CI a missing kubectl is a failure, never a skip.
const noKubectl = kubectl === undefined && process.env.CI !== 'true' ? 'kubectl is not installed: the overlays cannot be built' : undefined

interface Manifest { apiVersion: string, kind: string, metadata: { name: string }, spec?: any, data?: Record<string, string>, stringData?: Record<string, string> }

/** The kubernetes-models class for a manifest, e.g. apps/v1 Deployment → kubernetes-models/apps/v1. */
async function modelFor (manifest: Manifest): Promise<new (value: unknown) => { validate (): void }> {
  const module = await import(`kubernetes-models/${manifest.apiVersion}`) as Record<string, new (value: unknown) => { validate (): void }>
  const model = module[manifest.kind]
  if (model === undefined) throw new Error(`no model for ${manifest.apiVersion} ${manifest.kind}`)
  return model
}

/** What `kubectl apply -k` would send: the overlay built by kustomize. */
async function build (overlay: string): Promise<Manifest[]> {
  if (kubectl === undefined) throw new Error('kubectl is not installed')
  const { stdout } = await run(kubectl, ['kustomize', join(OVERLAYS, overlay)])
  return parseAllDocuments(stdout).map((document) => document.toJS() as Manifest)
}

const overlays = (await readdir(OVERLAYS, { withFileTypes: true })).filter((entry) => entry.isDirectory()).map((entry) => entry.name).sort()

t.test('the overlays', { skip: noKubectl }, async (t) => {
  // Any further overlay is built and checked below like these two.
  t.ok(overlays.includes('example') && overlays.includes('production'), 'an example to try and a production shape')

  for (const overlay of overlays) {
    t.test(overlay, async (t) => {
      const built = await build(overlay)
      for (const manifest of built) {
        const Model = await modelFor(manifest)
        t.doesNotThrow(() => new Model(manifest).validate(), `${manifest.kind} ${manifest.metadata.name} is valid against the Kubernetes schemas`)
      }
      const kinds = built.map((manifest) => manifest.kind)
      for (const kind of ['ConfigMap', 'Deployment', 'HorizontalPodAutoscaler', 'PodDisruptionBudget', 'Service']) t.ok(kinds.includes(kind), `it has the base's ${kind}`)
      t.notOk(kinds.includes('Job'), 'no Job: migrations are an init container, so re-applying never hits an immutable Job template')

      const byKind = Object.fromEntries(built.map((manifest) => [manifest.kind, manifest]))
      const pod = byKind.Deployment!.spec.template.spec
      const [app] = pod.containers
      const [migrate] = pod.initContainers
      t.equal(migrate.image, app.image, 'the migrations run from the same image as the app')
      t.not(app.image, 'users-service', 'the image is rewritten to a registry')
      t.same(migrate.command, ['node', 'dist/src/cli/migrate.js'])
      t.same(migrate.envFrom, app.envFrom, 'with the same configuration')
      const scripts = JSON.parse(await readFile('package.json', 'utf8')).scripts as Record<string, string>
      t.match(scripts['db:migrate'], /dist\/src\/cli\/migrate\.js/, 'what npm run db:migrate runs')

      for (const variable of Object.keys(byKind.ConfigMap!.data!)) t.ok(knownVariables.has(variable), `the ConfigMap sets ${variable}, which the service reads`)
      for (const variable of Object.keys(byKind.Secret?.stringData ?? {})) t.ok(knownVariables.has(variable), `the Secret sets ${variable}, which the service reads`)
    })
  }
})

t.test('the example Secret holds every secret the service needs, as placeholders', { skip: noKubectl }, async (t) => {
  const secret = (await build('example')).find((manifest) => manifest.kind === 'Secret')!
  t.same(Object.keys(secret.stringData!).sort(), ['DATABASE_URL', 'DATA_ENCRYPTION_KEYS', 'JWT_SIGNING_KEYS', 'METRICS_TOKEN', 'REDIS_URL'])
  t.match(secret.stringData!.DATA_ENCRYPTION_KEYS, /example-only-do-not-use/, 'its data key says what it is')
  t.match(secret.stringData!.JWT_SIGNING_KEYS, /example-only-do-not-use/, 'its key says what it is')
  const deploying = await readFile('docs/deploying.md', 'utf8')
  for (const name of Object.keys(secret.stringData!)) t.match(deploying, new RegExp(`--from-literal=${name}=`), `docs/deploying.md's production steps create ${name}`)
})

t.test('the production overlay asks admins for a second factor', { skip: noKubectl }, async (t) => {
  const configMap = (await build('production')).find((manifest) => manifest.kind === 'ConfigMap')!
  t.equal(configMap.data!.MFA_REQUIRED_ROLES, 'admin')
})

t.test('only the example overlay has a Secret: applying any other can never overwrite the real one', { skip: noKubectl }, async (t) => {
  for (const overlay of overlays.filter((name) => name !== 'example')) {
    const secrets = (await build(overlay)).filter((manifest) => manifest.kind === 'Secret').map((manifest) => manifest.metadata.name)
    t.same(secrets, [], `${overlay} contains no Secret`)
  }
  t.ok((await build('example')).some((manifest) => manifest.kind === 'Secret'), 'the example brings its placeholder one')
})

t.test('the pods match the app: probe paths, port, grace period, security', { skip: noKubectl }, async (t) => {
  for (const overlay of overlays) t.test(overlay, async (t) => { await podsMatchTheApp(t, await build(overlay)) })
})

async function podsMatchTheApp (t: Test, manifests: Manifest[]): Promise<void> {
  const built = Object.fromEntries(manifests.map((manifest) => [manifest.kind, manifest]))
  const config = built.ConfigMap!.data!
  const pod = built.Deployment!.spec.template.spec
  const [container] = pod.containers
  t.equal(container.ports[0].containerPort, Number(config.PORT), 'the container port is the PORT the app listens on')
  t.equal(built.Service!.spec.ports[0].targetPort, container.ports[0].name)

  const { app } = await buildTestApp(t, await memoryDatabase())
  for (const probe of ['startupProbe', 'livenessProbe', 'readinessProbe']) {
    const path = container[probe].httpGet.path as string
    t.ok(app.hasRoute({ method: 'GET', url: path }), `${probe} ${path} is a route of the app`)
    t.equal((await app.inject(path)).statusCode, 200, `${probe} ${path} answers 200`)
  }
  t.equal(container.readinessProbe.httpGet.path, '/health/ready')
  t.equal(container.livenessProbe.httpGet.path, '/health/live')
  t.ok(app.hasRoute({ method: 'GET', url: built.Deployment!.spec.template.metadata.annotations['prometheus.io/path'] }), 'the scrape path exists')

  const preStopSeconds = container.lifecycle.preStop.sleep.seconds as number
  t.ok(pod.terminationGracePeriodSeconds * 1000 > Number(config.SHUTDOWN_GRACE_MS) + preStopSeconds * 1000,
    'the kubelet waits longer than the pause plus the app\'s own grace period')
  t.equal(built.Deployment!.spec.strategy.rollingUpdate.maxUnavailable, 0, 'old pods serve until new ones (migrated, ready) take over')
  t.equal(pod.securityContext.runAsNonRoot, true)
  for (const each of [...pod.containers, ...pod.initContainers]) {
    t.equal(each.securityContext.readOnlyRootFilesystem, true, `${each.name}: read-only root`)
    t.equal(each.securityContext.allowPrivilegeEscalation, false, `${each.name}: no escalation`)
    t.ok(each.resources.requests.cpu !== undefined && each.resources.limits.memory !== undefined, `${each.name}: resources are set`)
  }
  t.equal(built.HorizontalPodAutoscaler!.spec.scaleTargetRef.name, built.Deployment!.metadata.name)
  t.equal(built.Deployment!.spec.replicas, undefined, 'the HPA owns the replica count: a re-apply does not reset it')
}

t.test('docker-compose.yml and the Dockerfile use what the app reads, on Node 24', async (t) => {
  const compose = parse(await readFile('docker-compose.yml', 'utf8')) as { services: Record<string, { environment?: Record<string, string> }> }
  for (const variable of Object.keys(compose.services.app!.environment!)) t.ok(knownVariables.has(variable), `compose sets ${variable}, which the service reads`)
  const dockerfile = await readFile('Dockerfile', 'utf8')
  const engines = (JSON.parse(await readFile('package.json', 'utf8')) as { engines: { node: string } }).engines.node
  const major = /\d+/.exec(engines)![0]
  t.equal(major, '24', 'engines names Node 24')
  t.equal([...dockerfile.matchAll(/^FROM node:(\d+)-bookworm-slim AS \w+$/gm)].map((match) => match[1]).join(), `${major},${major}`, `both stages on node:${major}, the major package.json's engines name`)
  t.match(dockerfile, /npm ci --omit=dev/)
  t.match(dockerfile, /^USER node$/m)
  t.match(dockerfile, /^ENV NODE_ENV=production$/m)
  t.match(dockerfile, /^HEALTHCHECK .*\n.*\/health\/live/m)
  t.match(dockerfile, /^CMD \["node", "dist\/src\/server\.js"\]$/m, 'exec form, so signals reach node')
})
