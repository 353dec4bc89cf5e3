import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { parse, parseAllDocuments } from 'yaml'
import { EnvSchema } from '../src/config.js'
import { buildTestApp } from './helpers/app.js'

const K8S = 'deploy/k8s'
const knownVariables = new Set(Object.keys(EnvSchema.properties))

interface Manifest { apiVersion: string, kind: string, metadata: { name: string }, spec?: any, data?: Record<string, string>, stringData?: Record<string, string> }

/** The kubernetes-models class for a manifest, e.g. apps/v1 Deployment → kubernetes-models/apps/v1. */
async function modelFor (manifest: Manifest): Promise<new (value: unknown) => { validate (): void }> {
  const module = await import(`kubernetes-models/${manifest.apiVersion}`) as Record<string, new (value: unknown) => { validate (): void }>
  const model = module[manifest.kind]
  if (model === undefined) throw new Error(`no model for ${manifest.apiVersion} ${manifest.kind}`)
  return model
}

async function manifests (): Promise<Array<{ file: string, manifest: Manifest }>> {
  const files = (await readdir(K8S)).filter((file) => file.endsWith('.yaml') && file !== 'kustomization.yaml')
  const all = []
  for (const file of files) {
    for (const document of parseAllDocuments(await readFile(join(K8S, file), 'utf8'))) all.push({ file, manifest: document.toJS() as Manifest })
  }
  return all
}

t.test('every manifest is valid against the Kubernetes schemas, and kustomize lists them all', async (t) => {
  const all = await manifests()
  for (const { file, manifest } of all) {
    const Model = await modelFor(manifest)
    t.doesNotThrow(() => new Model(manifest).validate(), `${file}: ${manifest.kind} ${manifest.metadata.name} is valid`)
  }
  const kustomization = parse(await readFile(join(K8S, 'kustomization.yaml'), 'utf8')) as { resources: string[] }
  t.same([...kustomization.resources].sort(), [...new Set(all.map(({ file }) => file))].sort(), 'kustomization.yaml lists every manifest')
  t.same(all.map(({ manifest }) => manifest.kind).sort(), ['ConfigMap', 'Deployment', 'HorizontalPodAutoscaler', 'Job', 'PodDisruptionBudget', 'Secret', 'Service'])
})

t.test('the manifests match the app: probe paths, port, variables, grace period, security', async (t) => {
  const all = Object.fromEntries((await manifests()).map(({ manifest }) => [manifest.kind, manifest]))
  const config = all.ConfigMap!.data!
  const secret = all.Secret!.stringData!
  for (const variable of [...Object.keys(config), ...Object.keys(secret)]) t.ok(knownVariables.has(variable), `${variable} is a variable the service reads`)

  const pod = all.Deployment!.spec.template.spec
  const [container] = pod.containers
  t.equal(container.ports[0].containerPort, Number(config.PORT), 'the container port is the PORT the app listens on')
  t.equal(all.Service!.spec.ports[0].targetPort, container.ports[0].name)

  const { app } = await buildTestApp(t, { url: undefined, pgliteDataDir: 'memory://', poolMax: 1 })
  for (const probe of ['startupProbe', 'livenessProbe', 'readinessProbe']) {
    const path = container[probe].httpGet.path as string
    t.ok(app.hasRoute({ method: 'GET', url: path }), `${probe} ${path} is a route of the app`)
    t.equal((await app.inject(path)).statusCode, 200, `${probe} ${path} answers 200`)
  }
  t.equal(container.readinessProbe.httpGet.path, '/health/ready')
  t.equal(container.livenessProbe.httpGet.path, '/health/live')
  t.ok(app.hasRoute({ method: 'GET', url: all.Deployment!.spec.template.metadata.annotations['prometheus.io/path'] }), 'the scrape path exists')

  const preStopSeconds = container.lifecycle.preStop.sleep.seconds as number
  t.ok(pod.terminationGracePeriodSeconds * 1000 > Number(config.SHUTDOWN_GRACE_MS) + preStopSeconds * 1000,
    'the kubelet waits longer than the pause plus the app\'s own grace period')
  t.equal(pod.securityContext.runAsNonRoot, true)
  t.equal(container.securityContext.readOnlyRootFilesystem, true)
  t.equal(container.securityContext.allowPrivilegeEscalation, false)
  t.ok(container.resources.requests.cpu !== undefined && container.resources.limits.memory !== undefined, 'resources are set')

  const job = all.Job!.spec.template.spec.containers[0]
  t.same(job.command, ['npm', 'run', 'db:migrate'])
  const scripts = JSON.parse(await readFile('package.json', 'utf8')).scripts as Record<string, string>
  t.ok(scripts['db:migrate'] !== undefined, 'the Job runs a script that exists')
  t.equal(all.HorizontalPodAutoscaler!.spec.scaleTargetRef.name, all.Deployment!.metadata.name)
})

t.test('docker-compose.yml and the Dockerfile use what the app reads', async (t) => {
  const compose = parse(await readFile('docker-compose.yml', 'utf8')) as { services: Record<string, { environment?: Record<string, string> }> }
  for (const variable of Object.keys(compose.services.app!.environment!)) t.ok(knownVariables.has(variable), `compose sets ${variable}, which the service reads`)
  const dockerfile = await readFile('Dockerfile', 'utf8')
  t.match(dockerfile, /^FROM node:20-[a-z]+-slim AS build$/m)
  t.match(dockerfile, /npm ci --omit=dev/)
  t.match(dockerfile, /^USER node$/m)
  t.match(dockerfile, /^ENV NODE_ENV=production$/m)
  t.match(dockerfile, /^HEALTHCHECK .*\n.*\/health\/live/m)
  t.match(dockerfile, /^CMD \["node", "dist\/src\/server\.js"\]$/m, 'exec form, so signals reach node')
})
