import assert from 'node:assert/strict'
import { after, describe, it } from 'node:test'
import { KEY_PAIR_OPERATIONS, signMessage, verifySignature } from '../../src/crypto/index.js'
import { CryptoPool } from '../../src/crypto/pool.js'
import { KEY_SPECS, SIGNING_ALGORITHMS } from '../../src/domain/key-specs.js'

// RFC 8032 §7.3 key (Ed25519ph, "abc"): a deterministic signature to compare across threads.
const seed = '833fe62409237b9d62ec77587520911e9a759cec1d19755b7da901b96dca3d42'
const request = {
  material: KEY_SPECS.ECC_NIST_EDWARDS25519.material,
  privateKey: Buffer.from('302e020100300506032b657004220420' + seed, 'hex'),
  publicKey: Buffer.from(
    '302a300506032b6570032100ec172b93ad5e563bf4932c70e1245034c35467ef2efd4d64ebf819683467e2bf',
    'hex',
  ),
  algorithm: SIGNING_ALGORITHMS.ED25519_PH_SHA_512,
  messageType: 'DIGEST' as const,
  message: Buffer.from('abc'),
}

describe('crypto worker pool', () => {
  const pool = new CryptoPool(2)
  after(() => pool.close())

  it('gives the same answer as the synchronous operation, as a Buffer', async () => {
    const expected = KEY_PAIR_OPERATIONS.sign(request)
    const results = await Promise.all(Array.from({ length: 8 }, () => pool.run('sign', request)))
    for (const r of results) {
      assert.ok(Buffer.isBuffer(r))
      assert.deepEqual(r, expected)
    }
    const { privateKey: _unused, ...publicRequest } = request
    assert.equal(await pool.run('verify', { ...publicRequest, signature: expected }), true)
  })

  it('fails a task that throws with the error class only, never its message', async () => {
    await assert.rejects(
      pool.run('sign', { ...request, privateKey: Buffer.from('not a key') }),
      (error: Error) => /^crypto worker: \w+$/.test(error.message),
    )
    // The pool still works afterwards.
    assert.ok(Buffer.isBuffer(await pool.run('sign', request)))
  })

  it('is what signMessage and verifySignature use (the shared pool)', async () => {
    const signature = await signMessage(request)
    const { privateKey: _unused, ...publicRequest } = request
    assert.equal(await verifySignature({ ...publicRequest, signature }), true)
  })
})
