import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import {
  CancelKeyDeletionCommand,
  CreateKeyCommand,
  DescribeKeyCommand,
  EnableKeyCommand,
  EncryptCommand,
  ScheduleKeyDeletionCommand,
  type KMSClient,
} from '@aws-sdk/client-kms'
import { expectKmsError } from '../support/assertions.js'
import { startKeyward, type TestServer } from '../support/keyward-server.js'

describe('CancelKeyDeletion', () => {
  let kw: TestServer
  let kms: KMSClient
  const newKey = async () => (await kms.send(new CreateKeyCommand({}))).KeyMetadata!
  before(async () => {
    kw = await startKeyward()
    kms = kw.client()
  })
  after(() => kw.close())

  it('returns the key to Disabled without a deletion date and answers its ARN', async () => {
    const key = await newKey()
    await kms.send(new ScheduleKeyDeletionCommand({ KeyId: key.KeyId }))
    const out = await kms.send(new CancelKeyDeletionCommand({ KeyId: key.KeyId }))
    assert.equal(out.KeyId, key.Arn)
    const { KeyMetadata } = await kms.send(new DescribeKeyCommand({ KeyId: key.KeyId }))
    assert.equal(KeyMetadata!.KeyState, 'Disabled')
    assert.equal(KeyMetadata!.Enabled, false)
    assert.equal(KeyMetadata!.DeletionDate, undefined)
    assert.equal(KeyMetadata!.PendingDeletionWindowInDays, undefined)
  })

  it('leaves the key disabled until EnableKey, then usable again', async () => {
    const key = await newKey()
    await kms.send(new ScheduleKeyDeletionCommand({ KeyId: key.Arn }))
    await kms.send(new CancelKeyDeletionCommand({ KeyId: key.Arn }))
    await expectKmsError(
      kms.send(new EncryptCommand({ KeyId: key.KeyId, Plaintext: Buffer.from('x') })),
      'DisabledException',
      `${key.Arn} is disabled.`,
    )
    await kms.send(new EnableKeyCommand({ KeyId: key.KeyId }))
    const out = await kms.send(
      new EncryptCommand({ KeyId: key.KeyId, Plaintext: Buffer.from('x') }),
    )
    assert.equal(out.KeyId, key.Arn)
  })

  it('can schedule the deletion again after a cancellation', async () => {
    const key = await newKey()
    await kms.send(new ScheduleKeyDeletionCommand({ KeyId: key.KeyId }))
    await kms.send(new CancelKeyDeletionCommand({ KeyId: key.KeyId }))
    const out = await kms.send(
      new ScheduleKeyDeletionCommand({ KeyId: key.KeyId, PendingWindowInDays: 10 }),
    )
    assert.equal(out.PendingWindowInDays, 10)
  })

  it('refuses a key that is not pending deletion', async () => {
    const key = await newKey()
    await expectKmsError(
      kms.send(new CancelKeyDeletionCommand({ KeyId: key.KeyId })),
      'KMSInvalidStateException',
      `${key.Arn} is not pending deletion.`,
    )
    const { KeyMetadata } = await kms.send(new DescribeKeyCommand({ KeyId: key.KeyId }))
    assert.equal(KeyMetadata!.KeyState, 'Enabled')
  })

  it('takes a key ID or ARN only', async () => {
    await expectKmsError(
      kms.send(new CancelKeyDeletionCommand({ KeyId: 'alias/anything' })),
      'NotFoundException',
      "Invalid keyId 'alias/anything'",
    )
    const missing = '4f3c2b1a-0e9d-4c8b-a7f6-5e4d3c2b1a09'
    await expectKmsError(
      kms.send(new CancelKeyDeletionCommand({ KeyId: missing })),
      'NotFoundException',
      `Key 'arn:aws:kms:us-east-1:111122223333:key/${missing}' does not exist`,
    )
  })
})
