import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import {
  CancelKeyDeletionCommand,
  CreateKeyCommand,
  DecryptCommand,
  DeleteImportedKeyMaterialCommand,
  DescribeKeyCommand,
  DisableKeyCommand,
  EnableKeyCommand,
  EncryptCommand,
  GenerateMacCommand,
  GetPublicKeyCommand,
  ScheduleKeyDeletionCommand,
  SignCommand,
  type CreateKeyCommandInput,
  type KeyMetadata,
} from '@aws-sdk/client-kms'
import { ManualClock } from '../../src/ports/clock.js'
import { expectKmsError } from '../support/assertions.js'
import { ClockedClients } from '../support/clocked-clients.js'
import { ImportWorkspace, importMaterial } from '../support/key-import.js'
import { startKeyward, type TestServer } from '../support/keyward-server.js'

/**
 * DeleteImportedKeyMaterial and the expiry of imported material (the scheduler's job): the key
 * becomes PendingImport and its ciphertexts cannot be decrypted until the same material is
 * imported again, after which they decrypt again.
 */

const DAY_MS = 86_400_000
type Key = KeyMetadata & { KeyId: string; Arn: string }

describe('DeleteImportedKeyMaterial and expiry', () => {
  const clock = new ManualClock(Date.parse('2026-09-01T06:00:00Z'))
  const clients = new ClockedClients(clock)
  const ws = new ImportWorkspace()
  let kw: TestServer
  const kms = () => clients.kms(kw.endpoint)
  const newKey = async (input: CreateKeyCommandInput = {}) =>
    (await kms().send(new CreateKeyCommand({ Origin: 'EXTERNAL', ...input }))).KeyMetadata! as Key
  const describeKey = async (KeyId: string) =>
    (await kms().send(new DescribeKeyCommand({ KeyId }))).KeyMetadata!
  const importInto = (
    keyId: string,
    material: Buffer,
    input: Parameters<typeof importMaterial>[2]['input'] = {},
  ) => importMaterial(kms, ws, { keyId, material, input })
  const deleteMaterial = (KeyId: string, KeyMaterialId?: string) =>
    kms().send(new DeleteImportedKeyMaterialCommand({ KeyId, KeyMaterialId }))
  const encrypt = async (KeyId: string, text: string) =>
    (await kms().send(new EncryptCommand({ KeyId, Plaintext: Buffer.from(text) }))).CiphertextBlob!

  before(async () => {
    kw = await startKeyward({ clock })
  })
  after(async () => {
    clients.destroy()
    ws.remove()
    await kw.close()
  })

  describe('deleting the material of a symmetric key', () => {
    let key: Key
    let aesKey: Buffer
    let keyMaterialId: string
    let blob: Uint8Array

    before(async () => {
      key = await newKey()
      aesKey = ws.rand(32)
      keyMaterialId = (await importInto(key.KeyId, aesKey)).KeyMaterialId!
      blob = await encrypt(key.KeyId, 'kept safe')
    })

    it('answers the key ARN and the deleted material; the key becomes PendingImport', async () => {
      const out = await deleteMaterial(key.KeyId)
      assert.equal(out.KeyId, key.Arn)
      assert.equal(out.KeyMaterialId, keyMaterialId)
      const metadata = await describeKey(key.KeyId)
      // As AWS answered in LocalStack's AWS-validated test_import_key_symmetric.
      assert.equal(metadata.KeyState, 'PendingImport')
      assert.equal(metadata.Enabled, false)
      assert.equal(metadata.CurrentKeyMaterialId, keyMaterialId)
      assert.equal(metadata.ExpirationModel, undefined)
      assert.equal(metadata.ValidTo, undefined)
      assert.deepEqual(await kw.keyward.store.listKeyMaterials('us-east-1', key.KeyId), [])
    })

    it('leaves nothing the key encrypted decryptable, and refuses new use (recorded message)', async () => {
      for (const send of [
        () => kms().send(new DecryptCommand({ CiphertextBlob: blob })),
        () => kms().send(new EncryptCommand({ KeyId: key.KeyId, Plaintext: Buffer.from('x') })),
        () => kms().send(new EnableKeyCommand({ KeyId: key.KeyId })),
      ]) {
        await expectKmsError(send(), 'KMSInvalidStateException', `${key.Arn} is pending import.`)
      }
    })

    it('changes nothing when deleted again', async () => {
      const out = await deleteMaterial(key.Arn)
      assert.equal(out.KeyMaterialId, keyMaterialId)
      assert.equal((await describeKey(key.KeyId)).KeyState, 'PendingImport')
    })

    it('refuses other material, then takes the same material back: old ciphertexts decrypt again', async () => {
      await expectKmsError(
        importInto(key.KeyId, ws.rand(32)),
        'IncorrectKeyMaterialException',
        'The key material in the request is not the key material that was previously imported into this KMS key.',
      )
      const out = await importInto(key.KeyId, aesKey)
      assert.equal(out.KeyMaterialId, keyMaterialId)
      assert.equal((await describeKey(key.KeyId)).KeyState, 'Enabled')
      const opened = await kms().send(new DecryptCommand({ CiphertextBlob: blob }))
      assert.equal(Buffer.from(opened.Plaintext!).toString(), 'kept safe')
      assert.equal(opened.KeyMaterialId, keyMaterialId)
    })

    it('refuses a KeyMaterialId the key does not have', async () => {
      const unknown = 'c'.repeat(64)
      await expectKmsError(
        deleteMaterial(key.KeyId, unknown),
        'NotFoundException',
        `Key material ${unknown} is not associated with the KMS key ${key.Arn}.`,
      )
      assert.equal((await describeKey(key.KeyId)).KeyState, 'Enabled')
      const out = await deleteMaterial(key.KeyId, keyMaterialId)
      assert.equal(out.KeyMaterialId, keyMaterialId)
    })
  })

  it('does nothing for a key that never had material', async () => {
    const key = await newKey()
    const out = await deleteMaterial(key.KeyId)
    assert.equal(out.KeyId, key.Arn)
    assert.equal(out.KeyMaterialId, undefined)
    assert.equal((await describeKey(key.KeyId)).KeyState, 'PendingImport')
  })

  it('makes a disabled key PendingImport, and the reimported key Enabled', async () => {
    const key = await newKey()
    const aesKey = ws.rand(32)
    await importInto(key.KeyId, aesKey)
    await kms().send(new DisableKeyCommand({ KeyId: key.KeyId }))
    await deleteMaterial(key.KeyId)
    assert.equal((await describeKey(key.KeyId)).KeyState, 'PendingImport')
    await importInto(key.KeyId, aesKey)
    assert.equal((await describeKey(key.KeyId)).KeyState, 'Enabled')
  })

  it('keeps a key pending deletion so; cancelling then leaves it PendingImport, not Disabled', async () => {
    const key = await newKey()
    const aesKey = ws.rand(32)
    await importInto(key.KeyId, aesKey)
    await kms().send(new ScheduleKeyDeletionCommand({ KeyId: key.KeyId }))
    await deleteMaterial(key.KeyId)
    assert.equal((await describeKey(key.KeyId)).KeyState, 'PendingDeletion')
    await kms().send(new CancelKeyDeletionCommand({ KeyId: key.KeyId }))
    assert.equal((await describeKey(key.KeyId)).KeyState, 'PendingImport')
    await importInto(key.KeyId, aesKey)
    assert.equal((await describeKey(key.KeyId)).KeyState, 'Enabled')
  })

  it('deletes the material of key pairs and HMAC keys too (no KeyMaterialId reported)', async () => {
    const ecc = await newKey({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' })
    const pair = ws.privateKey(['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256'])
    await importInto(ecc.KeyId, pair.pkcs8)
    const out = await deleteMaterial(ecc.KeyId)
    assert.equal(out.KeyMaterialId, undefined)
    await expectKmsError(
      kms().send(
        new SignCommand({
          KeyId: ecc.KeyId,
          Message: Buffer.from('m'),
          SigningAlgorithm: 'ECDSA_SHA_256',
        }),
      ),
      'KMSInvalidStateException',
      `${ecc.Arn} is pending import.`,
    )
    await importInto(ecc.KeyId, pair.pkcs8)
    const { PublicKey } = await kms().send(new GetPublicKeyCommand({ KeyId: ecc.KeyId }))
    assert.deepEqual(Buffer.from(PublicKey!), pair.spki)

    const hmac = await newKey({ KeySpec: 'HMAC_256', KeyUsage: 'GENERATE_VERIFY_MAC' })
    await importInto(hmac.KeyId, ws.rand(32))
    await expectKmsError(
      deleteMaterial(hmac.KeyId, 'd'.repeat(64)),
      'ValidationException',
      'KeyMaterialId can be specified only for symmetric encryption KMS keys.',
    )
    await deleteMaterial(hmac.KeyId)
    await expectKmsError(
      kms().send(
        new GenerateMacCommand({
          KeyId: hmac.KeyId,
          Message: Buffer.from('m'),
          MacAlgorithm: 'HMAC_SHA_256',
        }),
      ),
      'KMSInvalidStateException',
      `${hmac.Arn} is pending import.`,
    )
  })

  it('refuses a key with AWS_KMS origin (footnote [9])', async () => {
    const { KeyMetadata } = await kms().send(new CreateKeyCommand({}))
    await expectKmsError(
      deleteMaterial(KeyMetadata!.KeyId!),
      'UnsupportedOperationException',
      `${KeyMetadata!.Arn} origin is AWS_KMS which is not valid for this operation.`,
    )
  })

  describe('when ValidTo passes, the scheduler deletes the material', () => {
    let key: Key
    let aesKey: Buffer
    let validTo: number
    let blob: Uint8Array
    let forever: Key

    before(async () => {
      key = await newKey()
      aesKey = ws.rand(32)
      validTo = clock.now() + 2 * DAY_MS
      await importInto(key.KeyId, aesKey, {
        ExpirationModel: 'KEY_MATERIAL_EXPIRES',
        ValidTo: new Date(validTo),
      })
      blob = await encrypt(key.KeyId, 'expires')
      forever = await newKey()
      await importInto(forever.KeyId, ws.rand(32))
    })

    it('reports ExpirationModel and ValidTo while the material lasts', async () => {
      const metadata = await describeKey(key.KeyId)
      assert.equal(metadata.ExpirationModel, 'KEY_MATERIAL_EXPIRES')
      assert.equal(metadata.ValidTo!.getTime(), validTo)
      clock.advance(2 * DAY_MS - 1)
      await kw.keyward.scheduler.runOnce()
      assert.equal((await describeKey(key.KeyId)).KeyState, 'Enabled')
    })

    it('leaves it to the scheduler: a read after ValidTo changes nothing', async () => {
      clock.advance(1)
      assert.equal((await describeKey(key.KeyId)).KeyState, 'Enabled')
    })

    it('deletes it at the next run: PendingImport, nothing decrypts', async () => {
      await kw.keyward.scheduler.runOnce()
      const metadata = await describeKey(key.KeyId)
      assert.equal(metadata.KeyState, 'PendingImport')
      assert.equal(metadata.ExpirationModel, undefined)
      assert.equal(metadata.ValidTo, undefined)
      assert.deepEqual(await kw.keyward.store.listKeyMaterials('us-east-1', key.KeyId), [])
      await expectKmsError(
        kms().send(new DecryptCommand({ CiphertextBlob: blob })),
        'KMSInvalidStateException',
        `${key.Arn} is pending import.`,
      )
      assert.equal((await describeKey(forever.KeyId)).KeyState, 'Enabled')
    })

    it('decrypts again once the same material is imported again', async () => {
      await importInto(key.KeyId, aesKey)
      const opened = await kms().send(new DecryptCommand({ CiphertextBlob: blob }))
      assert.equal(Buffer.from(opened.Plaintext!).toString(), 'expires')
      // Imported without expiry now: later runs leave it alone.
      clock.advance(400 * DAY_MS)
      await kw.keyward.scheduler.runOnce()
      assert.equal((await describeKey(key.KeyId)).KeyState, 'Enabled')
    })

    it('keeps a key pending deletion so when its material expires', async () => {
      const doomed = await newKey()
      await importInto(doomed.KeyId, ws.rand(32), {
        ExpirationModel: 'KEY_MATERIAL_EXPIRES',
        ValidTo: new Date(clock.now() + DAY_MS),
      })
      await kms().send(
        new ScheduleKeyDeletionCommand({ KeyId: doomed.KeyId, PendingWindowInDays: 30 }),
      )
      clock.advance(DAY_MS)
      await kw.keyward.scheduler.runOnce()
      assert.equal((await describeKey(doomed.KeyId)).KeyState, 'PendingDeletion')
      assert.deepEqual(await kw.keyward.store.listKeyMaterials('us-east-1', doomed.KeyId), [])
    })
  })
})
