import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { systemRandom } from '../../src/ports/random.js'

describe('systemRandom', () => {
  it('gives the requested length, small (pooled) and large', () => {
    for (const n of [0, 1, 28, 256, 257, 1024, 9000]) assert.equal(systemRandom.bytes(n).length, n)
  })

  it('never hands out the same bytes twice across pool refills', () => {
    const seen = new Set<string>()
    for (let i = 0; i < 2000; i++) {
      const hex = systemRandom.bytes(28).toString('hex')
      assert.ok(!seen.has(hex), 'a repeated 28-byte draw')
      seen.add(hex)
    }
  })

  it('returns copies: changing one draw does not change the next', () => {
    const a = systemRandom.bytes(16)
    const b = systemRandom.bytes(16)
    a.fill(0)
    assert.notDeepEqual(b, Buffer.alloc(16))
  })
})
