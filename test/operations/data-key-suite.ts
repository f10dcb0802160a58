import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import {
  DecryptCommand,
  DisableKeyCommand,
  GenerateDataKeyCommand,
  GenerateDataKeyWithoutPlaintextCommand,
  type GenerateDataKeyCommandInput,
  type KMSClient,
} from '@aws-sdk/client-kms'
import { expectKmsError } from '../support/assertions.js'
import { OTHER, startKeyward, type TestServer } from '../support/keyward-server.js'
import {
  createAlias,
  createSymmetricKey,
  insertKey,
  sendRaw,
  setKeyState,
  type TestKey,
} from './crypto-fixtures.js'
import { AWS_MESSAGES, aliasNotFound } from '../support/aws-messages.js'

export type DataKeyOperation = 'GenerateDataKey' | 'GenerateDataKeyWithoutPlaintext'

/** What both data-key operations answer (Plaintext only from GenerateDataKey). */
export interface DataKeyAnswer {
  readonly CiphertextBlob?: Uint8Array
  readonly Plaintext?: Uint8Array
  readonly KeyId?: string
  readonly KeyMaterialId?: string
}

type DataKeyInput = Omit<GenerateDataKeyCommandInput, 'Recipient'>

/** Sends either data-key operation through the SDK. */
export function sendDataKey(
  kms: KMSClient,
  operation: DataKeyOperation,
  input: DataKeyInput,
): Promise<DataKeyAnswer> {
  return operation === 'GenerateDataKey'
    ? kms.send(new GenerateDataKeyCommand(input))
    : kms.send(new GenerateDataKeyWithoutPlaintextCommand(input))
}

const NEITHER_OR_BOTH = 'Please specify either number of bytes or key spec.'

/**
 * The rules GenerateDataKey and GenerateDataKeyWithoutPlaintext share (API Reference: "Same
 * rules as GenerateDataKey"), run against each of them by its own test file.
 */
export function describeDataKeyRules(
  operation: DataKeyOperation,
  extra: (env: () => { kw: TestServer; kms: KMSClient; key: TestKey }) => void = () => {},
): void {
  describe(`${operation} (rules shared by both data-key operations)`, () => {
    let kw: TestServer
    let kms: KMSClient
    let key: TestKey
    before(async () => {
      kw = await startKeyward()
      kms = kw.client()
      key = await createSymmetricKey(kms)
    })
    after(() => kw.close())

    const generate = (input: Partial<DataKeyInput> = {}) =>
      sendDataKey(kms, operation, { KeyId: key.keyId, KeySpec: 'AES_256', ...input })
    const decrypted = async (out: DataKeyAnswer, context?: Record<string, string>) =>
      Buffer.from(
        (
          await kms.send(
            new DecryptCommand({ CiphertextBlob: out.CiphertextBlob, EncryptionContext: context }),
          )
        ).Plaintext!,
      )

    describe('the length of the data key', () => {
      const rows: Array<{ name: string; input: Partial<DataKeyInput>; bytes: number }> = [
        { name: 'KeySpec AES_256', input: { KeySpec: 'AES_256' }, bytes: 32 },
        { name: 'KeySpec AES_128', input: { KeySpec: 'AES_128' }, bytes: 16 },
        { name: 'NumberOfBytes 1', input: { KeySpec: undefined, NumberOfBytes: 1 }, bytes: 1 },
        { name: 'NumberOfBytes 64', input: { KeySpec: undefined, NumberOfBytes: 64 }, bytes: 64 },
        {
          name: 'NumberOfBytes 1024',
          input: { KeySpec: undefined, NumberOfBytes: 1024 },
          bytes: 1024,
        },
      ]
      for (const row of rows) {
        it(`${row.name} → ${row.bytes} bytes`, async () => {
          const out = await generate(row.input)
          const plaintext = await decrypted(out)
          assert.equal(plaintext.length, row.bytes)
          if (out.Plaintext) assert.deepEqual(Buffer.from(out.Plaintext), plaintext)
        })
      }
    })

    it('answers the key ARN and the KeyMaterialId the ciphertext was sealed with', async () => {
      const alias = await createAlias(kw, key.keyId)
      for (const keyId of [key.keyId, key.arn, alias.aliasName, alias.aliasArn]) {
        const out = await generate({ KeyId: keyId })
        assert.equal(out.KeyId, key.arn, keyId)
        assert.equal(out.KeyMaterialId, key.keyMaterialId, keyId)
        const dec = await kms.send(new DecryptCommand({ CiphertextBlob: out.CiphertextBlob }))
        assert.equal(dec.KeyId, key.arn)
        assert.equal(dec.KeyMaterialId, key.keyMaterialId)
      }
    })

    it('binds the encryption context exactly as Encrypt does', async () => {
      const context = { bucket: 'reports', object: '2026/q1.csv' }
      const out = await generate({ EncryptionContext: context })
      assert.equal((await decrypted(out, context)).length, 32)
      await expectKmsError(decrypted(out), 'InvalidCiphertextException', 'UnknownError')
    })

    it('draws a fresh data key and a fresh ciphertext every time', async () => {
      const [a, b] = await Promise.all([generate(), generate()])
      assert.notDeepEqual(Buffer.from(a.CiphertextBlob!), Buffer.from(b.CiphertextBlob!))
      assert.notDeepEqual(await decrypted(a), await decrypted(b))
    })

    describe('KeySpec and NumberOfBytes: exactly one of them', () => {
      it('neither → ValidationException, checked before the key is looked up', async () => {
        await expectKmsError(
          generate({ KeySpec: undefined }),
          'ValidationException',
          NEITHER_OR_BOTH,
        )
        await expectKmsError(
          generate({ KeySpec: undefined, KeyId: randomUUID() }),
          'ValidationException',
          NEITHER_OR_BOTH,
        )
      })

      it('both → ValidationException, even when they agree', async () => {
        await expectKmsError(
          generate({ KeySpec: 'AES_256', NumberOfBytes: 32 }),
          'ValidationException',
          NEITHER_OR_BOTH,
        )
      })

      for (const [value, bound] of [
        [0, 'greater than or equal to 1'],
        [1025, 'less than or equal to 1024'],
      ] as const) {
        it(`NumberOfBytes ${value} → the generated range message`, async () => {
          await expectKmsError(
            generate({ KeySpec: undefined, NumberOfBytes: value }),
            'ValidationException',
            `1 validation error detected: Value '${value}' at 'numberOfBytes' failed to satisfy constraint: Member must have value ${bound}`,
          )
        })
      }

      it('an unknown KeySpec → ValidationException listing the DataKeySpec values', async () => {
        await expectKmsError(
          generate({ KeySpec: 'AES_512' as 'AES_256' }),
          'ValidationException',
          /^1 validation error detected: Value 'AES_512' at 'keySpec' failed to satisfy constraint: Member must satisfy enum value set: \[AES_(256|128), AES_(256|128)\]$/,
        )
      })
    })

    describe('the key', () => {
      it('NotFoundException for a key that does not exist or a malformed KeyId', async () => {
        const missing = randomUUID()
        await expectKmsError(
          generate({ KeyId: missing }),
          'NotFoundException',
          `Key 'arn:aws:kms:us-east-1:111122223333:key/${missing}' does not exist`,
        )
        await expectKmsError(
          generate({ KeyId: 'alias/none-such' }),
          'NotFoundException',
          aliasNotFound('arn:aws:kms:us-east-1:111122223333:alias/none-such'),
        )
      })

      it('DisabledException for a disabled key', async () => {
        const k = await createSymmetricKey(kms)
        await kms.send(new DisableKeyCommand({ KeyId: k.keyId }))
        await expectKmsError(
          generate({ KeyId: k.keyId }),
          'DisabledException',
          `${k.arn} is disabled.`,
        )
      })

      it('KMSInvalidStateException for a key pending deletion', async () => {
        const k = await createSymmetricKey(kms)
        await setKeyState(kw, k.keyId, 'PendingDeletion')
        await expectKmsError(
          generate({ KeyId: k.arn }),
          'KMSInvalidStateException',
          `${k.arn} is pending deletion.`,
        )
      })

      it('InvalidKeyUsageException for a key of another usage', async () => {
        const hmac = await insertKey(kw, { keySpec: 'HMAC_256', keyUsage: 'GENERATE_VERIFY_MAC' })
        await expectKmsError(
          generate({ KeyId: hmac.keyId }),
          'InvalidKeyUsageException',
          `${hmac.arn} key usage is GENERATE_VERIFY_MAC which is not valid for ${operation}.`,
        )
      })

      it('InvalidKeyUsageException for an asymmetric encryption key', async () => {
        const rsa = await insertKey(kw, { keySpec: 'RSA_2048', keyUsage: 'ENCRYPT_DECRYPT' })
        await expectKmsError(
          generate({ KeyId: rsa.arn }),
          'InvalidKeyUsageException',
          'You cannot generate a data key with an asymmetric CMK',
        )
      })

      it("AccessDeniedException for another account's key", async () => {
        await expectKmsError(
          sendDataKey(kw.client({ credentials: OTHER }), operation, {
            KeyId: key.arn,
            KeySpec: 'AES_256',
          }),
          'AccessDeniedException',
          `User: arn:aws:iam::444455556666:user/admin is not authorized to perform: kms:${operation} on resource: ${key.arn} because no resource-based policy allows the kms:${operation} action`,
        )
      })
    })

    describe('DryRun', () => {
      it('DryRunOperationException when the call would succeed', async () => {
        await expectKmsError(
          generate({ DryRun: true }),
          'DryRunOperationException',
          AWS_MESSAGES.dryRun,
        )
      })

      it('every check runs first', async () => {
        await expectKmsError(
          generate({ DryRun: true, KeySpec: undefined }),
          'ValidationException',
          NEITHER_OR_BOTH,
        )
        const k = await createSymmetricKey(kms)
        await kms.send(new DisableKeyCommand({ KeyId: k.keyId }))
        await expectKmsError(
          generate({ DryRun: true, KeyId: k.keyId }),
          'DisabledException',
          `${k.arn} is disabled.`,
        )
      })
    })

    it('answers exactly its declared members on the wire', async () => {
      const r = await sendRaw(kw, operation, { KeyId: key.keyId, NumberOfBytes: 16 })
      assert.equal(r.status, 200, r.text)
      const expected = ['CiphertextBlob', 'KeyId', 'KeyMaterialId']
      if (operation === 'GenerateDataKey') expected.push('Plaintext')
      assert.deepEqual(Object.keys(r.json!).sort(), expected)
      assert.match(String(r.json!.KeyMaterialId), /^[0-9a-f]{64}$/)
    })

    extra(() => ({ kw, kms, key }))
  })
}
