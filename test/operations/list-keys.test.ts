import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import {
  CreateKeyCommand,
  ListAliasesCommand,
  ListKeysCommand,
  ScheduleKeyDeletionCommand,
  type KMSClient,
} from '@aws-sdk/client-kms'
import { expectKmsError } from '../support/assertions.js'
import { OTHER, startKeyward, type TestServer } from '../support/keyward-server.js'

const INVALID_MARKER =
  'The request was rejected because the marker that specifies where pagination should next begin is not valid.'

describe('ListKeys', () => {
  let kw: TestServer
  let kms: KMSClient
  before(async () => {
    kw = await startKeyward()
    kms = kw.client()
  })
  after(() => kw.close())

  it('answers an empty account with no keys, Truncated false and no NextMarker', async () => {
    const out = await kw.client({ credentials: OTHER }).send(new ListKeysCommand({}))
    assert.deepEqual(out.Keys, [])
    assert.equal(out.Truncated, false)
    assert.equal(out.NextMarker, undefined)
  })

  it('walks five keys two at a time, in key ID order, with no duplicate or omission', async () => {
    const created = new Map<string, string>()
    for (let i = 0; i < 5; i++) {
      const { KeyMetadata } = await kms.send(new CreateKeyCommand({}))
      created.set(KeyMetadata!.KeyId!, KeyMetadata!.Arn!)
    }
    const seen: string[] = []
    const truncations: boolean[] = []
    let marker: string | undefined
    do {
      const page = await kms.send(new ListKeysCommand({ Limit: 2, Marker: marker }))
      assert.ok(page.Keys!.length <= 2)
      for (const k of page.Keys!) {
        assert.equal(k.KeyArn, created.get(k.KeyId!))
        seen.push(k.KeyId!)
      }
      truncations.push(page.Truncated!)
      assert.equal(page.NextMarker === undefined, !page.Truncated)
      marker = page.NextMarker
    } while (marker)
    assert.deepEqual(truncations, [true, true, false])
    assert.deepEqual(seen, [...created.keys()].sort())
  })

  it('lists a key that is pending deletion', async () => {
    const { KeyMetadata } = await kms.send(new CreateKeyCommand({}))
    await kms.send(new ScheduleKeyDeletionCommand({ KeyId: KeyMetadata!.KeyId }))
    const { Keys } = await kms.send(new ListKeysCommand({ Limit: 1000 }))
    assert.ok(Keys!.some((k) => k.KeyId === KeyMetadata!.KeyId))
  })

  it("lists only the caller's account and the request's Region", async () => {
    const { KeyMetadata } = await kms.send(new CreateKeyCommand({}))
    const other = await kw.client({ credentials: OTHER }).send(new ListKeysCommand({}))
    assert.ok(!other.Keys!.some((k) => k.KeyId === KeyMetadata!.KeyId))
    const west = await kw.client({ region: 'eu-west-1' }).send(new ListKeysCommand({}))
    assert.ok(!west.Keys!.some((k) => k.KeyId === KeyMetadata!.KeyId))
  })

  it('refuses a Limit over 1000 with the model validation message', async () => {
    await expectKmsError(
      kms.send(new ListKeysCommand({ Limit: 1001 })),
      'ValidationException',
      "1 validation error detected: Value '1001' at 'limit' failed to satisfy constraint: Member must have value less than or equal to 1000",
    )
  })

  it('refuses a marker it did not issue with InvalidMarkerException', async () => {
    for (const marker of [
      'not-a-marker',
      'abc!',
      Buffer.from('["ListKeys"]').toString('base64url'),
    ]) {
      await expectKmsError(
        kms.send(new ListKeysCommand({ Marker: marker })),
        'InvalidMarkerException',
        INVALID_MARKER,
      )
    }
  })

  it("refuses another listing's marker", async () => {
    const keys = await kms.send(new ListKeysCommand({ Limit: 1 }))
    assert.ok(keys.NextMarker)
    await expectKmsError(
      kms.send(new ListAliasesCommand({ Marker: keys.NextMarker })),
      'InvalidMarkerException',
      INVALID_MARKER,
    )
  })
})
