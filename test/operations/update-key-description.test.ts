import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import {
  CreateAliasCommand,
  CreateKeyCommand,
  DescribeKeyCommand,
  DisableKeyCommand,
  ScheduleKeyDeletionCommand,
  UpdateKeyDescriptionCommand,
  type KMSClient,
} from '@aws-sdk/client-kms'
import { expectKmsError } from '../support/assertions.js'
import { startKeyward, type TestServer } from '../support/keyward-server.js'

describe('UpdateKeyDescription', () => {
  let kw: TestServer
  let kms: KMSClient
  const newKey = async () =>
    (await kms.send(new CreateKeyCommand({ Description: 'before' }))).KeyMetadata!
  const description = async (keyId: string) =>
    (await kms.send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata!.Description
  before(async () => {
    kw = await startKeyward()
    kms = kw.client()
  })
  after(() => kw.close())

  it('replaces the description, by key ID or ARN, also of a disabled key', async () => {
    const key = await newKey()
    await kms.send(new UpdateKeyDescriptionCommand({ KeyId: key.KeyId, Description: 'after' }))
    assert.equal(await description(key.KeyId!), 'after')
    await kms.send(new DisableKeyCommand({ KeyId: key.KeyId }))
    await kms.send(
      new UpdateKeyDescriptionCommand({ KeyId: key.Arn, Description: 'x'.repeat(8192) }),
    )
    assert.equal(await description(key.KeyId!), 'x'.repeat(8192))
  })

  it('accepts an empty description', async () => {
    const key = await newKey()
    await kms.send(new UpdateKeyDescriptionCommand({ KeyId: key.KeyId, Description: '' }))
    assert.equal(await description(key.KeyId!), '')
  })

  it('refuses a description over 8192 characters, changing nothing', async () => {
    const key = await newKey()
    const long = 'y'.repeat(8193)
    await expectKmsError(
      kms.send(new UpdateKeyDescriptionCommand({ KeyId: key.KeyId, Description: long })),
      'ValidationException',
      `1 validation error detected: Value '${long}' at 'description' failed to satisfy constraint: Member must have length less than or equal to 8192`,
    )
    assert.equal(await description(key.KeyId!), 'before')
  })

  it('refuses a key pending deletion', async () => {
    const key = await newKey()
    await kms.send(new ScheduleKeyDeletionCommand({ KeyId: key.KeyId }))
    await expectKmsError(
      kms.send(new UpdateKeyDescriptionCommand({ KeyId: key.KeyId, Description: 'late' })),
      'KMSInvalidStateException',
      `${key.Arn} is pending deletion.`,
    )
    assert.equal(await description(key.KeyId!), 'before')
  })

  it('takes a key ID or ARN, not an alias', async () => {
    const key = await newKey()
    await kms.send(new CreateAliasCommand({ AliasName: 'alias/described', TargetKeyId: key.KeyId }))
    await expectKmsError(
      kms.send(new UpdateKeyDescriptionCommand({ KeyId: 'alias/described', Description: 'z' })),
      'NotFoundException',
      "Invalid keyId 'alias/described'",
    )
  })
})
