import assert from 'node:assert/strict'
import { randomBytes, randomUUID } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import {
  DecryptCommand,
  DisableKeyCommand,
  EncryptCommand,
  type DecryptCommandInput,
  type KMSClient,
} from '@aws-sdk/client-kms'
import { sealCiphertext } from '../../src/domain/ciphertext.js'
import { systemRandom } from '../../src/ports/random.js'
import { expectKmsError } from '../support/assertions.js'
import { OTHER, startKeyward, type TestServer } from '../support/keyward-server.js'
import {
  b64,
  blobLayout,
  createAlias,
  createSymmetricKey,
  expectBareWireError,
  flipBit,
  insertKey,
  NO_MESSAGE,
  sendRaw,
  setKeyState,
  type TestKey,
} from './crypto-fixtures.js'
import { AWS_MESSAGES } from '../support/aws-messages.js'

describe('Decrypt', () => {
  let kw: TestServer
  let kms: KMSClient
  let key: TestKey
  let other: TestKey
  let blob: Uint8Array
  const plaintext = Buffer.from('decrypt me, please')
  const context = { purpose: 'decrypt-tests', tenant: 'acme' }

  before(async () => {
    kw = await startKeyward()
    kms = kw.client()
    key = await createSymmetricKey(kms)
    other = await createSymmetricKey(kms)
    const enc = await kms.send(
      new EncryptCommand({ KeyId: key.keyId, Plaintext: plaintext, EncryptionContext: context }),
    )
    blob = enc.CiphertextBlob!
  })
  after(() => kw.close())

  const decrypt = (input: Partial<DecryptCommandInput> = {}) =>
    kms.send(new DecryptCommand({ CiphertextBlob: blob, EncryptionContext: context, ...input }))

  describe('succeeds', () => {
    it('without KeyId, finding the key from the blob; returns the ARN and KeyMaterialId', async () => {
      const out = await decrypt()
      assert.deepEqual(Buffer.from(out.Plaintext!), plaintext)
      assert.equal(out.KeyId, key.arn)
      assert.equal(out.EncryptionAlgorithm, 'SYMMETRIC_DEFAULT')
      assert.equal(out.KeyMaterialId, key.keyMaterialId)
    })

    for (const [form, pick] of [
      ['key ID', (k: TestKey) => k.keyId],
      ['key ARN', (k: TestKey) => k.arn],
    ] as const) {
      it(`with KeyId given as a ${form}`, async () => {
        const out = await decrypt({ KeyId: pick(key) })
        assert.deepEqual(Buffer.from(out.Plaintext!), plaintext)
        assert.equal(out.KeyId, key.arn)
      })
    }

    it('with KeyId given as an alias name or an alias ARN', async () => {
      const alias = await createAlias(kw, key.keyId)
      for (const keyId of [alias.aliasName, alias.aliasArn]) {
        const out = await decrypt({ KeyId: keyId })
        assert.deepEqual(Buffer.from(out.Plaintext!), plaintext, keyId)
        assert.equal(out.KeyId, key.arn)
      }
    })

    it('with EncryptionAlgorithm SYMMETRIC_DEFAULT given explicitly', async () => {
      const out = await decrypt({ EncryptionAlgorithm: 'SYMMETRIC_DEFAULT' })
      assert.deepEqual(Buffer.from(out.Plaintext!), plaintext)
    })

    it('answers exactly the declared members on the wire, KeyMaterialId included', async () => {
      const r = await sendRaw(kw, 'Decrypt', {
        CiphertextBlob: b64(blob),
        EncryptionContext: context,
      })
      assert.equal(r.status, 200, r.text)
      assert.deepEqual(Object.keys(r.json!).sort(), [
        'EncryptionAlgorithm',
        'KeyId',
        'KeyMaterialId',
        'Plaintext',
      ])
      assert.equal(r.json!.KeyMaterialId, key.keyMaterialId)
    })
  })

  describe('refuses a damaged or foreign ciphertext with InvalidCiphertextException and no detail', () => {
    const cases: Array<{ name: string; make: (b: Uint8Array) => Buffer }> = [
      { name: 'a bit flipped in the version byte', make: (b) => flipBit(b, 0) },
      { name: 'a bit flipped in the key-ID length', make: (b) => flipBit(b, 1, 7) },
      {
        name: 'a bit flipped in the key material ID',
        make: (b) => flipBit(b, blobLayout(b).materialAt + 5),
      },
      { name: 'a bit flipped in the salt', make: (b) => flipBit(b, blobLayout(b).saltAt + 3) },
      { name: 'a bit flipped in the IV', make: (b) => flipBit(b, blobLayout(b).ivAt) },
      { name: 'a bit flipped in the body', make: (b) => flipBit(b, blobLayout(b).bodyAt + 2) },
      { name: 'a bit flipped in the tag', make: (b) => flipBit(b, -1, 3) },
      { name: 'the tag cut off by one byte', make: (b) => Buffer.from(b.subarray(0, -1)) },
      { name: 'the body cut off', make: (b) => Buffer.from(b.subarray(0, blobLayout(b).bodyAt)) },
      { name: 'only the first byte', make: (b) => Buffer.from(b.subarray(0, 1)) },
      { name: 'a byte appended', make: (b) => Buffer.concat([b, Buffer.from([0])]) },
      { name: 'random garbage', make: () => randomBytes(120) },
      {
        name: 'an AWS KMS blob (another format)',
        make: () => Buffer.concat([Buffer.from('0102020078', 'hex'), randomBytes(151)]),
      },
      {
        name: 'a local-kms blob (another format: 1-byte ARN length, then the ARN)',
        make: () => {
          const arn = Buffer.from(key.arn)
          return Buffer.concat([Buffer.from([arn.length]), arn, randomBytes(48)])
        },
      },
    ]
    for (const c of cases) {
      it(`${c.name}: through the SDK and on the wire`, async () => {
        const damaged = c.make(blob)
        await expectKmsError(
          decrypt({ CiphertextBlob: damaged }),
          'InvalidCiphertextException',
          NO_MESSAGE,
        )
        const r = await sendRaw(kw, 'Decrypt', {
          CiphertextBlob: b64(damaged),
          EncryptionContext: context,
        })
        expectBareWireError(r, 'InvalidCiphertextException')
      })
    }

    it('also when the caller names the right key', async () => {
      await expectKmsError(
        decrypt({ CiphertextBlob: flipBit(blob, -1), KeyId: key.arn }),
        'InvalidCiphertextException',
        NO_MESSAGE,
      )
    })
  })

  describe('refuses a ciphertext whose key the caller cannot reach with AccessDeniedException', () => {
    it('when the key was never created', async () => {
      const forged = sealCiphertext(
        {
          key: {
            keyId: randomUUID(),
            keyMaterialId: randomBytes(32).toString('hex'),
            material: randomBytes(32),
          },
          plaintext,
        },
        systemRandom,
      )
      await expectKmsError(
        decrypt({ CiphertextBlob: forged, EncryptionContext: undefined }),
        'AccessDeniedException',
        AWS_MESSAGES.accessDeniedCiphertext,
      )
    })

    it('when the key belongs to another account', async () => {
      const stranger = kw.client({ credentials: OTHER })
      await expectKmsError(
        stranger.send(new DecryptCommand({ CiphertextBlob: blob, EncryptionContext: context })),
        'AccessDeniedException',
        AWS_MESSAGES.accessDeniedCiphertext,
      )
    })

    it('when the key lives in another Region', async () => {
      const elsewhere = kw.client({ region: 'eu-west-1' })
      await expectKmsError(
        elsewhere.send(new DecryptCommand({ CiphertextBlob: blob, EncryptionContext: context })),
        'AccessDeniedException',
        AWS_MESSAGES.accessDeniedCiphertext,
      )
    })
  })

  describe('checks a KeyId the caller gives', () => {
    it('IncorrectKeyException when it is not the key of the ciphertext', async () => {
      for (const keyId of [
        other.keyId,
        other.arn,
        (await createAlias(kw, other.keyId)).aliasName,
      ]) {
        await expectKmsError(
          decrypt({ KeyId: keyId }),
          'IncorrectKeyException',
          AWS_MESSAGES.incorrectKey,
        )
      }
    })

    it('NotFoundException when it names no key', async () => {
      const missing = randomUUID()
      await expectKmsError(
        decrypt({ KeyId: missing }),
        'NotFoundException',
        `Key 'arn:aws:kms:us-east-1:111122223333:key/${missing}' does not exist`,
      )
      await expectKmsError(
        decrypt({ KeyId: 'not-a-key' }),
        'NotFoundException',
        "Invalid keyId 'not-a-key'",
      )
    })
  })

  describe('checks the key state and usage', () => {
    it('DisabledException for a disabled key', async () => {
      const k = await createSymmetricKey(kms)
      const enc = await kms.send(new EncryptCommand({ KeyId: k.keyId, Plaintext: plaintext }))
      await kms.send(new DisableKeyCommand({ KeyId: k.keyId }))
      await expectKmsError(
        kms.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob })),
        'DisabledException',
        `${k.arn} is disabled.`,
      )
    })

    for (const [state, phrase] of [
      ['PendingDeletion', 'is pending deletion.'],
      ['PendingImport', 'is pending import.'],
      ['Unavailable', 'is unavailable.'],
    ] as const) {
      it(`KMSInvalidStateException for a key that ${phrase.slice(3, -1)}`, async () => {
        const k = await createSymmetricKey(kms)
        const enc = await kms.send(new EncryptCommand({ KeyId: k.keyId, Plaintext: plaintext }))
        await setKeyState(kw, k.keyId, state)
        await expectKmsError(
          kms.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob })),
          'KMSInvalidStateException',
          `${k.arn} ${phrase}`,
        )
      })
    }

    it('InvalidKeyUsageException for a ciphertext that names a key of another usage', async () => {
      const material = randomBytes(32)
      const hmac = await insertKey(kw, {
        keySpec: 'HMAC_256',
        keyUsage: 'GENERATE_VERIFY_MAC',
        material,
      })
      const forged = sealCiphertext(
        { key: { keyId: hmac.keyId, keyMaterialId: hmac.keyMaterialId, material }, plaintext },
        systemRandom,
      )
      await expectKmsError(
        kms.send(new DecryptCommand({ CiphertextBlob: forged })),
        'InvalidKeyUsageException',
        `${hmac.arn} key usage is GENERATE_VERIFY_MAC which is not valid for Decrypt.`,
      )
    })
  })

  describe('DryRun', () => {
    it('DryRunOperationException when the call would succeed', async () => {
      await expectKmsError(
        decrypt({ DryRun: true }),
        'DryRunOperationException',
        AWS_MESSAGES.dryRun,
      )
    })

    it('still checks the ciphertext and context unless IGNORE_CIPHERTEXT is set', async () => {
      await expectKmsError(
        decrypt({ DryRun: true, EncryptionContext: { purpose: 'other' } }),
        'InvalidCiphertextException',
        NO_MESSAGE,
      )
      await expectKmsError(
        decrypt({
          DryRun: true,
          EncryptionContext: { purpose: 'other' },
          DryRunModifiers: ['IGNORE_CIPHERTEXT'],
        }),
        'DryRunOperationException',
        AWS_MESSAGES.dryRun,
      )
    })

    it('IGNORE_CIPHERTEXT: no CiphertextBlob needed, but a named key is still checked', async () => {
      await expectKmsError(
        decrypt({
          CiphertextBlob: undefined,
          DryRun: true,
          DryRunModifiers: ['IGNORE_CIPHERTEXT'],
        }),
        'DryRunOperationException',
        AWS_MESSAGES.dryRun,
      )
      const k = await createSymmetricKey(kms)
      await kms.send(new DisableKeyCommand({ KeyId: k.keyId }))
      await expectKmsError(
        decrypt({
          CiphertextBlob: undefined,
          KeyId: k.arn,
          DryRun: true,
          DryRunModifiers: ['IGNORE_CIPHERTEXT'],
        }),
        'DisabledException',
        `${k.arn} is disabled.`,
      )
    })

    it('checks the key state before answering DryRun', async () => {
      const k = await createSymmetricKey(kms)
      const enc = await kms.send(new EncryptCommand({ KeyId: k.keyId, Plaintext: plaintext }))
      await kms.send(new DisableKeyCommand({ KeyId: k.keyId }))
      await expectKmsError(
        kms.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob, DryRun: true })),
        'DisabledException',
        `${k.arn} is disabled.`,
      )
    })
  })

  describe('validation', () => {
    it('CiphertextBlob is required without DryRun + IGNORE_CIPHERTEXT', async () => {
      await expectKmsError(
        decrypt({ CiphertextBlob: undefined }),
        'ValidationException',
        AWS_MESSAGES.ciphertextNull,
      )
      await expectKmsError(
        decrypt({ CiphertextBlob: undefined, DryRunModifiers: ['IGNORE_CIPHERTEXT'] }),
        'ValidationException',
        AWS_MESSAGES.ciphertextNull,
      )
      await expectKmsError(
        decrypt({ CiphertextBlob: undefined, DryRun: true }),
        'ValidationException',
        AWS_MESSAGES.ciphertextNull,
      )
    })

    it('a CiphertextBlob over 6144 bytes, with the value left out', async () => {
      await expectKmsError(
        decrypt({ CiphertextBlob: Buffer.alloc(6145, 1) }),
        'ValidationException',
        "1 validation error detected: Value at 'ciphertextBlob' failed to satisfy constraint: Member must have length less than or equal to 6144",
      )
    })

    it('Recipient (Nitro Enclaves attestation) is refused as unsupported', async () => {
      await expectKmsError(
        decrypt({
          Recipient: {
            KeyEncryptionAlgorithm: 'RSAES_OAEP_SHA_256',
            AttestationDocument: randomBytes(8),
          },
        }),
        'UnsupportedOperationException',
        'Recipient (AWS Nitro Enclaves attestation) is not supported by Keyward.',
      )
    })
  })
})
