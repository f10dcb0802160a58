import assert from 'node:assert/strict'
import { createHash, generateKeyPairSync, sign, verify, constants } from 'node:crypto'
import { describe, it } from 'node:test'
import { generateKeyMaterial, KEY_PAIR_OPERATIONS } from '../../src/crypto/index.js'
import {
  ecPrivateScalar,
  isStrictDerSignature,
  readTlv,
  spkiPublicKeyBits,
} from '../../src/crypto/der.js'
import {
  ENCRYPTION_ALGORITHMS,
  KEY_SPECS,
  SIGNING_ALGORITHMS,
  type KeyMaterialSpec,
} from '../../src/domain/key-specs.js'
import { systemRandom } from '../../src/ports/random.js'

/**
 * The pure crypto module on its own: standard known answers, and the edges the operation tests
 * cannot reach (odd RSA modulus sizes, hostile SM2 ciphertexts, malformed DER).
 */
/** A fresh RSA key pair as DER (PKCS #8, SPKI). */
const rsaPair = (modulusLength: number) =>
  generateKeyPairSync('rsa', {
    modulusLength,
    publicKeyEncoding: { type: 'spki', format: 'der' },
    privateKeyEncoding: { type: 'pkcs8', format: 'der' },
  })

describe('src/crypto', () => {
  it('Ed25519ph matches RFC 8032 §7.3 (test vector "abc")', () => {
    const seed = '833fe62409237b9d62ec77587520911e9a759cec1d19755b7da901b96dca3d42'
    const pkcs8 = Buffer.from('302e020100300506032b657004220420' + seed, 'hex')
    const spki = Buffer.from(
      '302a300506032b6570032100ec172b93ad5e563bf4932c70e1245034c35467ef2efd4d64ebf819683467e2bf',
      'hex',
    )
    const common = {
      material: KEY_SPECS.ECC_NIST_EDWARDS25519.material,
      publicKey: spki,
      algorithm: SIGNING_ALGORITHMS.ED25519_PH_SHA_512,
      messageType: 'DIGEST' as const,
      message: Buffer.from('abc'),
    }
    const signature = KEY_PAIR_OPERATIONS.sign({ ...common, privateKey: pkcs8 })
    assert.equal(
      signature.toString('hex'),
      '98a70222f0b8121aa9d30f813d683f809e462b469c7ff87639499bb94e6dae41' +
        '31f85042463c2a355a2003d062adf5aaa10b8c61e636062aaad11c2a26083406',
    )
    assert.equal(KEY_PAIR_OPERATIONS.verify({ ...common, signature }), true)
    assert.equal(
      KEY_PAIR_OPERATIONS.verify({ ...common, signature, message: Buffer.from('abd') }),
      false,
    )
  })

  it('RSASSA-PKCS1-v1_5 over a digest is byte for byte what OpenSSL signs over the message', () => {
    const { privateKey, publicKey } = rsaPair(2048)
    const message = Buffer.from('deterministic')
    for (const alg of [
      'RSASSA_PKCS1_V1_5_SHA_256',
      'RSASSA_PKCS1_V1_5_SHA_384',
      'RSASSA_PKCS1_V1_5_SHA_512',
    ] as const) {
      const facts = SIGNING_ALGORITHMS[alg]
      const ours = KEY_PAIR_OPERATIONS.sign({
        material: { kind: 'rsa', modulusBits: 2048 },
        privateKey,
        publicKey,
        algorithm: facts,
        messageType: 'DIGEST',
        message: createHash(facts.hash).update(message).digest(),
      })
      const openssl = sign(facts.hash, message, { key: privateKey, format: 'der', type: 'pkcs8' })
      assert.deepEqual(ours, openssl, alg)
    }
  })

  it('RSASSA-PSS over a digest with a modulus that is not a multiple of 8 bits', () => {
    // emLen < k here (RFC 8017 §9.1.1): the encoding is one byte shorter than the modulus.
    const { privateKey, publicKey } = rsaPair(2049)
    const material: KeyMaterialSpec = { kind: 'rsa', modulusBits: 2049 }
    const algorithm = SIGNING_ALGORITHMS.RSASSA_PSS_SHA_512
    const message = Buffer.from('odd modulus')
    const digest = createHash('sha512').update(message).digest()
    const common = { material, publicKey, algorithm, messageType: 'DIGEST' as const }
    const signature = KEY_PAIR_OPERATIONS.sign({ ...common, privateKey, message: digest })
    const key = { key: publicKey, format: 'der' as const, type: 'spki' as const }
    const pss = { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 64 }
    assert.equal(verify('sha512', message, { ...key, ...pss }, signature), true)
    assert.equal(KEY_PAIR_OPERATIONS.verify({ ...common, message: digest, signature }), true)
    const raw = sign('sha512', message, { key: privateKey, format: 'der', type: 'pkcs8', ...pss })
    assert.equal(KEY_PAIR_OPERATIONS.verify({ ...common, message: digest, signature: raw }), true)
    signature[10]! ^= 1
    assert.equal(KEY_PAIR_OPERATIONS.verify({ ...common, message: digest, signature }), false)
  })

  it('SM2PKE refuses a ciphertext whose C1 is not on the curve, without throwing', async () => {
    const material = KEY_SPECS.SM2.material
    const { privateKey, publicKey } = await generateKeyMaterial(material, systemRandom)
    const algorithm = ENCRYPTION_ALGORITHMS.SM2PKE
    const ciphertext = KEY_PAIR_OPERATIONS.encrypt({
      material,
      publicKey: publicKey!,
      algorithm,
      plaintext: Buffer.from('secret'),
    })
    const open = (c: Buffer) =>
      KEY_PAIR_OPERATIONS.decrypt({ material, privateKey, algorithm, ciphertext: c })
    assert.deepEqual(open(ciphertext), Buffer.from('secret'))
    // The y coordinate is the second INTEGER of the SEQUENCE: nudge its last byte.
    const seq = readTlv(ciphertext)
    const x = readTlv(seq.content)
    const y = readTlv(seq.content, x.end)
    const offCurve = Buffer.from(ciphertext)
    const yLastByte = ciphertext.length - seq.content.length + y.end - 1
    offCurve[yLastByte]! ^= 1
    assert.equal(open(offCurve), undefined)
    assert.equal(open(Buffer.from('garbage')), undefined)
    assert.equal(open(Buffer.alloc(0)), undefined)
  })

  it('DER helpers refuse malformed input', () => {
    assert.throws(() => readTlv(Buffer.from('30', 'hex')), /truncated/)
    assert.throws(() => readTlv(Buffer.from('3085', 'hex')), /bad length/)
    assert.throws(() => readTlv(Buffer.from('300501', 'hex')), /truncated/)
    assert.throws(() => spkiPublicKeyBits(Buffer.from('300100', 'hex')))
    assert.throws(() => ecPrivateScalar(Buffer.from('3000', 'hex'), 32))
  })

  it('generates material of the length and kind each key spec names', async () => {
    for (const [spec, caps] of Object.entries(KEY_SPECS)) {
      if (caps.material.kind === 'rsa') continue // sizes are checked by the GetPublicKey tests
      const m = await generateKeyMaterial(caps.material, systemRandom)
      const expected =
        caps.material.kind === 'aes' || caps.material.kind === 'hmac'
          ? caps.material.bytes
          : caps.material.kind === 'ml-dsa'
            ? 32
            : undefined
      if (expected !== undefined) assert.equal(m.privateKey.length, expected, spec)
      assert.equal(m.publicKey === undefined, ['aes', 'hmac'].includes(caps.material.kind), spec)
    }
  })
})

describe('signature malleability', () => {
  it('every single-bit change of an SM2 or ECDSA signature fails to verify', async () => {
    for (const spec of ['SM2', 'ECC_NIST_P256', 'ECC_SECG_P256K1'] as const) {
      const material = KEY_SPECS[spec].material
      const { privateKey, publicKey } = await generateKeyMaterial(material, systemRandom)
      const algorithm = SIGNING_ALGORITHMS[spec === 'SM2' ? 'SM2DSA' : 'ECDSA_SHA_256']
      const common = {
        material,
        publicKey: publicKey!,
        algorithm,
        messageType: 'RAW' as const,
        message: Buffer.from('malleable?'),
      }
      const signature = KEY_PAIR_OPERATIONS.sign({ ...common, privateKey })
      assert.equal(KEY_PAIR_OPERATIONS.verify({ ...common, signature }), true, spec)
      for (let byte = 0; byte < signature.length; byte++) {
        for (let bit = 0; bit < 8; bit++) {
          const changed = Buffer.from(signature)
          changed[byte]! ^= 1 << bit
          assert.equal(
            KEY_PAIR_OPERATIONS.verify({ ...common, signature: changed }),
            false,
            `${spec}: byte ${byte} bit ${bit}`,
          )
        }
      }
    }
  })

  it('isStrictDerSignature refuses non-minimal and trailing encodings', () => {
    const rows: Array<[string, string, boolean]> = [
      ['minimal', '3006020101020102', true],
      ['leading zero on a small integer', '300702020001020102', false],
      ['negative integer', '3006020181020102', false],
      ['long-form length', '308106020101020102', false],
      ['trailing byte', '300602010102010200', false],
      ['BIT STRING instead of INTEGER', '3006030101020102', false],
      ['three integers', '3009020101020102020103', false],
    ]
    for (const [name, hex, expected] of rows) {
      assert.equal(isStrictDerSignature(Buffer.from(hex, 'hex')), expected, name)
    }
  })
})
