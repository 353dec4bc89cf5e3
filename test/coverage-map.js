// tap's coverage map: every test measures the service's own code. The SDK's generated
// client (sdk/src/generated) is the generator's code, tested by being used, not ours to cover.
const OWN_CODE = ['src/**/*.ts', 'plugins/**/*.ts', 'routes/**/*.ts', 'schemas/**/*.ts', 'sdk/src/index.ts']

export default function coverageMap () {
  return OWN_CODE
}
