import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import {
  CreateKeyCommand,
  ListResourceTagsCommand,
  ScheduleKeyDeletionCommand,
  type KMSClient,
} from '@aws-sdk/client-kms'
import { expectKmsError } from '../support/assertions.js'
import { OTHER, startKeyward, type TestServer } from '../support/keyward-server.js'

const INVALID_MARKER =
  'The request was rejected because the marker that specifies where pagination should next begin is not valid.'

describe('ListResourceTags', () => {
  let kw: TestServer
  let kms: KMSClient
  let key: { KeyId?: string; Arn?: string }
  const tags = ['delta', 'alpha', 'echo', 'charlie', 'bravo'].map((k) => ({
    TagKey: k,
    TagValue: k.toUpperCase(),
  }))
  before(async () => {
    kw = await startKeyward()
    kms = kw.client()
    key = (await kms.send(new CreateKeyCommand({ Tags: tags }))).KeyMetadata!
  })
  after(() => kw.close())

  it('lists the tags ordered by tag key, Truncated false, no NextMarker', async () => {
    const out = await kms.send(new ListResourceTagsCommand({ KeyId: key.KeyId }))
    assert.deepEqual(
      out.Tags,
      [...tags].sort((a, b) => (a.TagKey < b.TagKey ? -1 : 1)),
    )
    assert.equal(out.Truncated, false)
    assert.equal(out.NextMarker, undefined)
  })

  it('walks five tags two at a time with no duplicate or omission', async () => {
    const seen: string[] = []
    const truncations: boolean[] = []
    let marker: string | undefined
    do {
      const page = await kms.send(
        new ListResourceTagsCommand({ KeyId: key.Arn, Limit: 2, Marker: marker }),
      )
      assert.ok(page.Tags!.length <= 2)
      seen.push(...page.Tags!.map((t) => t.TagKey!))
      truncations.push(page.Truncated!)
      assert.equal(page.NextMarker === undefined, !page.Truncated)
      marker = page.NextMarker
    } while (marker)
    assert.deepEqual(truncations, [true, true, false])
    assert.deepEqual(seen, ['alpha', 'bravo', 'charlie', 'delta', 'echo'])
  })

  it('answers a key without tags with an empty list', async () => {
    const { KeyMetadata } = await kms.send(new CreateKeyCommand({}))
    const out = await kms.send(new ListResourceTagsCommand({ KeyId: KeyMetadata!.KeyId }))
    assert.deepEqual(out.Tags, [])
    assert.equal(out.Truncated, false)
  })

  it('returns all 50 tags of a full key in one page by default', async () => {
    const fifty = Array.from({ length: 50 }, (_, i) => ({ TagKey: `k${i}`, TagValue: 'v' }))
    const { KeyMetadata } = await kms.send(new CreateKeyCommand({ Tags: fifty }))
    const out = await kms.send(new ListResourceTagsCommand({ KeyId: KeyMetadata!.KeyId }))
    assert.equal(out.Tags!.length, 50)
    assert.equal(out.Truncated, false)
  })

  it('enforces the service Limit of 1–50, stricter than the model', async () => {
    await expectKmsError(
      kms.send(new ListResourceTagsCommand({ KeyId: key.KeyId, Limit: 51 })),
      'ValidationException',
      "1 validation error detected: Value '51' at 'limit' failed to satisfy constraint: Member must have value less than or equal to 50",
    )
  })

  it('refuses a marker it did not issue', async () => {
    await expectKmsError(
      kms.send(new ListResourceTagsCommand({ KeyId: key.KeyId, Marker: 'bogus' })),
      'InvalidMarkerException',
      INVALID_MARKER,
    )
  })

  it('lists the tags of a key pending deletion', async () => {
    const { KeyMetadata } = await kms.send(
      new CreateKeyCommand({ Tags: [{ TagKey: 'k', TagValue: 'v' }] }),
    )
    await kms.send(new ScheduleKeyDeletionCommand({ KeyId: KeyMetadata!.KeyId }))
    const out = await kms.send(new ListResourceTagsCommand({ KeyId: KeyMetadata!.KeyId }))
    assert.deepEqual(out.Tags, [{ TagKey: 'k', TagValue: 'v' }])
  })

  it("refuses an alias, an unknown key, and another account's key", async () => {
    await expectKmsError(
      kms.send(new ListResourceTagsCommand({ KeyId: 'alias/x' })),
      'NotFoundException',
      "Invalid keyId 'alias/x'",
    )
    const missing = '66666666-7777-4888-9999-000000000000'
    await expectKmsError(
      kms.send(new ListResourceTagsCommand({ KeyId: missing })),
      'NotFoundException',
      `Key 'arn:aws:kms:us-east-1:111122223333:key/${missing}' does not exist`,
    )
    await expectKmsError(
      kw.client({ credentials: OTHER }).send(new ListResourceTagsCommand({ KeyId: key.Arn })),
      'AccessDeniedException',
      `User: arn:aws:iam::444455556666:user/admin is not authorized to perform: kms:ListResourceTags on resource: ${key.Arn} because no resource-based policy allows the kms:ListResourceTags action`,
    )
  })
})
