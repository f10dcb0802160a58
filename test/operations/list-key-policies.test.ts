import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import {
  CreateKeyCommand,
  ListKeyPoliciesCommand,
  ListKeysCommand,
  ScheduleKeyDeletionCommand,
  type KMSClient,
} from '@aws-sdk/client-kms'
import { expectKmsError } from '../support/assertions.js'
import { startKeyward, type TestServer } from '../support/keyward-server.js'

const INVALID_MARKER =
  'The request was rejected because the marker that specifies where pagination should next begin is not valid.'

describe('ListKeyPolicies', () => {
  let kw: TestServer
  let kms: KMSClient
  let key: { KeyId?: string; Arn?: string }
  before(async () => {
    kw = await startKeyward()
    kms = kw.client()
    key = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!
  })
  after(() => kw.close())

  it('answers ["default"], complete, by key ID or ARN', async () => {
    for (const KeyId of [key.KeyId, key.Arn]) {
      const out = await kms.send(new ListKeyPoliciesCommand({ KeyId }))
      assert.deepEqual(out.PolicyNames, ['default'])
      assert.equal(out.Truncated, false)
      assert.equal(out.NextMarker, undefined)
    }
  })

  it('fits in a page of one', async () => {
    const out = await kms.send(new ListKeyPoliciesCommand({ KeyId: key.KeyId, Limit: 1 }))
    assert.deepEqual(out.PolicyNames, ['default'])
    assert.equal(out.Truncated, false)
  })

  it('works while the key is pending deletion', async () => {
    const { KeyMetadata } = await kms.send(new CreateKeyCommand({}))
    await kms.send(new ScheduleKeyDeletionCommand({ KeyId: KeyMetadata!.KeyId }))
    const out = await kms.send(new ListKeyPoliciesCommand({ KeyId: KeyMetadata!.KeyId }))
    assert.deepEqual(out.PolicyNames, ['default'])
  })

  it('refuses a Limit over 1000', async () => {
    await expectKmsError(
      kms.send(new ListKeyPoliciesCommand({ KeyId: key.KeyId, Limit: 1001 })),
      'ValidationException',
      "1 validation error detected: Value '1001' at 'limit' failed to satisfy constraint: Member must have value less than or equal to 1000",
    )
  })

  it("refuses a marker it did not issue, or another listing's", async () => {
    await kms.send(new CreateKeyCommand({}))
    const keys = await kms.send(new ListKeysCommand({ Limit: 1 }))
    for (const Marker of ['nope', keys.NextMarker!]) {
      await expectKmsError(
        kms.send(new ListKeyPoliciesCommand({ KeyId: key.KeyId, Marker })),
        'InvalidMarkerException',
        INVALID_MARKER,
      )
    }
  })

  it('refuses an alias and an unknown key', async () => {
    await expectKmsError(
      kms.send(new ListKeyPoliciesCommand({ KeyId: 'alias/x' })),
      'NotFoundException',
      "Invalid keyId 'alias/x'",
    )
    const missing = 'abcdefab-cdef-4abc-8def-abcdefabcdef'
    await expectKmsError(
      kms.send(new ListKeyPoliciesCommand({ KeyId: missing })),
      'NotFoundException',
      `Key 'arn:aws:kms:us-east-1:111122223333:key/${missing}' does not exist`,
    )
  })
})
