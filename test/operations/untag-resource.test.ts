import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import {
  CreateKeyCommand,
  ListResourceTagsCommand,
  ScheduleKeyDeletionCommand,
  UntagResourceCommand,
  type KMSClient,
} from '@aws-sdk/client-kms'
import { expectKmsError } from '../support/assertions.js'
import { startKeyward, type TestServer } from '../support/keyward-server.js'

const TAGS = [
  { TagKey: 'a', TagValue: '1' },
  { TagKey: 'b', TagValue: '2' },
  { TagKey: 'c', TagValue: '3' },
]

describe('UntagResource', () => {
  let kw: TestServer
  let kms: KMSClient
  const newKey = async () => (await kms.send(new CreateKeyCommand({ Tags: TAGS }))).KeyMetadata!
  const tagKeysOf = async (keyId: string) =>
    (await kms.send(new ListResourceTagsCommand({ KeyId: keyId }))).Tags!.map((t) => t.TagKey)
  before(async () => {
    kw = await startKeyward()
    kms = kw.client()
  })
  after(() => kw.close())

  it('removes the named tags and ignores tag keys the key does not have', async () => {
    const key = await newKey()
    await kms.send(new UntagResourceCommand({ KeyId: key.KeyId, TagKeys: ['a', 'zzz'] }))
    assert.deepEqual(await tagKeysOf(key.KeyId!), ['b', 'c'])
    await kms.send(new UntagResourceCommand({ KeyId: key.Arn, TagKeys: ['nothing-here'] }))
    assert.deepEqual(await tagKeysOf(key.KeyId!), ['b', 'c'])
  })

  it('matches tag keys exactly (case-sensitive)', async () => {
    const key = await newKey()
    await kms.send(new UntagResourceCommand({ KeyId: key.KeyId, TagKeys: ['A', 'B'] }))
    assert.deepEqual(await tagKeysOf(key.KeyId!), ['a', 'b', 'c'])
  })

  it('refuses aws: tag keys, changing nothing', async () => {
    const key = await newKey()
    await expectKmsError(
      kms.send(new UntagResourceCommand({ KeyId: key.KeyId, TagKeys: ['a', 'aws:createdBy'] })),
      'TagException',
      'Tags beginning with aws: are reserved',
    )
    assert.deepEqual(await tagKeysOf(key.KeyId!), ['a', 'b', 'c'])
  })

  it('refuses a key pending deletion', async () => {
    const key = await newKey()
    await kms.send(new ScheduleKeyDeletionCommand({ KeyId: key.KeyId }))
    await expectKmsError(
      kms.send(new UntagResourceCommand({ KeyId: key.KeyId, TagKeys: ['a'] })),
      'KMSInvalidStateException',
      `${key.Arn} is pending deletion.`,
    )
    assert.deepEqual(await tagKeysOf(key.KeyId!), ['a', 'b', 'c'])
  })

  it('takes a key ID or ARN, not an alias', async () => {
    await expectKmsError(
      kms.send(new UntagResourceCommand({ KeyId: 'alias/x', TagKeys: ['a'] })),
      'NotFoundException',
      "Invalid keyId 'alias/x'",
    )
  })
})
