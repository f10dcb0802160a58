import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import {
  CreateAliasCommand,
  CreateKeyCommand,
  ListAliasesCommand,
  ListKeysCommand,
  type KMSClient,
} from '@aws-sdk/client-kms'
import { expectKmsError } from '../support/assertions.js'
import { OTHER, startKeyward, type TestServer } from '../support/keyward-server.js'

const ALIAS_ARN = 'arn:aws:kms:us-east-1:111122223333:alias'
const INVALID_MARKER =
  'The request was rejected because the marker that specifies where pagination should next begin is not valid.'

describe('ListAliases', () => {
  let kw: TestServer
  let kms: KMSClient
  let first: { KeyId?: string; Arn?: string }
  let second: { KeyId?: string; Arn?: string }
  const names = ['alias/e', 'alias/a', 'alias/c/x', 'alias/b', 'alias/d']
  before(async () => {
    kw = await startKeyward()
    kms = kw.client()
    first = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!
    second = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!
    for (const [i, name] of names.entries()) {
      const target = i % 2 === 0 ? first : second
      await kms.send(new CreateAliasCommand({ AliasName: name, TargetKeyId: target.KeyId }))
    }
  })
  after(() => kw.close())

  it('lists every alias with its ARN, target and dates, by name', async () => {
    const listedAt = Date.now()
    const out = await kms.send(new ListAliasesCommand({}))
    assert.equal(out.Truncated, false)
    assert.equal(out.NextMarker, undefined)
    assert.deepEqual(
      out.Aliases!.map((a) => a.AliasName),
      [...names].sort(),
    )
    const a = out.Aliases!.find((x) => x.AliasName === 'alias/c/x')!
    assert.equal(a.AliasArn, `${ALIAS_ARN}/c/x`)
    assert.equal(a.TargetKeyId, first.KeyId)
    assert.ok(a.CreationDate instanceof Date && a.CreationDate.getTime() <= listedAt)
    assert.equal(a.LastUpdatedDate!.getTime(), a.CreationDate.getTime())
  })

  it('walks five aliases two at a time with no duplicate or omission', async () => {
    const seen: string[] = []
    const truncations: boolean[] = []
    let marker: string | undefined
    do {
      const page = await kms.send(new ListAliasesCommand({ Limit: 2, Marker: marker }))
      assert.ok(page.Aliases!.length <= 2)
      seen.push(...page.Aliases!.map((a) => a.AliasName!))
      truncations.push(page.Truncated!)
      assert.equal(page.NextMarker === undefined, !page.Truncated)
      marker = page.NextMarker
    } while (marker)
    assert.deepEqual(truncations, [true, true, false])
    assert.deepEqual(seen, [...names].sort())
  })

  it('filters by KeyId given as key ID or key ARN, and pages the filtered list', async () => {
    const byId = await kms.send(new ListAliasesCommand({ KeyId: first.KeyId }))
    assert.deepEqual(
      byId.Aliases!.map((a) => a.AliasName),
      ['alias/c/x', 'alias/d', 'alias/e'],
    )
    const byArn = await kms.send(new ListAliasesCommand({ KeyId: second.Arn, Limit: 1 }))
    assert.deepEqual(
      byArn.Aliases!.map((a) => a.AliasName),
      ['alias/a'],
    )
    assert.equal(byArn.Truncated, true)
    const rest = await kms.send(
      new ListAliasesCommand({ KeyId: second.Arn, Limit: 1, Marker: byArn.NextMarker }),
    )
    assert.deepEqual(
      rest.Aliases!.map((a) => a.AliasName),
      ['alias/b'],
    )
    assert.equal(rest.Truncated, false)
  })

  it('refuses a KeyId that is an alias or an unknown key', async () => {
    await expectKmsError(
      kms.send(new ListAliasesCommand({ KeyId: 'alias/a' })),
      'NotFoundException',
      "Invalid keyId 'alias/a'",
    )
    const missing = '9c8b7a69-5847-4362-9150-1a2b3c4d5e6f'
    await expectKmsError(
      kms.send(new ListAliasesCommand({ KeyId: missing })),
      'NotFoundException',
      `Key 'arn:aws:kms:us-east-1:111122223333:key/${missing}' does not exist`,
    )
  })

  it("shows nothing of another account's or another Region's aliases", async () => {
    const other = await kw.client({ credentials: OTHER }).send(new ListAliasesCommand({}))
    assert.deepEqual(other.Aliases, [])
    const west = await kw.client({ region: 'eu-west-1' }).send(new ListAliasesCommand({}))
    assert.deepEqual(west.Aliases, [])
  })

  it('enforces the service Limit of 1–100, stricter than the model', async () => {
    await expectKmsError(
      kms.send(new ListAliasesCommand({ Limit: 101 })),
      'ValidationException',
      "1 validation error detected: Value '101' at 'limit' failed to satisfy constraint: Member must have value less than or equal to 100",
    )
    await expectKmsError(
      kms.send(new ListAliasesCommand({ Limit: 0 })),
      'ValidationException',
      "1 validation error detected: Value '0' at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1",
    )
    const out = await kms.send(new ListAliasesCommand({ Limit: 100 }))
    assert.equal(out.Aliases!.length, names.length)
  })

  it('pages by 50 when no Limit is given', async () => {
    const west = kw.client({ region: 'ap-southeast-2' })
    const keys = [
      (await west.send(new CreateKeyCommand({}))).KeyMetadata!,
      (await west.send(new CreateKeyCommand({}))).KeyMetadata!,
    ]
    for (let i = 0; i < 51; i++) {
      const name = `alias/bulk-${String(i).padStart(2, '0')}`
      await west.send(new CreateAliasCommand({ AliasName: name, TargetKeyId: keys[i % 2]!.KeyId }))
    }
    const page = await west.send(new ListAliasesCommand({}))
    assert.equal(page.Aliases!.length, 50)
    assert.equal(page.Truncated, true)
    const rest = await west.send(new ListAliasesCommand({ Marker: page.NextMarker }))
    assert.deepEqual(
      rest.Aliases!.map((a) => a.AliasName),
      ['alias/bulk-50'],
    )
  })

  it("refuses a marker it did not issue, or another listing's", async () => {
    const keys = await kms.send(new ListKeysCommand({ Limit: 1 }))
    for (const marker of ['%%%', 'YWxpYXMvYQ', keys.NextMarker!]) {
      await expectKmsError(
        kms.send(new ListAliasesCommand({ Marker: marker })),
        'InvalidMarkerException',
        INVALID_MARKER,
      )
    }
  })
})
