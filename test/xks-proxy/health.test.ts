import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { ManualClock } from '../../src/ports/clock.js'
import { HealthChecker } from '../../src/xks-proxy/health.js'
import type { SealedGcm, XksKeyManager } from '../../src/xks-proxy/key-manager.js'

/** A key manager whose crypto takes `delayMs` and can be broken; counts the round trips. */
function fakeKeyManager(state: { delayMs: number; broken: boolean; calls: number }): XksKeyManager {
  const wait = () => new Promise((r) => setTimeout(r, state.delayMs))
  return {
    kind: 'fake',
    describeKey: async () => ({ keySpec: 'AES_256', keyUsage: ['ENCRYPT', 'DECRYPT'] }),
    encrypt: async (_id, input) => {
      state.calls++
      await wait()
      if (state.broken) throw new Error('device error')
      return {
        iv: Buffer.alloc(12),
        ciphertext: Buffer.from(input.plaintext),
        tag: Buffer.alloc(16),
      }
    },
    decrypt: async (_id, input: SealedGcm) => Buffer.from(input.ciphertext),
    ekm: async () => ({ vendor: 'Acme', id: 'hsm-1', model: 'Acme HSM 1' }),
    createKey: async () => {},
    deleteKey: async () => true,
    listKeys: async () => [],
    close: async () => {},
  }
}

describe('HealthChecker', () => {
  it('is ACTIVE when the round trip is fast, and reuses the result for the cache time', async () => {
    const state = { delayMs: 0, broken: false, calls: 0 }
    const clock = new ManualClock(1_000_000)
    const health = new HealthChecker({
      keyManager: fakeKeyManager(state),
      healthKeyId: 'h',
      clock,
      cacheMs: 10_000,
      // The round trip is timed on the real clock: a loaded test machine must not make an
      // instant fake key manager look slow (the DEGRADED bound has its own test).
      degradedAfterMs: 30_000,
    })
    const first = await health.current()
    assert.equal(first.healthStatus, 'ACTIVE')
    assert.deepEqual(first.ekm, { vendor: 'Acme', id: 'hsm-1', model: 'Acme HSM 1' })
    clock.advance(9_999)
    await health.current()
    assert.equal(state.calls, 1, 'cached')
    clock.advance(1)
    await health.current()
    assert.equal(state.calls, 2, 'checked again once stale')
  })

  it('is UNAVAILABLE when the round trip fails, and ACTIVE again once it works', async () => {
    const state = { delayMs: 0, broken: true, calls: 0 }
    const clock = new ManualClock(0)
    const health = new HealthChecker({
      keyManager: fakeKeyManager(state),
      healthKeyId: 'h',
      clock,
      cacheMs: 0,
    })
    const down = await health.current()
    assert.equal(down.healthStatus, 'UNAVAILABLE')
    assert.equal(down.problem, 'device error')
    state.broken = false
    assert.equal((await health.current()).healthStatus, 'ACTIVE')
  })

  it('is DEGRADED when the round trip works but slowly; concurrent callers share one check', async () => {
    const state = { delayMs: 40, broken: false, calls: 0 }
    const health = new HealthChecker({
      keyManager: fakeKeyManager(state),
      healthKeyId: 'h',
      clock: new ManualClock(0),
      cacheMs: 0,
      degradedAfterMs: 20,
    })
    const results = await Promise.all([health.current(), health.current(), health.current()])
    assert.deepEqual(
      results.map((r) => r.healthStatus),
      ['DEGRADED', 'DEGRADED', 'DEGRADED'],
    )
    assert.equal(state.calls, 1)
  })

  it('answers within its wait: the last result under a minute old, else DEGRADED', async () => {
    const state = { delayMs: 0, broken: false, calls: 0 }
    const clock = new ManualClock(0)
    const health = new HealthChecker({
      keyManager: fakeKeyManager(state),
      healthKeyId: 'h',
      clock,
      cacheMs: 1000,
      waitMs: 10,
      degradedAfterMs: 150,
    })
    assert.equal((await health.current()).healthStatus, 'ACTIVE')
    state.delayMs = 300
    clock.advance(30_000)
    const cached = await health.current()
    assert.deepEqual([cached.healthStatus, cached.checkedAt], ['ACTIVE', 0], 'the 30 s old result')
    // The slow check goes on in the background and is remembered.
    await new Promise((r) => setTimeout(r, 400))
    clock.advance(500)
    const slow = await health.current()
    assert.deepEqual([slow.healthStatus, slow.checkedAt], ['DEGRADED', 30_000])
    clock.advance(70_000)
    const none = await health.current()
    assert.equal(none.healthStatus, 'DEGRADED')
    assert.equal(none.checkedAt, 100_500)
    assert.match(String(none.problem), /slower than KMS waits/)
    await new Promise((r) => setTimeout(r, 350))
  })
})
