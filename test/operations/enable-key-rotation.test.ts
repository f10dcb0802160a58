import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import {
  CreateKeyCommand,
  CreateAliasCommand,
  DecryptCommand,
  DescribeKeyCommand,
  DisableKeyCommand,
  DisableKeyRotationCommand,
  EnableKeyCommand,
  EnableKeyRotationCommand,
  EncryptCommand,
  GetKeyRotationStatusCommand,
  ListKeyRotationsCommand,
  ScheduleKeyDeletionCommand,
  type KeyMetadata,
} from '@aws-sdk/client-kms'
import { ManualClock } from '../../src/ports/clock.js'
import { expectKmsError } from '../support/assertions.js'
import { ClockedClients } from '../support/clocked-clients.js'
import { startKeyward, type TestServer } from '../support/keyward-server.js'
import { rawRequest } from '../support/raw-request.js'
import { expectWireError, expectWireSuccess } from '../support/wire-assertions.js'
import { NO_MESSAGE } from './crypto-fixtures.js'

/**
 * EnableKeyRotation, DisableKeyRotation and GetKeyRotationStatus, and the automatic rotation the
 * scheduler performs when it is due: only then, once after any downtime, never on a read.
 */

const DAY_MS = 86_400_000

describe('automatic key rotation', () => {
  const clock = new ManualClock(Date.parse('2026-04-01T09:00:00Z'))
  const clients = new ClockedClients(clock)
  let kw: TestServer
  const kms = () => clients.kms(kw.endpoint)
  const newKey = async (input: ConstructorParameters<typeof CreateKeyCommand>[0] = {}) =>
    (await kms().send(new CreateKeyCommand(input))).KeyMetadata! as KeyMetadata & {
      KeyId: string
      Arn: string
    }
  const status = (KeyId: string) => kms().send(new GetKeyRotationStatusCommand({ KeyId }))
  const describeKey = async (KeyId: string) =>
    (await kms().send(new DescribeKeyCommand({ KeyId }))).KeyMetadata!
  /** A raw, signed request at the manual clock's time. */
  const raw = (target: string, body: object) =>
    rawRequest(kw.endpoint, {
      target: `TrentService.${target}`,
      body: JSON.stringify(body),
      sign: true,
      signingDate: new Date(clock.now()),
    })

  before(async () => {
    kw = await startKeyward({ clock })
  })
  after(async () => {
    clients.destroy()
    await kw.close()
  })

  describe('EnableKeyRotation, DisableKeyRotation and GetKeyRotationStatus', () => {
    it('reports a new key as not rotating, with only KeyId and KeyRotationEnabled', async () => {
      const key = await newKey()
      const body = expectWireSuccess(await raw('GetKeyRotationStatus', { KeyId: key.KeyId }))
      assert.deepEqual(body, { KeyId: key.Arn, KeyRotationEnabled: false })
    })

    it('enables rotation every 365 days by default, first 365 days from now', async () => {
      const key = await newKey()
      const out = await kms().send(new EnableKeyRotationCommand({ KeyId: key.KeyId }))
      assert.deepEqual(
        Object.keys(out).filter((k) => k !== '$metadata'),
        [],
      )
      const body = expectWireSuccess(await raw('GetKeyRotationStatus', { KeyId: key.Arn }))
      assert.deepEqual(body, {
        KeyId: key.Arn,
        KeyRotationEnabled: true,
        RotationPeriodInDays: 365,
        NextRotationDate: (clock.now() + 365 * DAY_MS) / 1000,
      })
    })

    it('takes the bounds 90 and 2560, by key ID or key ARN', async () => {
      const key = await newKey()
      await kms().send(new EnableKeyRotationCommand({ KeyId: key.Arn, RotationPeriodInDays: 90 }))
      const s90 = await status(key.KeyId)
      assert.equal(s90.RotationPeriodInDays, 90)
      assert.equal(s90.NextRotationDate!.getTime(), clock.now() + 90 * DAY_MS)
      const other = await newKey()
      await kms().send(
        new EnableKeyRotationCommand({ KeyId: other.KeyId, RotationPeriodInDays: 2560 }),
      )
      assert.equal((await status(other.Arn)).RotationPeriodInDays, 2560)
    })

    it('refuses a period outside 90–2560 with the validator message, changing nothing', async () => {
      const key = await newKey()
      await expectKmsError(
        kms().send(new EnableKeyRotationCommand({ KeyId: key.KeyId, RotationPeriodInDays: 89 })),
        'ValidationException',
        "1 validation error detected: Value '89' at 'rotationPeriodInDays' failed to satisfy constraint: Member must have value greater than or equal to 90",
      )
      await expectKmsError(
        kms().send(new EnableKeyRotationCommand({ KeyId: key.KeyId, RotationPeriodInDays: 2561 })),
        'ValidationException',
        "1 validation error detected: Value '2561' at 'rotationPeriodInDays' failed to satisfy constraint: Member must have value less than or equal to 2560",
      )
      assert.equal((await status(key.KeyId)).KeyRotationEnabled, false)
    })

    it('reschedules an enabled key for a new period from its last rotation, and ignores the same period', async () => {
      const key = await newKey()
      const enabledAt = clock.now()
      await kms().send(
        new EnableKeyRotationCommand({ KeyId: key.KeyId, RotationPeriodInDays: 365 }),
      )
      clock.advance(10 * DAY_MS)
      await kms().send(
        new EnableKeyRotationCommand({ KeyId: key.KeyId, RotationPeriodInDays: 365 }),
      )
      assert.equal((await status(key.KeyId)).NextRotationDate!.getTime(), enabledAt + 365 * DAY_MS)
      await kms().send(
        new EnableKeyRotationCommand({ KeyId: key.KeyId, RotationPeriodInDays: 100 }),
      )
      const s = await status(key.KeyId)
      assert.equal(s.RotationPeriodInDays, 100)
      assert.equal(s.NextRotationDate!.getTime(), enabledAt + 100 * DAY_MS)
    })

    it('disables rotation: no period and no date any more; disabling twice is fine', async () => {
      const key = await newKey()
      await kms().send(new EnableKeyRotationCommand({ KeyId: key.KeyId }))
      await kms().send(new DisableKeyRotationCommand({ KeyId: key.KeyId }))
      await kms().send(new DisableKeyRotationCommand({ KeyId: key.Arn }))
      const body = expectWireSuccess(await raw('GetKeyRotationStatus', { KeyId: key.KeyId }))
      assert.deepEqual(body, { KeyId: key.Arn, KeyRotationEnabled: false })
    })

    it('refuses asymmetric and HMAC keys with UnsupportedOperationException and no message, as AWS', async () => {
      const rsa = await newKey({ KeySpec: 'RSA_2048', KeyUsage: 'SIGN_VERIFY' })
      const hmac = await newKey({ KeySpec: 'HMAC_256', KeyUsage: 'GENERATE_VERIFY_MAC' })
      for (const key of [rsa, hmac]) {
        for (const op of ['EnableKeyRotation', 'DisableKeyRotation']) {
          expectWireError(
            await raw(op, { KeyId: key.KeyId }),
            'UnsupportedOperationException',
            undefined,
          )
        }
        await expectKmsError(
          kms().send(new EnableKeyRotationCommand({ KeyId: key.KeyId })),
          'UnsupportedOperationException',
          NO_MESSAGE,
        )
      }
    })

    it('reports asymmetric, HMAC and imported-material keys as not rotating ("always false", API Reference)', async () => {
      const rsa = await newKey({ KeySpec: 'RSA_2048', KeyUsage: 'SIGN_VERIFY' })
      const hmac = await newKey({ KeySpec: 'HMAC_256', KeyUsage: 'GENERATE_VERIFY_MAC' })
      const external = await newKey({ Origin: 'EXTERNAL' })
      for (const key of [rsa, hmac, external]) {
        const body = expectWireSuccess(await raw('GetKeyRotationStatus', { KeyId: key.KeyId }))
        assert.deepEqual(body, { KeyId: key.Arn, KeyRotationEnabled: false })
      }
    })

    it('refuses to change the rotation of a key with imported material (Developer Guide, key states, footnotes [6] and [7])', async () => {
      const external = await newKey({ Origin: 'EXTERNAL' })
      for (const send of [
        () => kms().send(new EnableKeyRotationCommand({ KeyId: external.KeyId })),
        () => kms().send(new DisableKeyRotationCommand({ KeyId: external.KeyId })),
      ]) {
        await expectKmsError(
          send(),
          'UnsupportedOperationException',
          `${external.Arn} origin is EXTERNAL which is not valid for this operation.`,
        )
      }
    })

    it('refuses a disabled key (DisabledException) and one pending deletion, but reports their status', async () => {
      const disabled = await newKey()
      await kms().send(new EnableKeyRotationCommand({ KeyId: disabled.KeyId }))
      await kms().send(new DisableKeyCommand({ KeyId: disabled.KeyId }))
      for (const Command of [EnableKeyRotationCommand, DisableKeyRotationCommand]) {
        await expectKmsError(
          kms().send(new Command({ KeyId: disabled.KeyId })),
          'DisabledException',
          `${disabled.Arn} is disabled.`,
        )
      }
      assert.equal((await status(disabled.KeyId)).KeyRotationEnabled, true)

      const doomed = await newKey()
      await kms().send(new ScheduleKeyDeletionCommand({ KeyId: doomed.KeyId }))
      for (const Command of [EnableKeyRotationCommand, DisableKeyRotationCommand]) {
        await expectKmsError(
          kms().send(new Command({ KeyId: doomed.KeyId })),
          'KMSInvalidStateException',
          `${doomed.Arn} is pending deletion.`,
        )
      }
      assert.equal((await status(doomed.KeyId)).KeyRotationEnabled, false)
    })

    it('takes a key ID or ARN only, and names an unknown key by ARN', async () => {
      const key = await newKey()
      await kms().send(
        new CreateAliasCommand({ AliasName: 'alias/rotating', TargetKeyId: key.KeyId }),
      )
      await expectKmsError(
        kms().send(new EnableKeyRotationCommand({ KeyId: 'alias/rotating' })),
        'NotFoundException',
        "Invalid keyId 'alias/rotating'",
      )
      const missing = '6f1b1a4e-2f4c-4e4b-9a53-3c1d2e6f7a80'
      await expectKmsError(
        kms().send(new GetKeyRotationStatusCommand({ KeyId: missing })),
        'NotFoundException',
        `Key 'arn:aws:kms:us-east-1:111122223333:key/${missing}' does not exist`,
      )
    })
  })

  describe('the scheduler rotates when due', () => {
    let key: KeyMetadata & { KeyId: string; Arn: string }
    let firstMaterial: string
    let oldCiphertext: Uint8Array
    let enabledAt: number

    before(async () => {
      key = await newKey()
      firstMaterial = key.CurrentKeyMaterialId!
      oldCiphertext = (
        await kms().send(new EncryptCommand({ KeyId: key.KeyId, Plaintext: Buffer.from('old') }))
      ).CiphertextBlob!
      enabledAt = clock.now()
      await kms().send(new EnableKeyRotationCommand({ KeyId: key.KeyId, RotationPeriodInDays: 90 }))
    })

    it('does nothing before the date', async () => {
      clock.advance(90 * DAY_MS - 1)
      await kw.keyward.scheduler.runOnce()
      assert.equal((await describeKey(key.KeyId)).CurrentKeyMaterialId, firstMaterial)
    })

    it('never rotates on a read, even once the date has passed', async () => {
      clock.advance(1)
      await kms().send(new GetKeyRotationStatusCommand({ KeyId: key.KeyId }))
      await kms().send(new EncryptCommand({ KeyId: key.KeyId, Plaintext: Buffer.from('x') }))
      await kms().send(new ListKeyRotationsCommand({ KeyId: key.KeyId }))
      assert.equal((await describeKey(key.KeyId)).CurrentKeyMaterialId, firstMaterial)
    })

    it('rotates at its next run: new material for new ciphertexts, the old one still decrypts', async () => {
      await kw.keyward.scheduler.runOnce()
      const rotatedAt = clock.now()
      const metadata = await describeKey(key.KeyId)
      const second = metadata.CurrentKeyMaterialId!
      assert.match(second, /^[0-9a-f]{64}$/)
      assert.notEqual(second, firstMaterial)

      const s = await status(key.KeyId)
      assert.equal(s.NextRotationDate!.getTime(), rotatedAt + 90 * DAY_MS)
      assert.equal(s.RotationPeriodInDays, 90)

      const old = await kms().send(new DecryptCommand({ CiphertextBlob: oldCiphertext }))
      assert.equal(Buffer.from(old.Plaintext!).toString(), 'old')
      assert.equal(old.KeyMaterialId, firstMaterial)
      const fresh = await kms().send(
        new EncryptCommand({ KeyId: key.KeyId, Plaintext: Buffer.from('new') }),
      )
      const opened = await kms().send(new DecryptCommand({ CiphertextBlob: fresh.CiphertextBlob }))
      assert.equal(opened.KeyMaterialId, second)

      const { Rotations } = await kms().send(new ListKeyRotationsCommand({ KeyId: key.KeyId }))
      assert.deepEqual(Rotations, [
        {
          KeyId: key.KeyId,
          KeyMaterialId: second,
          KeyMaterialState: 'CURRENT',
          RotationDate: new Date(rotatedAt),
          RotationType: 'AUTOMATIC',
        },
      ])
      assert.ok(rotatedAt >= enabledAt + 90 * DAY_MS)
    })

    it('rotates once, not once per missed period, after a long downtime', async () => {
      clock.advance(5 * 90 * DAY_MS + 3 * DAY_MS)
      await kw.keyward.scheduler.runOnce()
      await kw.keyward.scheduler.runOnce()
      const caughtUpAt = clock.now()
      const { Rotations } = await kms().send(new ListKeyRotationsCommand({ KeyId: key.KeyId }))
      assert.equal(Rotations!.length, 2)
      assert.equal(Rotations![1]!.RotationDate!.getTime(), caughtUpAt)
      assert.equal((await status(key.KeyId)).NextRotationDate!.getTime(), caughtUpAt + 90 * DAY_MS)
      const old = await kms().send(new DecryptCommand({ CiphertextBlob: oldCiphertext }))
      assert.equal(old.KeyMaterialId, firstMaterial)
    })

    it('does not rotate a disabled key, and rotates it at the first run after it is enabled', async () => {
      await kms().send(new DisableKeyCommand({ KeyId: key.KeyId }))
      clock.advance(91 * DAY_MS)
      await kw.keyward.scheduler.runOnce()
      const before = (await describeKey(key.KeyId)).CurrentKeyMaterialId
      assert.equal(
        (await kms().send(new ListKeyRotationsCommand({ KeyId: key.KeyId }))).Rotations!.length,
        2,
      )
      await kms().send(new EnableKeyCommand({ KeyId: key.KeyId }))
      await kw.keyward.scheduler.runOnce()
      assert.notEqual((await describeKey(key.KeyId)).CurrentKeyMaterialId, before)
    })

    it('stops rotating once rotation is disabled', async () => {
      await kms().send(new DisableKeyRotationCommand({ KeyId: key.KeyId }))
      const before = (await describeKey(key.KeyId)).CurrentKeyMaterialId
      clock.advance(400 * DAY_MS)
      await kw.keyward.scheduler.runOnce()
      assert.equal((await describeKey(key.KeyId)).CurrentKeyMaterialId, before)
      const old = await kms().send(new DecryptCommand({ CiphertextBlob: oldCiphertext }))
      assert.equal(Buffer.from(old.Plaintext!).toString(), 'old')
    })
  })
})
