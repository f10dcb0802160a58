import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import {
  CreateAliasCommand,
  CreateKeyCommand,
  DecryptCommand,
  EncryptCommand,
  GetKeyLastUsageCommand,
  ReEncryptCommand,
  type KMSClient,
} from '@aws-sdk/client-kms'
import { expectKmsError } from '../support/assertions.js'
import { startKeyward, type TestServer } from '../support/keyward-server.js'

describe('GetKeyLastUsage', () => {
  let kw: TestServer
  let kms: KMSClient
  before(async () => {
    kw = await startKeyward()
    kms = kw.client()
  })
  after(() => kw.close())

  const newKey = async () => (await kms.send(new CreateKeyCommand({}))).KeyMetadata!
  const lastUsage = (KeyId: string) => kms.send(new GetKeyLastUsageCommand({ KeyId }))

  it('a key never used: empty KeyLastUsage, tracking since its creation', async () => {
    const key = await newKey()
    const out = await lastUsage(key.KeyId!)
    assert.equal(out.KeyId, key.Arn)
    assert.deepEqual(out.KeyLastUsage ?? {}, {})
    assert.equal(out.KeyCreationDate?.getTime(), key.CreationDate?.getTime())
    assert.equal(out.TrackingStartDate?.getTime(), key.CreationDate?.getTime())
  })

  it('reports the latest successful use: operation, time and request id', async () => {
    const key = await newKey()
    const enc = await kms.send(new EncryptCommand({ KeyId: key.Arn, Plaintext: Buffer.from('x') }))
    let out = await lastUsage(key.KeyId!)
    assert.equal(out.KeyLastUsage?.Operation, 'Encrypt')
    assert.equal(out.KeyLastUsage?.KmsRequestId, enc.$metadata.requestId)
    assert.ok(out.KeyLastUsage!.Timestamp!.getTime() >= key.CreationDate!.getTime())
    const dec = await kms.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob }))
    out = await lastUsage(key.Arn!)
    assert.equal(out.KeyLastUsage?.Operation, 'Decrypt')
    assert.equal(out.KeyLastUsage?.KmsRequestId, dec.$metadata.requestId)
  })

  it('ReEncrypt counts for the source and the destination key', async () => {
    const source = await newKey()
    const destination = await newKey()
    const { CiphertextBlob } = await kms.send(
      new EncryptCommand({ KeyId: source.KeyId, Plaintext: Buffer.from('x') }),
    )
    const re = await kms.send(
      new ReEncryptCommand({ CiphertextBlob, DestinationKeyId: destination.KeyId }),
    )
    for (const key of [source, destination]) {
      const out = await lastUsage(key.KeyId!)
      assert.equal(out.KeyLastUsage?.Operation, 'ReEncrypt')
      assert.equal(out.KeyLastUsage?.KmsRequestId, re.$metadata.requestId)
    }
  })

  it('failed and DryRun calls do not count', async () => {
    const key = await newKey()
    const enc = await kms.send(
      new EncryptCommand({ KeyId: key.KeyId, Plaintext: Buffer.from('x') }),
    )
    await assert.rejects(
      kms.send(new EncryptCommand({ KeyId: key.KeyId, Plaintext: Buffer.from('x'), DryRun: true })),
    )
    await assert.rejects(
      kms.send(
        new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob, EncryptionContext: { a: 'b' } }),
      ),
    )
    const out = await lastUsage(key.KeyId!)
    assert.equal(out.KeyLastUsage?.KmsRequestId, enc.$metadata.requestId)
  })

  it('is written to the store, where a later use from another process wins', async () => {
    const key = await newKey()
    await kms.send(new EncryptCommand({ KeyId: key.KeyId, Plaintext: Buffer.from('x') }))
    const { keys } = kw.keyward
    await keys.saveKeyUses()
    const stored = await kw.keyward.store.getKeyUsage('us-east-1', key.KeyId!)
    assert.equal(stored?.operation, 'Encrypt')
    await kw.keyward.store.recordKeyUsage([
      { ...stored!, usedAt: stored!.usedAt - 1, operation: 'Sign' },
    ])
    assert.equal(
      (await kw.keyward.store.getKeyUsage('us-east-1', key.KeyId!))?.operation,
      'Encrypt',
    )
  })

  it('takes a key ID or ARN only, as AWS: "Alias names are not supported"', async () => {
    const key = await newKey()
    await kms.send(new CreateAliasCommand({ AliasName: 'alias/usage', TargetKeyId: key.KeyId }))
    await expectKmsError(
      lastUsage('alias/usage'),
      'NotFoundException',
      "Invalid keyId 'alias/usage'",
    )
  })
})
