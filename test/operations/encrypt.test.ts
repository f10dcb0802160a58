import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import {
  CreateKeyCommand,
  DecryptCommand,
  DisableKeyCommand,
  EncryptCommand,
  type KMSClient,
} from '@aws-sdk/client-kms'
import { expectKmsError } from '../support/assertions.js'
import { startKeyward, type TestServer } from '../support/keyward-server.js'

describe('Encrypt', () => {
  let kw: TestServer
  let kms: KMSClient
  let keyId: string
  let arn: string
  before(async () => {
    kw = await startKeyward()
    kms = kw.client()
    const { KeyMetadata } = await kms.send(new CreateKeyCommand({}))
    keyId = KeyMetadata!.KeyId!
    arn = KeyMetadata!.Arn!
  })
  after(() => kw.close())

  it('round-trips through Decrypt, which finds the key from the blob', async () => {
    const plaintext = Buffer.from('hello keyward')
    const enc = await kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: plaintext }))
    assert.equal(enc.KeyId, arn)
    assert.equal(enc.EncryptionAlgorithm, 'SYMMETRIC_DEFAULT')
    const dec = await kms.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob }))
    assert.deepEqual(Buffer.from(dec.Plaintext!), plaintext)
    assert.equal(dec.KeyId, arn)
    assert.match(dec.KeyMaterialId!, /^[0-9a-f]{64}$/)
  })

  it('refuses a plaintext over 4096 bytes with AWS message (value left out)', async () => {
    await expectKmsError(
      kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.alloc(4097) })),
      'ValidationException',
      "1 validation error detected: Value at 'plaintext' failed to satisfy constraint: Member must have length less than or equal to 4096",
    )
  })

  it('refuses a disabled key with DisabledException', async () => {
    const { KeyMetadata } = await kms.send(new CreateKeyCommand({}))
    await kms.send(new DisableKeyCommand({ KeyId: KeyMetadata!.KeyId }))
    await expectKmsError(
      kms.send(new EncryptCommand({ KeyId: KeyMetadata!.KeyId, Plaintext: Buffer.from('x') })),
      'DisabledException',
      `${KeyMetadata!.Arn} is disabled.`,
    )
  })
})
