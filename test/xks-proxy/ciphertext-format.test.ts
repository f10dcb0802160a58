import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import {
  CIPHERTEXT_METADATA_V1,
  ciphertextDataIntegrityValue,
  gcmAad,
} from '../../src/xks-proxy/ciphertext-format.js'

const b64 = (s: string) => Buffer.from(s, 'base64')

describe('XKS ciphertext format', () => {
  it("computes the spec's CDIV test vector (Appendix C)", () => {
    const cdiv = ciphertextDataIntegrityValue({
      aad: b64('cHJvamVjdD1uaWxlLGRlcGFydG1lbnQ9bWFya2V0aW5n'),
      ciphertextMetadata: b64('a2V5X3ZlcnNpb249MQ=='),
      iv: b64('HMrlRw85cAJUd5Ax'),
      ciphertext: b64('ghxkK1txeDNn3q8Y'),
      tag: b64('vBxN2ncH1oEkR8WVXpmyYQ=='),
    })
    assert.equal(cdiv.toString('base64'), 'qHA/ImC9h5HsLRXqCyPmWgYx7tzyoTplzILbP0fPXsc=')
    assert.equal(
      cdiv.toString('hex'),
      'a8703f2260bd8791ec2d15ea0b23e65a0631eedcf2a13a65cc82db3f47cf5ec7',
    )
  })

  it('lays the AAD out as 2-byte length, AAD, 1-byte length, metadata (spec, Encrypt)', () => {
    assert.equal(
      gcmAad(Buffer.from('ctx'), CIPHERTEXT_METADATA_V1).toString('hex'),
      '0003637478' + '0101',
    )
    assert.equal(gcmAad(Buffer.alloc(0), Buffer.alloc(0)).toString('hex'), '000000')
    const big = gcmAad(Buffer.alloc(8192, 0xaa), CIPHERTEXT_METADATA_V1)
    assert.equal(big.readUInt16BE(0), 8192)
    assert.equal(big.length, 2 + 8192 + 1 + 1)
    // No AAD with metadata is not the same bytes as the metadata given as AAD.
    assert.notDeepEqual(
      gcmAad(Buffer.alloc(0), Buffer.from([1])),
      gcmAad(Buffer.from([1]), Buffer.alloc(0)),
    )
    assert.throws(() => gcmAad(Buffer.alloc(65536), Buffer.alloc(0)), RangeError)
  })
})
