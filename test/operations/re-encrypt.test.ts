import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import {
  DecryptCommand,
  DisableKeyCommand,
  EncryptCommand,
  ReEncryptCommand,
  type KMSClient,
  type ReEncryptCommandInput,
} from '@aws-sdk/client-kms'
import { expectKmsError } from '../support/assertions.js'
import { OTHER, startKeyward, type TestServer } from '../support/keyward-server.js'
import {
  b64,
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
import { AWS_MESSAGES, aliasNotFound } from '../support/aws-messages.js'

describe('ReEncrypt', () => {
  let kw: TestServer
  let kms: KMSClient
  let source: TestKey
  let destination: TestKey
  let blob: Uint8Array
  const plaintext = Buffer.from('move me to another key')
  const sourceContext = { stage: 'before' }
  const destinationContext = { stage: 'after', owner: 'team-b' }

  before(async () => {
    kw = await startKeyward()
    kms = kw.client()
    source = await createSymmetricKey(kms)
    destination = await createSymmetricKey(kms)
    blob = (
      await kms.send(
        new EncryptCommand({
          KeyId: source.keyId,
          Plaintext: plaintext,
          EncryptionContext: sourceContext,
        }),
      )
    ).CiphertextBlob!
  })
  after(() => kw.close())

  const reEncrypt = (input: Partial<ReEncryptCommandInput> = {}) =>
    kms.send(
      new ReEncryptCommand({
        CiphertextBlob: blob,
        SourceEncryptionContext: sourceContext,
        DestinationKeyId: destination.keyId,
        DestinationEncryptionContext: destinationContext,
        ...input,
      }),
    )

  describe('succeeds', () => {
    it('answers both keys, both algorithms and both KeyMaterialIds', async () => {
      const out = await reEncrypt()
      assert.equal(out.SourceKeyId, source.arn)
      assert.equal(out.KeyId, destination.arn)
      assert.equal(out.SourceEncryptionAlgorithm, 'SYMMETRIC_DEFAULT')
      assert.equal(out.DestinationEncryptionAlgorithm, 'SYMMETRIC_DEFAULT')
      assert.equal(out.SourceKeyMaterialId, source.keyMaterialId)
      assert.equal(out.DestinationKeyMaterialId, destination.keyMaterialId)
    })

    it('the new ciphertext names the destination key and opens with the destination context', async () => {
      const out = await reEncrypt()
      const dec = await kms.send(
        new DecryptCommand({
          CiphertextBlob: out.CiphertextBlob,
          EncryptionContext: destinationContext,
        }),
      )
      assert.deepEqual(Buffer.from(dec.Plaintext!), plaintext)
      assert.equal(dec.KeyId, destination.arn)
      assert.equal(dec.KeyMaterialId, destination.keyMaterialId)
      await expectKmsError(
        kms.send(
          new DecryptCommand({
            CiphertextBlob: out.CiphertextBlob,
            EncryptionContext: sourceContext,
          }),
        ),
        'InvalidCiphertextException',
        NO_MESSAGE,
      )
    })

    it('under the same key, to change only the encryption context', async () => {
      const out = await reEncrypt({ DestinationKeyId: source.arn })
      assert.equal(out.KeyId, source.arn)
      assert.notDeepEqual(Buffer.from(out.CiphertextBlob!), Buffer.from(blob))
      const dec = await kms.send(
        new DecryptCommand({
          CiphertextBlob: out.CiphertextBlob,
          EncryptionContext: destinationContext,
        }),
      )
      assert.deepEqual(Buffer.from(dec.Plaintext!), plaintext)
    })

    it('accepts every KeyId form for DestinationKeyId and SourceKeyId', async () => {
      const destAlias = await createAlias(kw, destination.keyId)
      const sourceAlias = await createAlias(kw, source.keyId)
      const destinations = [
        destination.keyId,
        destination.arn,
        destAlias.aliasName,
        destAlias.aliasArn,
      ]
      const sources = [source.keyId, source.arn, sourceAlias.aliasName, sourceAlias.aliasArn]
      for (const [i, DestinationKeyId] of destinations.entries()) {
        const out = await reEncrypt({ DestinationKeyId, SourceKeyId: sources[i] })
        assert.equal(out.KeyId, destination.arn, DestinationKeyId)
        assert.equal(out.SourceKeyId, source.arn, sources[i])
      }
    })

    it('answers exactly the declared members on the wire', async () => {
      const r = await sendRaw(kw, 'ReEncrypt', {
        CiphertextBlob: b64(blob),
        SourceEncryptionContext: sourceContext,
        DestinationKeyId: destination.arn,
      })
      assert.equal(r.status, 200, r.text)
      assert.deepEqual(Object.keys(r.json!).sort(), [
        'CiphertextBlob',
        'DestinationEncryptionAlgorithm',
        'DestinationKeyMaterialId',
        'KeyId',
        'SourceEncryptionAlgorithm',
        'SourceKeyId',
        'SourceKeyMaterialId',
      ])
    })
  })

  describe('the source', () => {
    it('IncorrectKeyException when SourceKeyId is not the key of the ciphertext', async () => {
      await expectKmsError(
        reEncrypt({ SourceKeyId: destination.keyId }),
        'IncorrectKeyException',
        AWS_MESSAGES.incorrectKey,
      )
    })

    it('NotFoundException when SourceKeyId names no key', async () => {
      const missing = randomUUID()
      await expectKmsError(
        reEncrypt({ SourceKeyId: missing }),
        'NotFoundException',
        `Key 'arn:aws:kms:us-east-1:111122223333:key/${missing}' does not exist`,
      )
    })

    it('InvalidCiphertextException (no message) for a wrong or missing source context', async () => {
      const contexts: Array<Record<string, string> | undefined> = [
        undefined,
        { stage: 'after' },
        { stage: 'before', extra: '' },
      ]
      for (const context of contexts) {
        await expectKmsError(
          reEncrypt({ SourceEncryptionContext: context }),
          'InvalidCiphertextException',
          NO_MESSAGE,
        )
      }
    })

    it('InvalidCiphertextException with a bare body on the wire for a damaged ciphertext', async () => {
      const r = await sendRaw(kw, 'ReEncrypt', {
        CiphertextBlob: b64(flipBit(blob, -2)),
        SourceEncryptionContext: sourceContext,
        DestinationKeyId: destination.keyId,
      })
      expectBareWireError(r, 'InvalidCiphertextException')
    })

    it('AccessDeniedException for a ciphertext of another account or Region', async () => {
      for (const client of [
        kw.client({ credentials: OTHER }),
        kw.client({ region: 'eu-west-1' }),
      ]) {
        const own = await createSymmetricKey(client)
        await expectKmsError(
          client.send(
            new ReEncryptCommand({
              CiphertextBlob: blob,
              SourceEncryptionContext: sourceContext,
              DestinationKeyId: own.keyId,
            }),
          ),
          'AccessDeniedException',
          AWS_MESSAGES.accessDeniedCiphertext,
        )
      }
    })

    it('DisabledException naming the source key when it is disabled', async () => {
      const k = await createSymmetricKey(kms)
      const enc = await kms.send(new EncryptCommand({ KeyId: k.keyId, Plaintext: plaintext }))
      await kms.send(new DisableKeyCommand({ KeyId: k.keyId }))
      await expectKmsError(
        reEncrypt({ CiphertextBlob: enc.CiphertextBlob, SourceEncryptionContext: undefined }),
        'DisabledException',
        `${k.arn} is disabled.`,
      )
    })
  })

  describe('the destination', () => {
    it('DisabledException naming the destination key when it is disabled', async () => {
      const k = await createSymmetricKey(kms)
      await kms.send(new DisableKeyCommand({ KeyId: k.keyId }))
      await expectKmsError(
        reEncrypt({ DestinationKeyId: k.arn }),
        'DisabledException',
        `${k.arn} is disabled.`,
      )
    })

    it('KMSInvalidStateException when it is pending deletion', async () => {
      const k = await createSymmetricKey(kms)
      await setKeyState(kw, k.keyId, 'PendingDeletion')
      await expectKmsError(
        reEncrypt({ DestinationKeyId: k.keyId }),
        'KMSInvalidStateException',
        `${k.arn} is pending deletion.`,
      )
    })

    it('NotFoundException for a missing key, an unknown alias or an ARN of another Region', async () => {
      const missing = randomUUID()
      await expectKmsError(
        reEncrypt({ DestinationKeyId: missing }),
        'NotFoundException',
        `Key 'arn:aws:kms:us-east-1:111122223333:key/${missing}' does not exist`,
      )
      await expectKmsError(
        reEncrypt({ DestinationKeyId: 'alias/nowhere' }),
        'NotFoundException',
        aliasNotFound('arn:aws:kms:us-east-1:111122223333:alias/nowhere'),
      )
      await expectKmsError(
        reEncrypt({ DestinationKeyId: `arn:aws:kms:eu-west-1:111122223333:key/${missing}` }),
        'NotFoundException',
        'Invalid arn eu-west-1',
      )
    })

    it('InvalidKeyUsageException for a key of another usage', async () => {
      const hmac = await insertKey(kw, { keySpec: 'HMAC_256', keyUsage: 'GENERATE_VERIFY_MAC' })
      await expectKmsError(
        reEncrypt({ DestinationKeyId: hmac.keyId }),
        'InvalidKeyUsageException',
        `${hmac.arn} key usage is GENERATE_VERIFY_MAC which is not valid for ReEncrypt.`,
      )
    })

    it('is checked before the ciphertext is opened', async () => {
      const k = await createSymmetricKey(kms)
      await kms.send(new DisableKeyCommand({ KeyId: k.keyId }))
      await expectKmsError(
        reEncrypt({ DestinationKeyId: k.keyId, SourceEncryptionContext: { wrong: 'context' } }),
        'DisabledException',
        `${k.arn} is disabled.`,
      )
    })
  })

  describe('DryRun', () => {
    it('DryRunOperationException when the call would succeed', async () => {
      await expectKmsError(
        reEncrypt({ DryRun: true }),
        'DryRunOperationException',
        AWS_MESSAGES.dryRun,
      )
    })

    it('still checks the ciphertext and source context unless IGNORE_CIPHERTEXT is set', async () => {
      await expectKmsError(
        reEncrypt({ DryRun: true, SourceEncryptionContext: undefined }),
        'InvalidCiphertextException',
        NO_MESSAGE,
      )
      await expectKmsError(
        reEncrypt({
          DryRun: true,
          SourceEncryptionContext: undefined,
          DryRunModifiers: ['IGNORE_CIPHERTEXT'],
        }),
        'DryRunOperationException',
        AWS_MESSAGES.dryRun,
      )
    })

    it('IGNORE_CIPHERTEXT: no CiphertextBlob needed, but the named keys are still checked', async () => {
      const dryRun = {
        CiphertextBlob: undefined,
        DryRun: true,
        DryRunModifiers: ['IGNORE_CIPHERTEXT' as const],
      }
      await expectKmsError(reEncrypt(dryRun), 'DryRunOperationException', AWS_MESSAGES.dryRun)
      const k = await createSymmetricKey(kms)
      await kms.send(new DisableKeyCommand({ KeyId: k.keyId }))
      await expectKmsError(
        reEncrypt({ ...dryRun, DestinationKeyId: k.keyId }),
        'DisabledException',
        `${k.arn} is disabled.`,
      )
      await expectKmsError(
        reEncrypt({ ...dryRun, SourceKeyId: k.arn }),
        'DisabledException',
        `${k.arn} is disabled.`,
      )
    })
  })

  it('CiphertextBlob is required without DryRun + IGNORE_CIPHERTEXT', async () => {
    await expectKmsError(
      reEncrypt({ CiphertextBlob: undefined }),
      'ValidationException',
      AWS_MESSAGES.ciphertextNull,
    )
    await expectKmsError(
      reEncrypt({ CiphertextBlob: undefined, DryRun: true }),
      'ValidationException',
      AWS_MESSAGES.ciphertextNull,
    )
  })
})
