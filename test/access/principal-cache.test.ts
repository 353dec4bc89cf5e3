import t from 'tap'
import { principalCache, type SessionAccess } from '../../src/access/principal-cache.ts'

function cacheWithClock (options: { ttlMs?: number, maxEntries?: number } = {}) {
  // lru-cache reads a start time of 0 as "no TTL", so the injected clock starts elsewhere.
  let now = 1_000_000
  const cache = principalCache<SessionAccess>({ ttlMs: options.ttlMs ?? 1000, maxEntries: options.maxEntries ?? 100, ownerOf: (access) => access.userId, now: () => now })
  return { cache, advance: (ms: number) => { now += ms } }
}

const ada: SessionAccess = { userId: 'ada', role: 'admin' }
const bob: SessionAccess = { userId: 'bob', role: 'user' }

t.test('what a session grants is remembered for the TTL, no longer', async (t) => {
  const { cache, advance } = cacheWithClock({ ttlMs: 1000 })
  cache.set('s1', ada, cache.generation())
  advance(1000)
  t.same(cache.get('s1'), ada, 'still there at the TTL')
  advance(1)
  t.equal(cache.get('s1'), undefined, 'gone once the TTL has passed')
})

t.test('forgetting an entry, all of an owner\'s, or everything', async (t) => {
  const { cache } = cacheWithClock()
  cache.set('ada-1', ada, cache.generation())
  cache.set('ada-2', ada, cache.generation())
  cache.set('bob-1', bob, cache.generation())
  cache.forget('ada-1')
  t.equal(cache.get('ada-1'), undefined, 'that session')
  t.same(cache.get('ada-2'), ada, 'not the user\'s others')
  cache.forgetOwner('ada')
  t.equal(cache.get('ada-2'), undefined, 'every session of the user')
  t.same(cache.get('bob-1'), bob, 'not other users\'')
  cache.clear()
  t.equal(cache.get('bob-1'), undefined)
})

t.test('a read that began before a change is not remembered', async (t) => {
  const { cache } = cacheWithClock()
  for (const change of [() => cache.forget('s1'), () => cache.forgetOwner('someone else'), () => cache.clear()]) {
    const readAt = cache.generation()
    change()
    cache.set('s1', ada, readAt)
    t.equal(cache.get('s1'), undefined, 'a change happened during the read')
  }
  cache.set('s1', ada, cache.generation())
  t.same(cache.get('s1'), ada, 'a read after the change is')
})

t.test('at capacity the least recently used entry goes', async (t) => {
  const { cache } = cacheWithClock({ maxEntries: 2 })
  cache.set('a', bob, cache.generation())
  cache.set('b', bob, cache.generation())
  cache.set('a', ada, cache.generation())
  cache.set('c', bob, cache.generation())
  t.equal(cache.get('b'), undefined, 'b was the oldest write')
  t.same(cache.get('a'), ada)
  t.same(cache.get('c'), bob)
})
