import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import {
  CreateAliasCommand,
  CreateKeyCommand,
  DecryptCommand,
  DeleteImportedKeyMaterialCommand,
  DescribeKeyCommand,
  DisableKeyCommand,
  EnableKeyRotationCommand,
  EncryptCommand,
  GenerateDataKeyCommand,
  GetKeyRotationStatusCommand,
  ListKeyRotationsCommand,
  ReEncryptCommand,
  RotateKeyOnDemandCommand,
  ScheduleKeyDeletionCommand,
  type KeyMetadata,
} from '@aws-sdk/client-kms'
import { ManualClock } from '../../src/ports/clock.js'
import { expectKmsError } from '../support/assertions.js'
import { ClockedClients } from '../support/clocked-clients.js'
import { ImportWorkspace, importMaterial } from '../support/key-import.js'
import { startKeyward, type TestServer } from '../support/keyward-server.js'
import { rawRequest } from '../support/raw-request.js'
import { expectWireError } from '../support/wire-assertions.js'
import { NO_MESSAGE } from './crypto-fixtures.js'

/**
 * RotateKeyOnDemand: new material at once, every older ciphertext still decrypts (the blob names
 * its material), ReEncrypt moves data to the newest, 25 rotations per key at most, and AWS's
 * refusals.
 */

const DAY_MS = 86_400_000

describe('RotateKeyOnDemand', () => {
  const clock = new ManualClock(Date.parse('2026-05-01T08:00:00Z'))
  const clients = new ClockedClients(clock)
  let kw: TestServer
  const kms = () => clients.kms(kw.endpoint)
  type Key = KeyMetadata & { KeyId: string; Arn: string }
  const newKey = async (input: ConstructorParameters<typeof CreateKeyCommand>[0] = {}) =>
    (await kms().send(new CreateKeyCommand(input))).KeyMetadata! as Key
  const current = async (KeyId: string) =>
    (await kms().send(new DescribeKeyCommand({ KeyId }))).KeyMetadata!.CurrentKeyMaterialId!
  const rotate = (KeyId: string) => kms().send(new RotateKeyOnDemandCommand({ KeyId }))

  before(async () => {
    kw = await startKeyward({ clock })
  })
  after(async () => {
    clients.destroy()
    await kw.close()
  })

  describe('a rotation', () => {
    let key: Key
    let first: string
    let second: string
    let oldBlob: Uint8Array
    const context = { purpose: 'rotation test' }

    before(async () => {
      key = await newKey()
      first = key.CurrentKeyMaterialId!
      oldBlob = (
        await kms().send(
          new EncryptCommand({
            KeyId: key.KeyId,
            Plaintext: Buffer.from('written before'),
            EncryptionContext: context,
          }),
        )
      ).CiphertextBlob!
    })

    it('answers the key ARN and makes new material current at once', async () => {
      const out = await rotate(key.KeyId)
      assert.equal(out.KeyId, key.Arn)
      second = await current(key.KeyId)
      assert.match(second, /^[0-9a-f]{64}$/)
      assert.notEqual(second, first)
    })

    it('seals new data with the new material (Encrypt, GenerateDataKey)', async () => {
      const blob = (
        await kms().send(new EncryptCommand({ KeyId: key.KeyId, Plaintext: Buffer.from('new') }))
      ).CiphertextBlob!
      assert.equal(
        (await kms().send(new DecryptCommand({ CiphertextBlob: blob }))).KeyMaterialId,
        second,
      )
      const dataKey = await kms().send(
        new GenerateDataKeyCommand({ KeyId: key.KeyId, KeySpec: 'AES_256' }),
      )
      assert.equal(dataKey.KeyMaterialId, second)
    })

    it('still decrypts what the old material sealed, naming that material', async () => {
      const out = await kms().send(
        new DecryptCommand({ CiphertextBlob: oldBlob, EncryptionContext: context }),
      )
      assert.equal(Buffer.from(out.Plaintext!).toString(), 'written before')
      assert.equal(out.KeyMaterialId, first)
      await expectKmsError(
        kms().send(
          new DecryptCommand({ CiphertextBlob: Buffer.concat([oldBlob, Buffer.from('x')]) }),
        ),
        'InvalidCiphertextException',
        NO_MESSAGE,
      )
    })

    it('lets ReEncrypt move old data to the newest material', async () => {
      const out = await kms().send(
        new ReEncryptCommand({
          CiphertextBlob: oldBlob,
          SourceEncryptionContext: context,
          DestinationKeyId: key.KeyId,
          DestinationEncryptionContext: context,
        }),
      )
      assert.equal(out.SourceKeyMaterialId, first)
      assert.equal(out.DestinationKeyMaterialId, second)
      const opened = await kms().send(
        new DecryptCommand({ CiphertextBlob: out.CiphertextBlob, EncryptionContext: context }),
      )
      assert.equal(opened.KeyMaterialId, second)
      assert.equal(Buffer.from(opened.Plaintext!).toString(), 'written before')
    })

    it('is listed by ListKeyRotations as ON_DEMAND', async () => {
      const { Rotations } = await kms().send(new ListKeyRotationsCommand({ KeyId: key.KeyId }))
      assert.deepEqual(Rotations, [
        {
          KeyId: key.KeyId,
          KeyMaterialId: second,
          KeyMaterialState: 'CURRENT',
          RotationDate: new Date(clock.now()),
          RotationType: 'ON_DEMAND',
        },
      ])
    })
  })

  it('does not move the automatic schedule', async () => {
    const key = await newKey()
    await kms().send(new EnableKeyRotationCommand({ KeyId: key.KeyId }))
    const before = (await kms().send(new GetKeyRotationStatusCommand({ KeyId: key.KeyId })))
      .NextRotationDate
    clock.advance(DAY_MS)
    await rotate(key.KeyId)
    const after = (await kms().send(new GetKeyRotationStatusCommand({ KeyId: key.KeyId })))
      .NextRotationDate
    assert.deepEqual(after, before)
  })

  it('allows 25 rotations per key, then answers LimitExceededException (message recorded by AWS)', async () => {
    const key = await newKey()
    const blob = (
      await kms().send(new EncryptCommand({ KeyId: key.KeyId, Plaintext: Buffer.from('first') }))
    ).CiphertextBlob!
    const ids = new Set([key.CurrentKeyMaterialId!])
    for (let i = 0; i < 25; i++) {
      await rotate(key.KeyId)
      ids.add(await current(key.KeyId))
    }
    assert.equal(ids.size, 26, 'every rotation made new material')
    const last = await current(key.KeyId)
    await expectKmsError(
      rotate(key.KeyId),
      'LimitExceededException',
      `The on-demand rotations limit has been reached for the given keyId. No more on-demand rotations can be performed for this key: ${key.Arn}`,
    )
    assert.equal(await current(key.KeyId), last, 'the refused rotation changed nothing')
    const { Rotations } = await kms().send(
      new ListKeyRotationsCommand({ KeyId: key.KeyId, IncludeKeyMaterial: 'ALL_KEY_MATERIAL' }),
    )
    assert.equal(Rotations!.length, 26)
    assert.equal(Rotations!.filter((r) => r.RotationType === 'ON_DEMAND').length, 25)
    const opened = await kms().send(new DecryptCommand({ CiphertextBlob: blob }))
    assert.equal(opened.KeyMaterialId, key.CurrentKeyMaterialId)
  })

  it('answers ConflictException while an automatic rotation is due within 20 minutes', async () => {
    const key = await newKey()
    await kms().send(new EnableKeyRotationCommand({ KeyId: key.KeyId, RotationPeriodInDays: 90 }))
    clock.advance(90 * DAY_MS - 20 * 60_000 - 1)
    await rotate(key.KeyId)
    clock.advance(1)
    await expectKmsError(
      rotate(key.KeyId),
      'ConflictException',
      'The request was rejected because an automatic rotation of this key is currently in progress or scheduled to begin within the next 20 minutes.',
    )
    clock.advance(20 * 60_000)
    await kw.keyward.scheduler.runOnce()
    await rotate(key.KeyId)
    const { Rotations } = await kms().send(new ListKeyRotationsCommand({ KeyId: key.KeyId }))
    assert.deepEqual(
      Rotations!.map((r) => r.RotationType),
      ['ON_DEMAND', 'AUTOMATIC', 'ON_DEMAND'],
    )
  })

  describe('a key with imported material (AWS rules of 2025-06)', () => {
    const ws = new ImportWorkspace()
    let key: Key
    const firstMaterial = Buffer.alloc(32)
    const nextMaterial = Buffer.alloc(32)
    let firstId: string
    let nextId: string
    let oldBlob: Uint8Array
    const importInto = (material: Buffer, input: Parameters<typeof importMaterial>[2]['input']) =>
      importMaterial(kms, ws, { keyId: key.KeyId, material, input })
    const all = async () =>
      (
        await kms().send(
          new ListKeyRotationsCommand({ KeyId: key.KeyId, IncludeKeyMaterial: 'ALL_KEY_MATERIAL' }),
        )
      ).Rotations!

    before(async () => {
      key = await newKey({ Origin: 'EXTERNAL' })
      ws.rand(32).copy(firstMaterial)
      ws.rand(32).copy(nextMaterial)
      firstId = (await importInto(firstMaterial, { KeyMaterialDescription: 'first' }))
        .KeyMaterialId!
      oldBlob = (
        await kms().send(new EncryptCommand({ KeyId: key.KeyId, Plaintext: Buffer.from('v1') }))
      ).CiphertextBlob!
    })
    after(() => ws.remove())

    it('refuses to rotate while no new material waits (message recorded by AWS)', async () => {
      await expectKmsError(
        rotate(key.KeyId),
        'KMSInvalidStateException',
        `No available key material pending rotation for the key: ${key.Arn}.`,
      )
    })

    it('stages NEW_KEY_MATERIAL as PENDING_ROTATION without using it', async () => {
      nextId = (
        await importInto(nextMaterial, {
          ImportType: 'NEW_KEY_MATERIAL',
          KeyMaterialDescription: 'second',
          ExpirationModel: 'KEY_MATERIAL_EXPIRES',
          ValidTo: new Date(clock.now() + 100 * DAY_MS),
        })
      ).KeyMaterialId!
      assert.notEqual(nextId, firstId)
      assert.equal(await current(key.KeyId), firstId)
      assert.deepEqual(await all(), [
        {
          KeyId: key.KeyId,
          KeyMaterialId: firstId,
          KeyMaterialDescription: 'first',
          ImportState: 'IMPORTED',
          KeyMaterialState: 'CURRENT',
          ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE',
        },
        {
          KeyId: key.KeyId,
          KeyMaterialId: nextId,
          KeyMaterialDescription: 'second',
          ImportState: 'IMPORTED',
          KeyMaterialState: 'PENDING_ROTATION',
          ExpirationModel: 'KEY_MATERIAL_EXPIRES',
          ValidTo: new Date(clock.now() + 100 * DAY_MS),
        },
      ])
    })

    it('refuses more new material while some is pending (message recorded by AWS)', async () => {
      const third = ws.rand(32)
      const err = await expectKmsError(
        importInto(third, { ImportType: 'NEW_KEY_MATERIAL' }),
        'KMSInvalidStateException',
        /^New key material \(id: [0-9a-f]{64}\) cannot be imported into KMS key /,
      )
      assert.ok(
        err.message.endsWith(
          `into KMS key ${key.Arn}, because another key material (id: ${nextId}) is pending rotation.`,
        ),
        err.message,
      )
    })

    it('rotates to the pending material; the first one keeps decrypting', async () => {
      const out = await rotate(key.KeyId)
      assert.equal(out.KeyId, key.Arn)
      assert.equal(await current(key.KeyId), nextId)
      const fresh = (
        await kms().send(new EncryptCommand({ KeyId: key.KeyId, Plaintext: Buffer.from('v2') }))
      ).CiphertextBlob!
      assert.equal(
        (await kms().send(new DecryptCommand({ CiphertextBlob: fresh }))).KeyMaterialId,
        nextId,
      )
      const old = await kms().send(new DecryptCommand({ CiphertextBlob: oldBlob }))
      assert.equal(old.KeyMaterialId, firstId)
      const { Rotations } = await kms().send(new ListKeyRotationsCommand({ KeyId: key.KeyId }))
      assert.equal(Rotations!.length, 1)
      assert.equal(Rotations![0]!.KeyMaterialId, nextId)
      assert.equal(Rotations![0]!.KeyMaterialState, 'CURRENT')
      assert.equal(Rotations![0]!.RotationType, 'ON_DEMAND')
      assert.equal(Rotations![0]!.ImportState, 'IMPORTED')
      const metadata = (await kms().send(new DescribeKeyCommand({ KeyId: key.KeyId }))).KeyMetadata!
      assert.equal(metadata.ExpirationModel, 'KEY_MATERIAL_EXPIRES')
      assert.equal(metadata.ValidTo!.getTime(), clock.now() + 100 * DAY_MS)
    })

    it('needs every associated material: deleting the old one makes the key PendingImport until it is back', async () => {
      await kms().send(
        new DeleteImportedKeyMaterialCommand({ KeyId: key.KeyId, KeyMaterialId: firstId }),
      )
      const listed = await all()
      assert.equal(listed[0]!.ImportState, 'PENDING_IMPORT')
      assert.equal(listed[0]!.KeyMaterialDescription, 'first')
      assert.equal(listed[0]!.ExpirationModel, undefined)
      await expectKmsError(
        kms().send(new EncryptCommand({ KeyId: key.KeyId, Plaintext: Buffer.from('x') })),
        'KMSInvalidStateException',
        `${key.Arn} is pending import.`,
      )
      await importInto(firstMaterial, {
        ImportType: 'EXISTING_KEY_MATERIAL',
        KeyMaterialId: firstId,
      })
      const old = await kms().send(new DecryptCommand({ CiphertextBlob: oldBlob }))
      assert.equal(Buffer.from(old.Plaintext!).toString(), 'v1')
    })

    it('forgets a material pending rotation when it is deleted, and takes another in its place', async () => {
      const staged = (await importInto(ws.rand(32), { ImportType: 'NEW_KEY_MATERIAL' }))
        .KeyMaterialId!
      await kms().send(
        new DeleteImportedKeyMaterialCommand({ KeyId: key.KeyId, KeyMaterialId: staged }),
      )
      assert.deepEqual(
        (await all()).map((r) => r.KeyMaterialId),
        [firstId, nextId],
      )
      assert.equal(
        (await kms().send(new DescribeKeyCommand({ KeyId: key.KeyId }))).KeyMetadata!.KeyState,
        'Enabled',
      )
      const replacement = (await importInto(ws.rand(32), { ImportType: 'NEW_KEY_MATERIAL' }))
        .KeyMaterialId!
      await rotate(key.KeyId)
      assert.equal(await current(key.KeyId), replacement)
    })
  })

  describe('refusals', () => {
    const raw = (body: object) =>
      rawRequest(kw.endpoint, {
        target: 'TrentService.RotateKeyOnDemand',
        body: JSON.stringify(body),
        sign: true,
        signingDate: new Date(clock.now()),
      })

    it('refuses asymmetric and HMAC keys with UnsupportedOperationException and no message (recorded)', async () => {
      for (const input of [
        { KeySpec: 'RSA_2048', KeyUsage: 'ENCRYPT_DECRYPT' },
        { KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' },
        { KeySpec: 'HMAC_256', KeyUsage: 'GENERATE_VERIFY_MAC' },
      ] as const) {
        const key = await newKey(input)
        expectWireError(await raw({ KeyId: key.KeyId }), 'UnsupportedOperationException', undefined)
      }
    })

    it('refuses a disabled key (recorded) and one pending deletion', async () => {
      const disabled = await newKey()
      await kms().send(new DisableKeyCommand({ KeyId: disabled.KeyId }))
      await expectKmsError(
        rotate(disabled.KeyId),
        'DisabledException',
        `${disabled.Arn} is disabled.`,
      )
      const doomed = await newKey()
      await kms().send(new ScheduleKeyDeletionCommand({ KeyId: doomed.KeyId }))
      await expectKmsError(
        rotate(doomed.Arn),
        'KMSInvalidStateException',
        `${doomed.Arn} is pending deletion.`,
      )
      // A disabled RSA key: the state is checked first, as LocalStack's AWS-validated test has it.
      const rsa = await newKey({ KeySpec: 'RSA_2048', KeyUsage: 'SIGN_VERIFY' })
      await kms().send(new DisableKeyCommand({ KeyId: rsa.KeyId }))
      await expectKmsError(rotate(rsa.KeyId), 'DisabledException', `${rsa.Arn} is disabled.`)
    })

    it('refuses a key with imported material before any is imported: pending import (recorded)', async () => {
      const external = await newKey({ Origin: 'EXTERNAL' })
      await expectKmsError(
        rotate(external.KeyId),
        'KMSInvalidStateException',
        `${external.Arn} is pending import.`,
      )
    })

    it('takes a key ID or ARN only, and names an unknown key by ARN (recorded)', async () => {
      const key = await newKey()
      await kms().send(
        new CreateAliasCommand({ AliasName: 'alias/on-demand', TargetKeyId: key.KeyId }),
      )
      await expectKmsError(
        rotate('alias/on-demand'),
        'NotFoundException',
        "Invalid keyId 'alias/on-demand'",
      )
      const missing = '7a1b1a4e-2f4c-4e4b-9a53-3c1d2e6f7a80'
      await expectKmsError(
        rotate(missing),
        'NotFoundException',
        `Key 'arn:aws:kms:us-east-1:111122223333:key/${missing}' does not exist`,
      )
    })
  })
})
