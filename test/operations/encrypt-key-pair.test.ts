import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import {
  CreateKeyCommand,
  DecryptCommand,
  DisableKeyCommand,
  EncryptCommand,
  GetPublicKeyCommand,
  ReEncryptCommand,
  type EncryptionAlgorithmSpec,
  type KeySpec as SdkKeySpec,
  type KMSClient,
} from '@aws-sdk/client-kms'
import { KEY_SPECS, type EncryptionAlgorithm, type KeySpec } from '../../src/domain/key-specs.js'
import { expectKmsError } from '../support/assertions.js'
import { startKeyward, type TestServer } from '../support/keyward-server.js'
import { OpenSslWorkspace } from '../support/openssl.js'
import { createSymmetricKey, NO_MESSAGE, type TestKey } from './crypto-fixtures.js'

/**
 * Encrypt, Decrypt and ReEncrypt with RSA and SM2 key pairs, for every spec × encryption
 * algorithm of the table: data `openssl pkeyutl` encrypts with GetPublicKey's DER decrypts
 * through Decrypt; ciphertexts are raw (the modulus length for RSA); the plaintext limits and
 * refusals carry AWS's messages.
 */
const PAIR_SPECS = (Object.keys(KEY_SPECS) as KeySpec[]).filter((s) =>
  KEY_SPECS[s].encryptionAlgorithms.some((a) => a !== 'SYMMETRIC_DEFAULT'),
)

/** `openssl pkeyutl -encrypt` options for each algorithm (MGF1 hash = OAEP hash, as AWS). */
const OPENSSL_OPTIONS: Record<string, string[]> = {
  RSAES_OAEP_SHA_1: ['-pkeyopt', 'rsa_padding_mode:oaep', '-pkeyopt', 'rsa_oaep_md:sha1'],
  RSAES_OAEP_SHA_256: [
    '-pkeyopt',
    'rsa_padding_mode:oaep',
    '-pkeyopt',
    'rsa_oaep_md:sha256',
    '-pkeyopt',
    'rsa_mgf1_md:sha256',
  ],
  SM2PKE: [],
}

describe('Encrypt, Decrypt and ReEncrypt with key pairs', () => {
  let kw: TestServer
  let kms: KMSClient
  let symmetric: TestKey
  const ws = new OpenSslWorkspace()
  const keys = new Map<KeySpec, { keyId: string; arn: string; spki: Buffer }>()

  before(async () => {
    kw = await startKeyward()
    kms = kw.client()
    symmetric = await createSymmetricKey(kms)
    await Promise.all(
      PAIR_SPECS.map(async (spec) => {
        const { KeyMetadata } = await kms.send(
          new CreateKeyCommand({ KeySpec: spec as SdkKeySpec, KeyUsage: 'ENCRYPT_DECRYPT' }),
        )
        const { PublicKey } = await kms.send(new GetPublicKeyCommand({ KeyId: KeyMetadata!.KeyId }))
        keys.set(spec, {
          keyId: KeyMetadata!.KeyId!,
          arn: KeyMetadata!.Arn!,
          spki: Buffer.from(PublicKey!),
        })
      }),
    )
  })
  after(async () => {
    ws.remove()
    await kw.close()
  })

  const opensslEncrypt = (spec: KeySpec, algorithm: string, plaintext: Buffer) =>
    ws.produce([
      'pkeyutl',
      '-encrypt',
      '-pubin',
      '-inkey',
      ws.file(keys.get(spec)!.spki),
      '-keyform',
      'DER',
      ...OPENSSL_OPTIONS[algorithm]!,
      '-in',
      ws.file(plaintext),
    ])

  const decrypt = (spec: KeySpec, algorithm: string, ciphertext: Uint8Array) =>
    kms.send(
      new DecryptCommand({
        KeyId: keys.get(spec)!.keyId,
        EncryptionAlgorithm: algorithm as EncryptionAlgorithmSpec,
        CiphertextBlob: ciphertext,
      }),
    )

  for (const spec of PAIR_SPECS) {
    const caps = KEY_SPECS[spec]
    for (const algorithm of caps.encryptionAlgorithms as EncryptionAlgorithm[]) {
      const limit = caps.plaintextLimits[algorithm]!
      it(`${spec} ${algorithm}: OpenSSL's ciphertext decrypts, up to ${limit} bytes`, async () => {
        const { keyId, arn } = keys.get(spec)!
        const plaintext = randomBytes(limit)
        const offline = opensslEncrypt(spec, algorithm, plaintext)
        const opened = await decrypt(spec, algorithm, offline)
        assert.deepEqual(Buffer.from(opened.Plaintext!), plaintext)
        assert.equal(opened.KeyId, arn)
        assert.equal(opened.EncryptionAlgorithm, algorithm)
        assert.equal(opened.KeyMaterialId, undefined)

        const sealed = await kms.send(
          new EncryptCommand({
            KeyId: keyId,
            Plaintext: plaintext,
            EncryptionAlgorithm: algorithm as EncryptionAlgorithmSpec,
          }),
        )
        assert.equal(sealed.KeyId, arn)
        assert.equal(sealed.EncryptionAlgorithm, algorithm)
        if (caps.material.kind === 'rsa') {
          assert.equal(sealed.CiphertextBlob!.length, caps.material.modulusBits / 8)
        }
        const back = await decrypt(spec, algorithm, sealed.CiphertextBlob!)
        assert.deepEqual(Buffer.from(back.Plaintext!), plaintext)

        await expectKmsError(
          kms.send(
            new EncryptCommand({
              KeyId: keyId,
              Plaintext: randomBytes(limit + 1),
              EncryptionAlgorithm: algorithm as EncryptionAlgorithmSpec,
            }),
          ),
          'ValidationException',
          `Algorithm ${algorithm} and key spec ${spec} cannot encrypt data larger than ${limit} bytes.`,
        )
        const tampered = Buffer.from(sealed.CiphertextBlob!)
        tampered[tampered.length - 1]! ^= 0x01
        await expectKmsError(
          decrypt(spec, algorithm, tampered),
          'InvalidCiphertextException',
          NO_MESSAGE,
        )
      })
    }
  }

  it('applies the limits AWS recorded for every RSA spec', () => {
    const limits = Object.fromEntries(PAIR_SPECS.map((s) => [s, KEY_SPECS[s].plaintextLimits]))
    assert.deepEqual(limits, {
      RSA_2048: { RSAES_OAEP_SHA_1: 214, RSAES_OAEP_SHA_256: 190 },
      RSA_3072: { RSAES_OAEP_SHA_1: 342, RSAES_OAEP_SHA_256: 318 },
      RSA_4096: { RSAES_OAEP_SHA_1: 470, RSAES_OAEP_SHA_256: 446 },
      SM2: { SM2PKE: 1024 },
    })
  })

  it('needs an EncryptionAlgorithm the key spec lists', async () => {
    const { keyId } = keys.get('RSA_2048')!
    const plaintext = Buffer.from('x')
    await expectKmsError(
      kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: plaintext })),
      'InvalidKeyUsageException',
      'Algorithm SYMMETRIC_DEFAULT is incompatible with key spec RSA_2048.',
    )
    await expectKmsError(
      kms.send(
        new EncryptCommand({ KeyId: keyId, Plaintext: plaintext, EncryptionAlgorithm: 'SM2PKE' }),
      ),
      'InvalidKeyUsageException',
      'Algorithm SM2PKE is incompatible with key spec RSA_2048.',
    )
    await expectKmsError(
      kms.send(
        new EncryptCommand({
          KeyId: symmetric.keyId,
          Plaintext: plaintext,
          EncryptionAlgorithm: 'RSAES_OAEP_SHA_256',
        }),
      ),
      'InvalidKeyUsageException',
      'Algorithm RSAES_OAEP_SHA_256 is incompatible with key spec SYMMETRIC_DEFAULT.',
    )
  })

  it('refuses an encryption context, in Encrypt and Decrypt', async () => {
    const { keyId } = keys.get('SM2')!
    const message =
      'EncryptionContext is not supported when encrypting/decrypting with asymmetric CMKs.'
    const input = {
      KeyId: keyId,
      EncryptionAlgorithm: 'SM2PKE',
      EncryptionContext: { a: 'b' },
    } as const
    await expectKmsError(
      kms.send(new EncryptCommand({ ...input, Plaintext: Buffer.from('x') })),
      'ValidationException',
      message,
    )
    await expectKmsError(
      kms.send(new DecryptCommand({ ...input, CiphertextBlob: Buffer.alloc(120) })),
      'ValidationException',
      message,
    )
    // An empty context is no context.
    const sealed = await kms.send(
      new EncryptCommand({ ...input, EncryptionContext: {}, Plaintext: Buffer.from('x') }),
    )
    assert.ok(sealed.CiphertextBlob)
  })

  it('Decrypt needs the KeyId, and without the algorithm the ciphertext is not one of ours', async () => {
    const { keyId } = keys.get('RSA_2048')!
    const sealed = await kms.send(
      new EncryptCommand({
        KeyId: keyId,
        Plaintext: Buffer.from('x'),
        EncryptionAlgorithm: 'RSAES_OAEP_SHA_1',
      }),
    )
    await expectKmsError(
      kms.send(
        new DecryptCommand({
          CiphertextBlob: sealed.CiphertextBlob,
          EncryptionAlgorithm: 'RSAES_OAEP_SHA_1',
        }),
      ),
      'ValidationException',
      "1 validation error detected: Value null at 'keyId' failed to satisfy constraint: Member must not be null",
    )
    // Real KMS parses the ciphertext before comparing the default algorithm with the key's
    // spec, so this is InvalidCiphertextException (floci-io/floci#3038, measured).
    await expectKmsError(
      kms.send(new DecryptCommand({ KeyId: keyId, CiphertextBlob: sealed.CiphertextBlob })),
      'InvalidCiphertextException',
      NO_MESSAGE,
    )
    // The other OAEP hash, or another key of the same spec, does not decrypt it.
    await expectKmsError(
      decrypt('RSA_2048', 'RSAES_OAEP_SHA_256', sealed.CiphertextBlob!),
      'InvalidCiphertextException',
      NO_MESSAGE,
    )
    const other = await kms.send(
      new CreateKeyCommand({ KeySpec: 'RSA_2048', KeyUsage: 'ENCRYPT_DECRYPT' }),
    )
    await expectKmsError(
      kms.send(
        new DecryptCommand({
          KeyId: other.KeyMetadata!.KeyId,
          CiphertextBlob: sealed.CiphertextBlob,
          EncryptionAlgorithm: 'RSAES_OAEP_SHA_1',
        }),
      ),
      'InvalidCiphertextException',
      NO_MESSAGE,
    )
  })

  it('refuses signing keys and disabled keys, and stops a DryRun after the checks', async () => {
    const { KeyMetadata } = await kms.send(
      new CreateKeyCommand({ KeySpec: 'RSA_2048', KeyUsage: 'SIGN_VERIFY' }),
    )
    await expectKmsError(
      kms.send(
        new EncryptCommand({
          KeyId: KeyMetadata!.KeyId,
          Plaintext: Buffer.from('x'),
          EncryptionAlgorithm: 'RSAES_OAEP_SHA_256',
        }),
      ),
      'InvalidKeyUsageException',
      `${KeyMetadata!.Arn} key usage is SIGN_VERIFY which is not valid for Encrypt.`,
    )
    const { keyId, arn } = keys.get('RSA_3072')!
    const input = { KeyId: keyId, EncryptionAlgorithm: 'RSAES_OAEP_SHA_256' } as const
    await expectKmsError(
      kms.send(new EncryptCommand({ ...input, Plaintext: Buffer.from('x'), DryRun: true })),
      'DryRunOperationException',
      'The request would have succeeded, but the DryRun option is set.',
    )
    await expectKmsError(
      kms.send(new EncryptCommand({ ...input, Plaintext: Buffer.alloc(319), DryRun: true })),
      'ValidationException',
      'Algorithm RSAES_OAEP_SHA_256 and key spec RSA_3072 cannot encrypt data larger than 318 bytes.',
    )
    const sealed = await kms.send(new EncryptCommand({ ...input, Plaintext: Buffer.from('x') }))
    await expectKmsError(
      kms.send(
        new DecryptCommand({ ...input, CiphertextBlob: sealed.CiphertextBlob, DryRun: true }),
      ),
      'DryRunOperationException',
      'The request would have succeeded, but the DryRun option is set.',
    )
    await kms.send(new DisableKeyCommand({ KeyId: keyId }))
    await expectKmsError(
      kms.send(new DecryptCommand({ ...input, CiphertextBlob: sealed.CiphertextBlob })),
      'DisabledException',
      `${arn} is disabled.`,
    )
  })

  describe('ReEncrypt', () => {
    it('moves a ciphertext from a key pair to a symmetric key and back to another pair', async () => {
      const rsa = keys.get('RSA_2048')!
      const sm2 = keys.get('SM2')!
      const plaintext = Buffer.from('travels between key types')
      const offline = opensslEncrypt('RSA_2048', 'RSAES_OAEP_SHA_256', plaintext)
      const toSymmetric = await kms.send(
        new ReEncryptCommand({
          CiphertextBlob: offline,
          SourceKeyId: rsa.keyId,
          SourceEncryptionAlgorithm: 'RSAES_OAEP_SHA_256',
          DestinationKeyId: symmetric.keyId,
          DestinationEncryptionContext: { to: 'symmetric' },
        }),
      )
      assert.equal(toSymmetric.SourceKeyId, rsa.arn)
      assert.equal(toSymmetric.KeyId, symmetric.arn)
      assert.equal(toSymmetric.SourceEncryptionAlgorithm, 'RSAES_OAEP_SHA_256')
      assert.equal(toSymmetric.DestinationEncryptionAlgorithm, 'SYMMETRIC_DEFAULT')
      assert.equal(toSymmetric.SourceKeyMaterialId, undefined)
      assert.equal(toSymmetric.DestinationKeyMaterialId, symmetric.keyMaterialId)

      const toSm2 = await kms.send(
        new ReEncryptCommand({
          CiphertextBlob: toSymmetric.CiphertextBlob,
          SourceEncryptionContext: { to: 'symmetric' },
          DestinationKeyId: sm2.keyId,
          DestinationEncryptionAlgorithm: 'SM2PKE',
        }),
      )
      assert.equal(toSm2.SourceKeyMaterialId, symmetric.keyMaterialId)
      assert.equal(toSm2.DestinationKeyMaterialId, undefined)
      assert.equal(toSm2.DestinationEncryptionAlgorithm, 'SM2PKE')
      const opened = await decrypt('SM2', 'SM2PKE', toSm2.CiphertextBlob!)
      assert.deepEqual(Buffer.from(opened.Plaintext!), plaintext)
    })

    it('needs SourceKeyId for a key pair source, and refuses contexts and oversize plaintexts', async () => {
      const rsa = keys.get('RSA_4096')!
      const sealed = await kms.send(
        new EncryptCommand({
          KeyId: rsa.keyId,
          Plaintext: Buffer.alloc(400, 1),
          EncryptionAlgorithm: 'RSAES_OAEP_SHA_1',
        }),
      )
      const base = {
        CiphertextBlob: sealed.CiphertextBlob,
        SourceKeyId: rsa.keyId,
        SourceEncryptionAlgorithm: 'RSAES_OAEP_SHA_1',
      } as const
      await expectKmsError(
        kms.send(
          new ReEncryptCommand({
            ...base,
            SourceKeyId: undefined,
            DestinationKeyId: symmetric.keyId,
          }),
        ),
        'ValidationException',
        "1 validation error detected: Value null at 'sourceKeyId' failed to satisfy constraint: Member must not be null",
      )
      await expectKmsError(
        kms.send(
          new ReEncryptCommand({
            ...base,
            SourceEncryptionContext: { a: 'b' },
            DestinationKeyId: symmetric.keyId,
          }),
        ),
        'ValidationException',
        'EncryptionContext is not supported when encrypting/decrypting with asymmetric CMKs.',
      )
      await expectKmsError(
        kms.send(
          new ReEncryptCommand({
            ...base,
            DestinationKeyId: keys.get('RSA_2048')!.keyId,
            DestinationEncryptionAlgorithm: 'RSAES_OAEP_SHA_256',
          }),
        ),
        'ValidationException',
        'Algorithm RSAES_OAEP_SHA_256 and key spec RSA_2048 cannot encrypt data larger than 190 bytes.',
      )
      await expectKmsError(
        kms.send(
          new ReEncryptCommand({
            ...base,
            DestinationKeyId: keys.get('SM2')!.keyId,
            DestinationEncryptionAlgorithm: 'SM2PKE',
            DestinationEncryptionContext: { a: 'b' },
          }),
        ),
        'ValidationException',
        'EncryptionContext is not supported when encrypting/decrypting with asymmetric CMKs.',
      )
      const moved = await kms.send(
        new ReEncryptCommand({
          ...base,
          DestinationKeyId: keys.get('SM2')!.keyId,
          DestinationEncryptionAlgorithm: 'SM2PKE',
        }),
      )
      const opened = await decrypt('SM2', 'SM2PKE', moved.CiphertextBlob!)
      assert.deepEqual(Buffer.from(opened.Plaintext!), Buffer.alloc(400, 1))
    })
  })
})
