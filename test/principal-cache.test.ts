import t from 'tap'
import { principalCache } from '../src/principal-cache.js'

function cacheWithClock (options: { ttlMs?: number, maxEntries?: number } = {}) {
  // lru-cache reads a start time of 0 as "no TTL", so the injected clock starts elsewhere.
  let now = 1_000_000
  const cache = principalCache({ ttlMs: options.ttlMs ?? 1000, maxEntries: options.maxEntries ?? 100, now: () => now })
  return { cache, advance: (ms: number) => { now += ms } }
}

t.test('a remembered role lasts for the TTL, no longer', async (t) => {
  const { cache, advance } = cacheWithClock({ ttlMs: 1000 })
  cache.set('a', 'admin', cache.generation())
  advance(1000)
  t.equal(cache.get('a'), 'admin', 'still there at the TTL')
  advance(1)
  t.equal(cache.get('a'), undefined, 'gone once the TTL has passed')
})

t.test('forget and clear drop entries', async (t) => {
  const { cache } = cacheWithClock()
  cache.set('a', 'admin', cache.generation())
  cache.set('b', 'user', cache.generation())
  cache.forget('a')
  t.equal(cache.get('a'), undefined)
  t.equal(cache.get('b'), 'user')
  cache.clear()
  t.equal(cache.get('b'), undefined)
})

t.test('a read that began before a change is not remembered', async (t) => {
  const { cache } = cacheWithClock()
  const readAt = cache.generation()
  cache.forget('a')
  cache.set('a', 'admin', readAt)
  t.equal(cache.get('a'), undefined, 'forget happened during the read')
  const clearedDuring = cache.generation()
  cache.clear()
  cache.set('a', 'admin', clearedDuring)
  t.equal(cache.get('a'), undefined, 'clear happened during the read')
  cache.set('a', 'admin', cache.generation())
  t.equal(cache.get('a'), 'admin', 'a read after the change is')
})

t.test('at capacity the oldest entry goes', async (t) => {
  const { cache } = cacheWithClock({ maxEntries: 2 })
  cache.set('a', 'user', cache.generation())
  cache.set('b', 'user', cache.generation())
  cache.set('a', 'admin', cache.generation())
  cache.set('c', 'user', cache.generation())
  t.equal(cache.get('b'), undefined, 'b was the oldest write')
  t.equal(cache.get('a'), 'admin')
  t.equal(cache.get('c'), 'user')
})
