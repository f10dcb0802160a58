import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { awsEnumOrder, javaHashSetOrder, javaStringHash } from '../../src/wire/enum-order.js'

/**
 * AWS lists enum values in a ValidationException in java.util.HashSet order. The expected
 * orders below are either recordings of real AWS answers (aws-recorded-errors.md) or the output
 * of OpenJDK 17's HashSet for the same values added one by one (marked "OpenJDK").
 */

const MODEL_KEY_SPECS = [
  'RSA_2048',
  'RSA_3072',
  'RSA_4096',
  'ECC_NIST_P256',
  'ECC_NIST_P384',
  'ECC_NIST_P521',
  'ECC_SECG_P256K1',
  'SYMMETRIC_DEFAULT',
  'HMAC_224',
  'HMAC_256',
  'HMAC_384',
  'HMAC_512',
  'SM2',
  'ML_DSA_44',
  'ML_DSA_65',
  'ML_DSA_87',
  'ECC_NIST_EDWARDS25519',
]
const RECORDED_KEY_SPECS = [
  'RSA_2048',
  'ECC_NIST_P384',
  'ECC_NIST_P256',
  'ECC_NIST_P521',
  'HMAC_384',
  'RSA_3072',
  'ECC_SECG_P256K1',
  'RSA_4096',
  'SYMMETRIC_DEFAULT',
  'HMAC_256',
  'HMAC_224',
  'HMAC_512',
]

describe('javaStringHash', () => {
  const ROWS: Array<[string, number]> = [
    ['', 0],
    ['a', 97],
    ['hello', 99162322],
    // The classic Integer.MIN_VALUE hash, which overflows on the way.
    ['polygenelubricants', -2147483648],
    ['Aa', 2112],
    ['BB', 2112],
  ]
  for (const [value, hash] of ROWS) {
    it(`"${value}".hashCode() = ${hash}`, () => assert.equal(javaStringHash(value), hash))
  }
})

describe('javaHashSetOrder', () => {
  it('gives the recorded macAlgorithm order (AWS, 2023-04-13)', () => {
    assert.deepEqual(
      javaHashSetOrder(['HMAC_SHA_224', 'HMAC_SHA_256', 'HMAC_SHA_384', 'HMAC_SHA_512']),
      ['HMAC_SHA_384', 'HMAC_SHA_256', 'HMAC_SHA_224', 'HMAC_SHA_512'],
    )
  })

  it('gives the recorded keyAgreementAlgorithm order (AWS, 2024-12-25)', () => {
    assert.deepEqual(javaHashSetOrder(['ECDH']), ['ECDH'])
  })

  it('matches OpenJDK for a table that grows past 16 buckets (17 key specs)', () => {
    assert.deepEqual(javaHashSetOrder(MODEL_KEY_SPECS), [
      'HMAC_256',
      'RSA_2048',
      'HMAC_512',
      'ECC_NIST_EDWARDS25519',
      'HMAC_224',
      'HMAC_384',
      'RSA_3072',
      'ML_DSA_65',
      'ML_DSA_87',
      'ML_DSA_44',
      'ECC_SECG_P256K1',
      'SM2',
      'ECC_NIST_P256',
      'SYMMETRIC_DEFAULT',
      'RSA_4096',
      'ECC_NIST_P521',
      'ECC_NIST_P384',
    ])
  })

  it('matches OpenJDK at exactly 12 values (16 buckets, no resize yet)', () => {
    assert.deepEqual(javaHashSetOrder(MODEL_KEY_SPECS.slice(0, 12)), [
      'HMAC_256',
      'RSA_2048',
      'RSA_3072',
      'HMAC_512',
      'HMAC_224',
      'ECC_SECG_P256K1',
      'ECC_NIST_P256',
      'SYMMETRIC_DEFAULT',
      'RSA_4096',
      'ECC_NIST_P521',
      'HMAC_384',
      'ECC_NIST_P384',
    ])
  })

  it('matches OpenJDK at 25 values (64 buckets)', () => {
    const values = Array.from({ length: 25 }, (_, i) => `VALUE_${i}`)
    const expected = [14, 13, 16, 15, 18, 17, 19, 7, 6, 9, 8, 10, 12, 11, 1, 0, 3, 2, 5, 4, 24, 21]
      .concat([20, 23, 22])
      .map((i) => `VALUE_${i}`)
    assert.deepEqual(javaHashSetOrder(values), expected)
  })

  it('matches OpenJDK for the encryption algorithms and data key specs', () => {
    assert.deepEqual(
      javaHashSetOrder(['SYMMETRIC_DEFAULT', 'RSAES_OAEP_SHA_1', 'RSAES_OAEP_SHA_256', 'SM2PKE']),
      ['SM2PKE', 'SYMMETRIC_DEFAULT', 'RSAES_OAEP_SHA_256', 'RSAES_OAEP_SHA_1'],
    )
    assert.deepEqual(javaHashSetOrder(['AES_256', 'AES_128']), ['AES_256', 'AES_128'])
  })

  it('keeps insertion order within one bucket (equal hashes)', () => {
    assert.deepEqual(javaHashSetOrder(['Aa', 'BB']), ['Aa', 'BB'])
    assert.deepEqual(javaHashSetOrder(['BB', 'Aa']), ['BB', 'Aa'])
  })
})

describe('awsEnumOrder', () => {
  it('sends the recorded keySpec list for CreateKey, then the specs added since, in model order', () => {
    assert.deepEqual(awsEnumOrder('keySpec', MODEL_KEY_SPECS), [
      ...RECORDED_KEY_SPECS,
      'SM2',
      'ML_DSA_44',
      'ML_DSA_65',
      'ML_DSA_87',
      'ECC_NIST_EDWARDS25519',
    ])
  })

  it('lists every value of the model, each once, for a recorded member', () => {
    const listed = awsEnumOrder('keySpec', MODEL_KEY_SPECS)
    assert.deepEqual([...listed].sort(), [...MODEL_KEY_SPECS].sort())
  })

  it('sends the recorded keyUsage list (AWS, 2023-04-13), then KEY_AGREEMENT', () => {
    assert.deepEqual(
      awsEnumOrder('keyUsage', [
        'SIGN_VERIFY',
        'ENCRYPT_DECRYPT',
        'GENERATE_VERIFY_MAC',
        'KEY_AGREEMENT',
      ]),
      ['ENCRYPT_DECRYPT', 'SIGN_VERIFY', 'GENERATE_VERIFY_MAC', 'KEY_AGREEMENT'],
    )
  })

  it("does not lend CreateKey's recording to GenerateDataKey's keySpec", () => {
    assert.deepEqual(awsEnumOrder('keySpec', ['AES_256', 'AES_128']), ['AES_256', 'AES_128'])
  })

  it('uses HashSet order for members without a recording', () => {
    assert.deepEqual(
      awsEnumOrder('macAlgorithm', [
        'HMAC_SHA_224',
        'HMAC_SHA_256',
        'HMAC_SHA_384',
        'HMAC_SHA_512',
      ]),
      ['HMAC_SHA_384', 'HMAC_SHA_256', 'HMAC_SHA_224', 'HMAC_SHA_512'],
    )
  })
})
