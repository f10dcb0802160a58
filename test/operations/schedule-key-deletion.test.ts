import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import {
  CancelKeyDeletionCommand,
  CreateAliasCommand,
  CreateKeyCommand,
  DecryptCommand,
  DescribeKeyCommand,
  DisableKeyCommand,
  EncryptCommand,
  ListAliasesCommand,
  ListKeysCommand,
  ScheduleKeyDeletionCommand,
} from '@aws-sdk/client-kms'
import { ManualClock } from '../../src/ports/clock.js'
import { expectKmsError } from '../support/assertions.js'
import { ClockedClients } from '../support/clocked-clients.js'
import { startKeyward, type TestServer } from '../support/keyward-server.js'
import { aliasNotFound } from '../support/aws-messages.js'

const DAY_MS = 86_400_000

describe('ScheduleKeyDeletion', () => {
  const clock = new ManualClock(Date.parse('2026-03-01T12:00:00Z'))
  let kw: TestServer
  const clients = new ClockedClients(clock)
  /** An SDK client that signs with the server's (manual) time, so SigV4 accepts it. */
  const kms = () => clients.kms(kw.endpoint)
  const newKey = async () => (await kms().send(new CreateKeyCommand({}))).KeyMetadata!
  before(async () => {
    kw = await startKeyward({ clock })
  })
  after(async () => {
    clients.destroy()
    await kw.close()
  })

  it('schedules 30 days ahead by default and answers the key ARN, date, state and window', async () => {
    const key = await newKey()
    const out = await kms().send(new ScheduleKeyDeletionCommand({ KeyId: key.KeyId }))
    assert.equal(out.KeyId, key.Arn)
    assert.equal(out.KeyState, 'PendingDeletion')
    assert.equal(out.PendingWindowInDays, 30)
    assert.equal(out.DeletionDate!.getTime(), clock.now() + 30 * DAY_MS)
    const { KeyMetadata } = await kms().send(new DescribeKeyCommand({ KeyId: key.KeyId }))
    assert.equal(KeyMetadata!.KeyState, 'PendingDeletion')
    assert.equal(KeyMetadata!.Enabled, false)
    assert.equal(KeyMetadata!.DeletionDate!.getTime(), clock.now() + 30 * DAY_MS)
  })

  it('accepts the bounds 7 and 30, by key ARN, and a disabled key', async () => {
    const key = await newKey()
    await kms().send(new DisableKeyCommand({ KeyId: key.KeyId }))
    const out = await kms().send(
      new ScheduleKeyDeletionCommand({ KeyId: key.Arn, PendingWindowInDays: 7 }),
    )
    assert.equal(out.PendingWindowInDays, 7)
    assert.equal(out.DeletionDate!.getTime(), clock.now() + 7 * DAY_MS)
    const other = await newKey()
    const thirty = await kms().send(
      new ScheduleKeyDeletionCommand({ KeyId: other.KeyId, PendingWindowInDays: 30 }),
    )
    assert.equal(thirty.PendingWindowInDays, 30)
  })

  it('refuses a window the model allows but the service does not (6, 31), changing nothing', async () => {
    const key = await newKey()
    for (const days of [6, 31, 1, 365]) {
      await expectKmsError(
        kms().send(new ScheduleKeyDeletionCommand({ KeyId: key.KeyId, PendingWindowInDays: days })),
        'ValidationException',
        'PendingWindowInDays must be between 7 and 30',
      )
    }
    const { KeyMetadata } = await kms().send(new DescribeKeyCommand({ KeyId: key.KeyId }))
    assert.equal(KeyMetadata!.KeyState, 'Enabled')
  })

  it("refuses a window outside the model's 1–365 with the model message", async () => {
    const key = await newKey()
    await expectKmsError(
      kms().send(new ScheduleKeyDeletionCommand({ KeyId: key.KeyId, PendingWindowInDays: 366 })),
      'ValidationException',
      "1 validation error detected: Value '366' at 'pendingWindowInDays' failed to satisfy constraint: Member must have value less than or equal to 365",
    )
  })

  it('refuses a key that is already pending deletion', async () => {
    const key = await newKey()
    await kms().send(new ScheduleKeyDeletionCommand({ KeyId: key.KeyId }))
    await expectKmsError(
      kms().send(new ScheduleKeyDeletionCommand({ KeyId: key.KeyId, PendingWindowInDays: 7 })),
      'KMSInvalidStateException',
      `${key.Arn} is pending deletion.`,
    )
  })

  it('takes a key ID or ARN only, and names an unknown key by ARN', async () => {
    const key = await newKey()
    await kms().send(new CreateAliasCommand({ AliasName: 'alias/doomed', TargetKeyId: key.KeyId }))
    await expectKmsError(
      kms().send(new ScheduleKeyDeletionCommand({ KeyId: 'alias/doomed' })),
      'NotFoundException',
      "Invalid keyId 'alias/doomed'",
    )
    const missing = '0b5b4a5e-2f4c-4e4b-9a53-3c1d2e6f7a80'
    await expectKmsError(
      kms().send(new ScheduleKeyDeletionCommand({ KeyId: missing })),
      'NotFoundException',
      `Key 'arn:aws:kms:us-east-1:111122223333:key/${missing}' does not exist`,
    )
  })

  it('makes the key unusable for Encrypt and Decrypt at once', async () => {
    const key = await newKey()
    const { CiphertextBlob } = await kms().send(
      new EncryptCommand({ KeyId: key.KeyId, Plaintext: Buffer.from('secret') }),
    )
    await kms().send(new ScheduleKeyDeletionCommand({ KeyId: key.KeyId }))
    await expectKmsError(
      kms().send(new EncryptCommand({ KeyId: key.KeyId, Plaintext: Buffer.from('x') })),
      'KMSInvalidStateException',
      `${key.Arn} is pending deletion.`,
    )
    await expectKmsError(
      kms().send(new DecryptCommand({ CiphertextBlob })),
      'KMSInvalidStateException',
      `${key.Arn} is pending deletion.`,
    )
  })

  describe('when the waiting period ends', () => {
    let key: { KeyId?: string; Arn?: string }
    let ciphertext: Uint8Array
    let keep: { KeyId?: string; Arn?: string }
    before(async () => {
      key = await newKey()
      keep = await newKey()
      await kms().send(new CreateAliasCommand({ AliasName: 'alias/gone', TargetKeyId: key.KeyId }))
      ciphertext = (
        await kms().send(new EncryptCommand({ KeyId: key.KeyId, Plaintext: Buffer.from('bye') }))
      ).CiphertextBlob!
      await kms().send(new ScheduleKeyDeletionCommand({ KeyId: key.KeyId, PendingWindowInDays: 7 }))
      // A cancelled deletion must survive the same scheduler run.
      await kms().send(
        new ScheduleKeyDeletionCommand({ KeyId: keep.KeyId, PendingWindowInDays: 7 }),
      )
      await kms().send(new CancelKeyDeletionCommand({ KeyId: keep.KeyId }))
    })

    it('deletes nothing before the deletion date', async () => {
      clock.advance(7 * DAY_MS - 1)
      await kw.keyward.scheduler.runOnce()
      const { KeyMetadata } = await kms().send(new DescribeKeyCommand({ KeyId: 'alias/gone' }))
      assert.equal(KeyMetadata!.KeyId, key.KeyId)
      assert.equal(KeyMetadata!.KeyState, 'PendingDeletion')
    })

    it('then deletes the key, its material and its aliases', async () => {
      clock.advance(1)
      await kw.keyward.scheduler.runOnce()
      await expectKmsError(
        kms().send(new DescribeKeyCommand({ KeyId: key.KeyId })),
        'NotFoundException',
        `Key '${key.Arn}' does not exist`,
      )
      await expectKmsError(
        kms().send(new DescribeKeyCommand({ KeyId: 'alias/gone' })),
        'NotFoundException',
        aliasNotFound('arn:aws:kms:us-east-1:111122223333:alias/gone'),
      )
      const { Aliases } = await kms().send(new ListAliasesCommand({}))
      assert.ok(!Aliases!.some((a) => a.AliasName === 'alias/gone'))
      const { Keys } = await kms().send(new ListKeysCommand({ Limit: 1000 }))
      assert.ok(!Keys!.some((k) => k.KeyId === key.KeyId))
      assert.deepEqual(await kw.keyward.store.listKeyMaterials('us-east-1', key.KeyId!), [])
    })

    it('answers Decrypt of an old ciphertext with AccessDeniedException, as AWS', async () => {
      await expectKmsError(
        kms().send(new DecryptCommand({ CiphertextBlob: ciphertext })),
        'AccessDeniedException',
        'The ciphertext refers to a customer master key that does not exist, does not exist in this region, or you are not allowed to access.',
      )
    })

    it('leaves a key whose deletion was cancelled', async () => {
      const { KeyMetadata } = await kms().send(new DescribeKeyCommand({ KeyId: keep.KeyId }))
      assert.equal(KeyMetadata!.KeyState, 'Disabled')
    })
  })

  it('never lets the scheduler delete a key that is not pending deletion', async () => {
    const key = await newKey()
    assert.equal(await kw.keyward.keys.destroy('us-east-1', key.KeyId!), false)
    const { KeyMetadata } = await kms().send(new DescribeKeyCommand({ KeyId: key.KeyId }))
    assert.equal(KeyMetadata!.KeyState, 'Enabled')
  })
})
