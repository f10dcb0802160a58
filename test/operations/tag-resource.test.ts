import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import {
  CreateAliasCommand,
  CreateKeyCommand,
  DisableKeyCommand,
  ListResourceTagsCommand,
  ScheduleKeyDeletionCommand,
  TagResourceCommand,
  type KMSClient,
  type Tag,
} from '@aws-sdk/client-kms'
import { expectKmsError } from '../support/assertions.js'
import { startKeyward, type TestServer } from '../support/keyward-server.js'

describe('TagResource', () => {
  let kw: TestServer
  let kms: KMSClient
  const newKey = async (Tags?: Tag[]) =>
    (await kms.send(new CreateKeyCommand({ Tags }))).KeyMetadata!
  const tagsOf = async (keyId: string) =>
    (await kms.send(new ListResourceTagsCommand({ KeyId: keyId }))).Tags
  before(async () => {
    kw = await startKeyward()
    kms = kw.client()
  })
  after(() => kw.close())

  it('adds tags and replaces the value of a tag key the key already has', async () => {
    const key = await newKey([{ TagKey: 'team', TagValue: 'payments' }])
    await kms.send(
      new TagResourceCommand({
        KeyId: key.KeyId,
        Tags: [
          { TagKey: 'team', TagValue: 'billing' },
          { TagKey: 'env', TagValue: '' },
        ],
      }),
    )
    assert.deepEqual(await tagsOf(key.KeyId!), [
      { TagKey: 'env', TagValue: '' },
      { TagKey: 'team', TagValue: 'billing' },
    ])
  })

  it('takes a key ARN and tags a disabled key', async () => {
    const key = await newKey()
    await kms.send(new DisableKeyCommand({ KeyId: key.KeyId }))
    await kms.send(
      new TagResourceCommand({ KeyId: key.Arn, Tags: [{ TagKey: 'k', TagValue: 'v' }] }),
    )
    assert.deepEqual(await tagsOf(key.KeyId!), [{ TagKey: 'k', TagValue: 'v' }])
  })

  it('refuses aws: tag keys in any case, changing nothing', async () => {
    const key = await newKey([{ TagKey: 'keep', TagValue: '1' }])
    for (const TagKey of ['aws:owner', 'AWS:owner']) {
      await expectKmsError(
        kms.send(
          new TagResourceCommand({
            KeyId: key.KeyId,
            Tags: [
              { TagKey: 'fine', TagValue: 'x' },
              { TagKey, TagValue: 'x' },
            ],
          }),
        ),
        'TagException',
        'Tags beginning with aws: are reserved',
      )
    }
    assert.deepEqual(await tagsOf(key.KeyId!), [{ TagKey: 'keep', TagValue: '1' }])
  })

  it('refuses one tag key twice in a request', async () => {
    const key = await newKey()
    await expectKmsError(
      kms.send(
        new TagResourceCommand({
          KeyId: key.KeyId,
          Tags: [
            { TagKey: 'dup', TagValue: 'a' },
            { TagKey: 'dup', TagValue: 'b' },
          ],
        }),
      ),
      'TagException',
      'Duplicate tag keys',
    )
    assert.deepEqual(await tagsOf(key.KeyId!), [])
  })

  it('allows 50 tags and refuses a 51st, but accepts new values for existing keys', async () => {
    const fifty = Array.from({ length: 50 }, (_, i) => ({ TagKey: `t${i}`, TagValue: 'v' }))
    const key = await newKey(fifty)
    await expectKmsError(
      kms.send(
        new TagResourceCommand({ KeyId: key.KeyId, Tags: [{ TagKey: 'x', TagValue: 'v' }] }),
      ),
      'TagException',
      'Too many tags',
    )
    await kms.send(
      new TagResourceCommand({ KeyId: key.KeyId, Tags: [{ TagKey: 't0', TagValue: 'w' }] }),
    )
    const tags = await tagsOf(key.KeyId!)
    assert.equal(tags!.length, 50)
    assert.deepEqual(
      tags!.find((t) => t.TagKey === 't0'),
      { TagKey: 't0', TagValue: 'w' },
    )
  })

  it('refuses a tag value over 256 characters with the model message', async () => {
    const key = await newKey()
    const long = 'v'.repeat(257)
    await expectKmsError(
      kms.send(
        new TagResourceCommand({ KeyId: key.KeyId, Tags: [{ TagKey: 'k', TagValue: long }] }),
      ),
      'ValidationException',
      `1 validation error detected: Value '${long}' at 'tags.1.member.tagValue' failed to satisfy constraint: Member must have length less than or equal to 256`,
    )
  })

  it('refuses a key pending deletion', async () => {
    const key = await newKey()
    await kms.send(new ScheduleKeyDeletionCommand({ KeyId: key.KeyId }))
    await expectKmsError(
      kms.send(
        new TagResourceCommand({ KeyId: key.KeyId, Tags: [{ TagKey: 'k', TagValue: 'v' }] }),
      ),
      'KMSInvalidStateException',
      `${key.Arn} is pending deletion.`,
    )
    assert.deepEqual(await tagsOf(key.KeyId!), [])
  })

  it('takes a key ID or ARN, not an alias', async () => {
    const key = await newKey()
    await kms.send(new CreateAliasCommand({ AliasName: 'alias/tagged', TargetKeyId: key.KeyId }))
    await expectKmsError(
      kms.send(
        new TagResourceCommand({ KeyId: 'alias/tagged', Tags: [{ TagKey: 'k', TagValue: 'v' }] }),
      ),
      'NotFoundException',
      "Invalid keyId 'alias/tagged'",
    )
    const missing = '11111111-2222-4333-8444-555555555555'
    await expectKmsError(
      kms.send(new TagResourceCommand({ KeyId: missing, Tags: [{ TagKey: 'k', TagValue: 'v' }] })),
      'NotFoundException',
      `Key 'arn:aws:kms:us-east-1:111122223333:key/${missing}' does not exist`,
    )
  })
})
