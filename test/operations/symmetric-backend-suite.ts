import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import {
  CreateKeyCommand,
  DecryptCommand,
  DisableKeyCommand,
  EnableKeyCommand,
  EncryptCommand,
  GenerateDataKeyCommand,
  GenerateDataKeyWithoutPlaintextCommand,
  ReEncryptCommand,
  type KMSClient,
} from '@aws-sdk/client-kms'
import { expectKmsError } from '../support/assertions.js'
import { AWS_MESSAGES } from '../support/aws-messages.js'
import type { TestServer } from '../support/keyward-server.js'
import { NO_MESSAGE } from './crypto-fixtures.js'

/** One cell of the store × backend matrix: a running Keyward and how to make keys there. */
export interface SymmetricCell {
  readonly kw: TestServer
  /** A new symmetric encryption key held by the backend under test; returns its KeyId. */
  newKey(): Promise<string>
  /**
   * What Decrypt answers when the backend refuses a ciphertext or its encryption context:
   * InvalidCiphertextException with no message, or for a key in an external key store the
   * proxy's refusal as AWS KMS answers it (KMSInvalidStateException, xks.md §2.3).
   */
  readonly refused: (keyArn: string) => { name: string; message: string }
  close(): Promise<void>
}

const CONTEXT = { purpose: 'matrix', tenant: 'a' }

/**
 * The symmetric operations (Encrypt, Decrypt, ReEncrypt, GenerateDataKey and
 * GenerateDataKeyWithoutPlaintext) through the SDK, run unchanged for each store and key
 * material backend: the same answers whichever backend holds the key.
 *
 * @example
 *   runSymmetricSuite('SQLite × PKCS#11', async () => ({ kw, newKey, refused, close }))
 */
export function runSymmetricSuite(name: string, start: () => Promise<SymmetricCell>): void {
  describe(`symmetric operations: ${name}`, () => {
    let cell: SymmetricCell
    let kms: KMSClient
    /** A software key: the other end of ReEncrypt. */
    let software: string
    before(async () => {
      cell = await start()
      kms = cell.kw.client()
      software = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!
    })
    after(() => cell?.close())

    const arnOf = (keyId: string) => `arn:aws:kms:us-east-1:111122223333:key/${keyId}`
    const encrypt = (keyId: string, text: string, context: Record<string, string> = CONTEXT) =>
      kms.send(
        new EncryptCommand({
          KeyId: keyId,
          Plaintext: Buffer.from(text),
          EncryptionContext: context,
        }),
      )

    it('Encrypt then Decrypt, with or without the KeyId, binding the encryption context', async () => {
      const keyId = await cell.newKey()
      const sealed = await encrypt(keyId, 'matrix plaintext')
      assert.equal(sealed.KeyId, arnOf(keyId))
      assert.equal(sealed.EncryptionAlgorithm, 'SYMMETRIC_DEFAULT')
      for (const named of [undefined, keyId]) {
        const opened = await kms.send(
          new DecryptCommand({
            CiphertextBlob: sealed.CiphertextBlob,
            EncryptionContext: CONTEXT,
            ...(named ? { KeyId: named } : {}),
          }),
        )
        assert.equal(Buffer.from(opened.Plaintext!).toString(), 'matrix plaintext')
        assert.equal(opened.KeyId, arnOf(keyId))
      }
      const refused = cell.refused(arnOf(keyId))
      await expectKmsError(
        kms.send(
          new DecryptCommand({
            CiphertextBlob: sealed.CiphertextBlob,
            EncryptionContext: { ...CONTEXT, tenant: 'b' },
          }),
        ),
        refused.name,
        refused.message,
      )
      await expectKmsError(
        kms.send(new DecryptCommand({ CiphertextBlob: sealed.CiphertextBlob, KeyId: software })),
        'IncorrectKeyException',
        AWS_MESSAGES.incorrectKey,
      )
    })

    it('ReEncrypt to a software key and back, under a new encryption context', async () => {
      const keyId = await cell.newKey()
      const sealed = await encrypt(keyId, 'moving between backends')
      const moved = await kms.send(
        new ReEncryptCommand({
          CiphertextBlob: sealed.CiphertextBlob,
          SourceEncryptionContext: CONTEXT,
          DestinationKeyId: software,
          DestinationEncryptionContext: { purpose: 'moved' },
        }),
      )
      assert.equal(moved.SourceKeyId, arnOf(keyId))
      assert.equal(moved.KeyId, arnOf(software))
      const back = await kms.send(
        new ReEncryptCommand({
          CiphertextBlob: moved.CiphertextBlob,
          SourceEncryptionContext: { purpose: 'moved' },
          DestinationKeyId: keyId,
          DestinationEncryptionContext: CONTEXT,
        }),
      )
      assert.equal(back.KeyId, arnOf(keyId))
      const opened = await kms.send(
        new DecryptCommand({ CiphertextBlob: back.CiphertextBlob, EncryptionContext: CONTEXT }),
      )
      assert.equal(Buffer.from(opened.Plaintext!).toString(), 'moving between backends')
      // The software key's own refusal: the context moved with the ciphertext.
      await expectKmsError(
        kms.send(new DecryptCommand({ CiphertextBlob: moved.CiphertextBlob })),
        'InvalidCiphertextException',
        NO_MESSAGE,
      )
    })

    it('GenerateDataKey and GenerateDataKeyWithoutPlaintext make data keys Decrypt opens', async () => {
      const keyId = await cell.newKey()
      const withPlaintext = await kms.send(
        new GenerateDataKeyCommand({
          KeyId: keyId,
          KeySpec: 'AES_256',
          EncryptionContext: CONTEXT,
        }),
      )
      assert.equal(withPlaintext.KeyId, arnOf(keyId))
      assert.equal(withPlaintext.Plaintext!.length, 32)
      const opened = await kms.send(
        new DecryptCommand({
          CiphertextBlob: withPlaintext.CiphertextBlob,
          EncryptionContext: CONTEXT,
        }),
      )
      assert.deepEqual(Buffer.from(opened.Plaintext!), Buffer.from(withPlaintext.Plaintext!))
      const without = await kms.send(
        new GenerateDataKeyWithoutPlaintextCommand({
          KeyId: keyId,
          NumberOfBytes: 48,
          EncryptionContext: CONTEXT,
        }),
      )
      assert.equal('Plaintext' in without && without.Plaintext !== undefined, false)
      const data = await kms.send(
        new DecryptCommand({ CiphertextBlob: without.CiphertextBlob, EncryptionContext: CONTEXT }),
      )
      assert.equal(data.Plaintext!.length, 48)
      const refused = cell.refused(arnOf(keyId))
      await expectKmsError(
        kms.send(new DecryptCommand({ CiphertextBlob: without.CiphertextBlob })),
        refused.name,
        refused.message,
      )
    })

    it('refuses every symmetric operation while the key is disabled, and serves again after', async () => {
      const keyId = await cell.newKey()
      const sealed = await encrypt(keyId, 'before disabling')
      await kms.send(new DisableKeyCommand({ KeyId: keyId }))
      const disabled = `${arnOf(keyId)} is disabled.`
      await expectKmsError(encrypt(keyId, 'x'), 'DisabledException', disabled)
      await expectKmsError(
        kms.send(
          new DecryptCommand({ CiphertextBlob: sealed.CiphertextBlob, EncryptionContext: CONTEXT }),
        ),
        'DisabledException',
        disabled,
      )
      await expectKmsError(
        kms.send(new GenerateDataKeyCommand({ KeyId: keyId, KeySpec: 'AES_128' })),
        'DisabledException',
        disabled,
      )
      await kms.send(new EnableKeyCommand({ KeyId: keyId }))
      const opened = await kms.send(
        new DecryptCommand({ CiphertextBlob: sealed.CiphertextBlob, EncryptionContext: CONTEXT }),
      )
      assert.equal(Buffer.from(opened.Plaintext!).toString(), 'before disabling')
    })
  })
}
