import assert from 'node:assert/strict'
import { createPublicKey, createVerify } from 'node:crypto'
import { rmSync } from 'node:fs'
import { after, before, describe, it } from 'node:test'
import {
  CancelKeyDeletionCommand,
  CreateKeyCommand,
  DecryptCommand,
  DescribeKeyCommand,
  DisableKeyCommand,
  EnableKeyRotationCommand,
  EncryptCommand,
  GenerateDataKeyCommand,
  GenerateMacCommand,
  GetKeyPolicyCommand,
  GetKeyRotationStatusCommand,
  GetPublicKeyCommand,
  ListKeyRotationsCommand,
  ReEncryptCommand,
  ReplicateKeyCommand,
  RotateKeyOnDemandCommand,
  ScheduleKeyDeletionCommand,
  SignCommand,
  UpdatePrimaryRegionCommand,
  VerifyCommand,
  VerifyMacCommand,
  type KeyMetadata,
} from '@aws-sdk/client-kms'
import type { Caller } from '../../src/domain/caller.js'
import { ManualClock } from '../../src/ports/clock.js'
import { insertReplica, swapPrimary } from '../../src/services/multi-region-keys.js'
import { expectKmsError } from '../support/assertions.js'
import { ClockedClients } from '../support/clocked-clients.js'
import { ImportWorkspace, importMaterial } from '../support/key-import.js'
import { startKeyward, type TestServer } from '../support/keyward-server.js'
import { NO_MESSAGE } from './crypto-fixtures.js'

const DAY_MS = 86_400_000
const ACCOUNT = '111122223333'
const [US, EU, AP] = ['us-east-1', 'eu-west-1', 'ap-southeast-2'] as const
const arnIn = (region: string, keyId: string) => `arn:aws:kms:${region}:${ACCOUNT}:key/${keyId}`
const text = (s: string) => Buffer.from(s)

describe('Multi-Region keys', () => {
  const clock = new ManualClock(Date.parse('2026-06-01T12:00:00Z'))
  const clients = new ClockedClients(clock)
  let kw: TestServer
  const ws = new ImportWorkspace()
  /** A client of one Region that signs at the manual clock's time. */
  const kms = (region: string = US) => clients.kms(kw.endpoint, region)
  const describeIn = async (region: string, keyId: string): Promise<KeyMetadata> =>
    (await kms(region).send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata!
  const newPrimary = async (input: ConstructorParameters<typeof CreateKeyCommand>[0] = {}) =>
    (await kms().send(new CreateKeyCommand({ MultiRegion: true, ...input }))).KeyMetadata!
  const replicate = (keyId: string, region: string, from: string = US) =>
    kms(from).send(new ReplicateKeyCommand({ KeyId: keyId, ReplicaRegion: region }))

  before(async () => {
    kw = await startKeyward({ clock })
  })
  after(async () => {
    clients.destroy()
    ws.remove()
    await kw.close()
  })

  describe('CreateKey', () => {
    it('makes a primary with an mrk- ID and MultiRegionConfiguration (recorded shape)', async () => {
      const key = await newPrimary({ Description: 'test multi region key' })
      assert.match(key.KeyId!, /^mrk-[0-9a-f]{32}$/)
      assert.equal(key.Arn, arnIn(US, key.KeyId!))
      assert.equal(key.MultiRegion, true)
      assert.deepEqual(key.MultiRegionConfiguration, {
        MultiRegionKeyType: 'PRIMARY',
        PrimaryKey: { Arn: key.Arn, Region: US },
        ReplicaKeys: [],
      })
      assert.match(key.CurrentKeyMaterialId!, /^[0-9a-f]{64}$/)
    })

    it('leaves MultiRegionConfiguration out of single-Region keys', async () => {
      const key = (await kms().send(new CreateKeyCommand({}))).KeyMetadata!
      assert.equal(key.MultiRegion, false)
      assert.equal(key.MultiRegionConfiguration, undefined)
      assert.doesNotMatch(key.KeyId!, /^mrk-/)
    })

    it('refuses a multi-Region key in a custom key store', async () => {
      for (const input of [
        { Origin: 'AWS_CLOUDHSM', CustomKeyStoreId: 'cks-1234567890abcdef0' },
        { Origin: 'EXTERNAL_KEY_STORE', CustomKeyStoreId: 'cks-1234567890abcdef0', XksKeyId: 'k' },
      ] as const) {
        await expectKmsError(
          newPrimary(input),
          'UnsupportedOperationException',
          'Multi-Region keys cannot be created in a custom key store.',
        )
      }
    })

    it('takes every kind of key: RSA, ECC, HMAC, and imported material', async () => {
      for (const input of [
        { KeySpec: 'RSA_2048', KeyUsage: 'SIGN_VERIFY' },
        { KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' },
        { KeySpec: 'HMAC_256', KeyUsage: 'GENERATE_VERIFY_MAC' },
        { Origin: 'EXTERNAL' },
      ] as const) {
        const key = await newPrimary(input)
        assert.equal(key.MultiRegionConfiguration!.MultiRegionKeyType, 'PRIMARY', input.KeySpec)
      }
    })
  })

  describe('ReplicateKey', () => {
    it('answers the replica in Creating, then it is Enabled with the same material', async () => {
      const primary = await newPrimary()
      const id = primary.KeyId!
      await expectKmsError(
        describeIn(EU, id),
        'NotFoundException',
        `Key '${arnIn(EU, id)}' does not exist`,
      )
      const out = await replicate(id, EU)
      const replica = out.ReplicaKeyMetadata!
      assert.equal(replica.KeyId, id)
      assert.equal(replica.Arn, arnIn(EU, id))
      assert.equal(replica.KeyState, 'Creating')
      assert.equal(replica.Enabled, false)
      assert.equal(replica.Description, '')
      assert.equal(replica.CurrentKeyMaterialId, undefined)
      assert.deepEqual(replica.MultiRegionConfiguration, {
        MultiRegionKeyType: 'REPLICA',
        PrimaryKey: { Arn: primary.Arn, Region: US },
        ReplicaKeys: [{ Arn: arnIn(EU, id), Region: EU }],
      })
      assert.equal(out.ReplicaTags, undefined)
      assert.equal(JSON.parse(out.ReplicaPolicy!).Id, 'key-default-1')

      const settled = await describeIn(EU, id)
      assert.equal(settled.KeyState, 'Enabled')
      assert.equal(settled.Enabled, true)
      assert.equal(settled.CurrentKeyMaterialId, primary.CurrentKeyMaterialId)
      const again = await describeIn(US, id)
      assert.deepEqual(again.MultiRegionConfiguration!.ReplicaKeys, [
        { Arn: arnIn(EU, id), Region: EU },
      ])
    })

    it('gives the replica its own policy, description and tags', async () => {
      const primary = await newPrimary({ Description: 'primary' })
      const policy = JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` },
            Action: 'kms:*',
            Resource: '*',
          },
        ],
      })
      const out = await kms().send(
        new ReplicateKeyCommand({
          KeyId: primary.Arn,
          ReplicaRegion: EU,
          Policy: policy,
          Description: 'replica',
          Tags: [{ TagKey: 'team', TagValue: 'blue' }],
        }),
      )
      assert.equal(out.ReplicaPolicy, policy)
      assert.deepEqual(out.ReplicaTags, [{ TagKey: 'team', TagValue: 'blue' }])
      assert.equal(out.ReplicaKeyMetadata!.Description, 'replica')
      const got = await kms(EU).send(new GetKeyPolicyCommand({ KeyId: primary.KeyId }))
      assert.equal(got.Policy, policy)
      assert.equal((await describeIn(US, primary.KeyId!)).Description, 'primary')
    })

    it('refuses a replica, a Region that has a related key, a single-Region key, a disabled primary', async () => {
      const primary = await newPrimary()
      const id = primary.KeyId!
      await replicate(id, EU)
      await expectKmsError(
        replicate(id, EU, EU),
        'UnsupportedOperationException',
        `${arnIn(EU, id)} is not a multi-region primary key.`,
      )
      await expectKmsError(
        replicate(id, EU),
        'AlreadyExistsException',
        `${arnIn(EU, id)} already exists.`,
      )
      await expectKmsError(
        replicate(id, US),
        'AlreadyExistsException',
        `${arnIn(US, id)} already exists.`,
      )
      const single = (await kms().send(new CreateKeyCommand({}))).KeyMetadata!
      await expectKmsError(
        replicate(single.KeyId!, EU),
        'UnsupportedOperationException',
        `${single.Arn} is not a multi-region primary key.`,
      )
      const other = await newPrimary()
      await kms().send(new DisableKeyCommand({ KeyId: other.KeyId }))
      await expectKmsError(
        replicate(other.KeyId!, EU),
        'DisabledException',
        `${other.Arn} is disabled.`,
      )
    })
  })

  describe('interoperability', () => {
    it('decrypts and re-encrypts in any related Region; a single-Region ciphertext stays home', async () => {
      const primary = await newPrimary()
      const id = primary.KeyId!
      await replicate(id, EU)
      await replicate(id, AP)
      const context = { purpose: 'test' }
      const { CiphertextBlob } = await kms().send(
        new EncryptCommand({ KeyId: id, Plaintext: text('hello'), EncryptionContext: context }),
      )
      for (const region of [EU, AP]) {
        const out = await kms(region).send(
          new DecryptCommand({ CiphertextBlob, EncryptionContext: context }),
        )
        assert.equal(Buffer.from(out.Plaintext!).toString(), 'hello')
        assert.equal(out.KeyId, arnIn(region, id))
      }
      await expectKmsError(
        kms(EU).send(new DecryptCommand({ CiphertextBlob })),
        'InvalidCiphertextException',
        NO_MESSAGE,
      )
      const data = await kms(AP).send(new GenerateDataKeyCommand({ KeyId: id, KeySpec: 'AES_256' }))
      const opened = await kms(US).send(new DecryptCommand({ CiphertextBlob: data.CiphertextBlob }))
      assert.deepEqual(opened.Plaintext, data.Plaintext)
      const moved = await kms(EU).send(
        new ReEncryptCommand({
          CiphertextBlob,
          SourceEncryptionContext: context,
          DestinationKeyId: id,
        }),
      )
      assert.equal(moved.SourceKeyId, arnIn(EU, id))
      const back = await kms(US).send(new DecryptCommand({ CiphertextBlob: moved.CiphertextBlob }))
      assert.equal(Buffer.from(back.Plaintext!).toString(), 'hello')

      const single = (await kms().send(new CreateKeyCommand({}))).KeyMetadata!
      const sealed = await kms().send(
        new EncryptCommand({ KeyId: single.KeyId, Plaintext: text('x') }),
      )
      await expectKmsError(
        kms(EU).send(new DecryptCommand({ CiphertextBlob: sealed.CiphertextBlob })),
        'AccessDeniedException',
        'The ciphertext refers to a customer master key that does not exist, does not exist in this region, or you are not allowed to access.',
      )
    })

    for (const spec of ['RSA_2048', 'ECC_NIST_P256'] as const) {
      it(`signs in one Region and verifies in another (${spec})`, async () => {
        const key = await newPrimary({ KeySpec: spec, KeyUsage: 'SIGN_VERIFY' })
        await replicate(key.KeyId!, EU)
        const algorithm = spec === 'RSA_2048' ? 'RSASSA_PKCS1_V1_5_SHA_256' : 'ECDSA_SHA_256'
        const message = text('signed in eu-west-1')
        const { Signature } = await kms(EU).send(
          new SignCommand({ KeyId: key.KeyId, Message: message, SigningAlgorithm: algorithm }),
        )
        const verified = await kms(US).send(
          new VerifyCommand({
            KeyId: key.KeyId,
            Message: message,
            Signature,
            SigningAlgorithm: algorithm,
          }),
        )
        assert.equal(verified.SignatureValid, true)
        const [usKey, euKey] = await Promise.all(
          [US, EU].map((r) => kms(r).send(new GetPublicKeyCommand({ KeyId: key.KeyId }))),
        )
        assert.deepEqual(usKey!.PublicKey, euKey!.PublicKey)
        const offline = createVerify('sha256').update(message)
        const publicKey = createPublicKey({
          key: Buffer.from(usKey!.PublicKey!),
          format: 'der',
          type: 'spki',
        })
        assert.equal(offline.verify(publicKey, Buffer.from(Signature!)), true)
      })
    }

    it('makes a MAC in one Region that verifies in another', async () => {
      const key = await newPrimary({ KeySpec: 'HMAC_256', KeyUsage: 'GENERATE_VERIFY_MAC' })
      await replicate(key.KeyId!, AP)
      const message = text('mac me')
      const { Mac } = await kms(US).send(
        new GenerateMacCommand({
          KeyId: key.KeyId,
          Message: message,
          MacAlgorithm: 'HMAC_SHA_256',
        }),
      )
      const out = await kms(AP).send(
        new VerifyMacCommand({
          KeyId: key.KeyId,
          Message: message,
          Mac,
          MacAlgorithm: 'HMAC_SHA_256',
        }),
      )
      assert.equal(out.MacValid, true)
    })
  })

  describe('shared properties', () => {
    it('a rotation of the primary reaches every replica, and a new replica gets every version', async () => {
      const key = await newPrimary()
      const id = key.KeyId!
      await replicate(id, EU)
      const before = await kms().send(new EncryptCommand({ KeyId: id, Plaintext: text('old') }))
      await kms().send(new RotateKeyOnDemandCommand({ KeyId: id }))
      const primary = await describeIn(US, id)
      assert.notEqual(primary.CurrentKeyMaterialId, key.CurrentKeyMaterialId)
      assert.equal((await describeIn(EU, id)).CurrentKeyMaterialId, primary.CurrentKeyMaterialId)
      const [usRotations, euRotations] = await Promise.all(
        [US, EU].map((r) => kms(r).send(new ListKeyRotationsCommand({ KeyId: id }))),
      )
      assert.equal(euRotations!.Rotations!.length, 1)
      assert.deepEqual(
        euRotations!.Rotations!.map((r) => ({ ...r, KeyId: undefined })),
        usRotations!.Rotations!.map((r) => ({ ...r, KeyId: undefined })),
      )
      const after = await kms(EU).send(new EncryptCommand({ KeyId: id, Plaintext: text('new') }))
      const opened = await kms(US).send(
        new DecryptCommand({ CiphertextBlob: after.CiphertextBlob }),
      )
      assert.equal(Buffer.from(opened.Plaintext!).toString(), 'new')

      await replicate(id, AP)
      for (const blob of [before.CiphertextBlob, after.CiphertextBlob]) {
        await kms(AP).send(new DecryptCommand({ CiphertextBlob: blob }))
      }
      await expectKmsError(
        kms(EU).send(new RotateKeyOnDemandCommand({ KeyId: id })),
        'UnsupportedOperationException',
        `${arnIn(EU, id)} is not a multi-region primary key.`,
      )
    })

    it('automatic rotation and its period are set on the primary and rotate the replicas', async () => {
      const key = await newPrimary()
      const id = key.KeyId!
      await replicate(id, EU)
      await kms().send(new EnableKeyRotationCommand({ KeyId: id, RotationPeriodInDays: 90 }))
      const status = await kms(EU).send(new GetKeyRotationStatusCommand({ KeyId: id }))
      assert.equal(status.KeyRotationEnabled, true)
      assert.equal(status.RotationPeriodInDays, 90)
      await expectKmsError(
        kms(EU).send(new EnableKeyRotationCommand({ KeyId: id })),
        'UnsupportedOperationException',
        `${arnIn(EU, id)} is not a multi-region primary key.`,
      )
      clock.advance(91 * DAY_MS)
      await kw.keyward.scheduler.runOnce()
      const [us, eu] = [await describeIn(US, id), await describeIn(EU, id)]
      assert.notEqual(us.CurrentKeyMaterialId, key.CurrentKeyMaterialId)
      assert.equal(eu.CurrentKeyMaterialId, us.CurrentKeyMaterialId)
    })
  })

  describe('UpdatePrimaryRegion', () => {
    it('swaps the roles and keeps the ARNs; the new primary replicates', async () => {
      const key = await newPrimary()
      const id = key.KeyId!
      await replicate(id, EU)
      await replicate(id, AP)
      await kms().send(new UpdatePrimaryRegionCommand({ KeyId: id, PrimaryRegion: EU }))
      for (const region of [US, EU, AP]) {
        const meta = await describeIn(region, id)
        assert.equal(meta.Arn, arnIn(region, id))
        assert.equal(meta.KeyState, 'Enabled')
        assert.equal(
          meta.MultiRegionConfiguration!.MultiRegionKeyType,
          region === EU ? 'PRIMARY' : 'REPLICA',
        )
        assert.deepEqual(meta.MultiRegionConfiguration!.PrimaryKey, {
          Arn: arnIn(EU, id),
          Region: EU,
        })
        assert.deepEqual(
          meta.MultiRegionConfiguration!.ReplicaKeys!.map((r) => r.Region).sort(),
          [AP, US].sort(),
        )
      }
      await expectKmsError(
        kms().send(new UpdatePrimaryRegionCommand({ KeyId: id, PrimaryRegion: AP })),
        'UnsupportedOperationException',
        `${arnIn(US, id)} is not a multi-region primary key.`,
      )
      await kms(EU).send(new RotateKeyOnDemandCommand({ KeyId: id }))
      assert.equal(
        (await describeIn(US, id)).CurrentKeyMaterialId,
        (await describeIn(EU, id)).CurrentKeyMaterialId,
      )
    })

    it('refuses a Region without a replica and a disabled replica', async () => {
      const key = await newPrimary()
      const id = key.KeyId!
      await expectKmsError(
        kms().send(new UpdatePrimaryRegionCommand({ KeyId: id, PrimaryRegion: EU })),
        'NotFoundException',
        `Key '${arnIn(EU, id)}' does not exist`,
      )
      await replicate(id, EU)
      await kms(EU).send(new DisableKeyCommand({ KeyId: id }))
      await expectKmsError(
        kms().send(new UpdatePrimaryRegionCommand({ KeyId: id, PrimaryRegion: EU })),
        'DisabledException',
        `${arnIn(EU, id)} is disabled.`,
      )
      assert.equal(
        (await describeIn(US, id)).MultiRegionConfiguration!.MultiRegionKeyType,
        'PRIMARY',
      )
    })
  })

  describe('deletion', () => {
    it('a primary with replicas waits for them: PendingReplicaDeletion, then its own window', async () => {
      const key = await newPrimary()
      const id = key.KeyId!
      await replicate(id, EU)
      const out = await kms().send(
        new ScheduleKeyDeletionCommand({ KeyId: id, PendingWindowInDays: 7 }),
      )
      assert.equal(out.KeyState, 'PendingReplicaDeletion')
      assert.equal(out.DeletionDate, undefined)
      assert.equal(out.PendingWindowInDays, 7)
      const waiting = await describeIn(US, id)
      assert.equal(waiting.PendingDeletionWindowInDays, 7)
      assert.equal(waiting.DeletionDate, undefined)
      await expectKmsError(
        kms().send(new EncryptCommand({ KeyId: id, Plaintext: text('x') })),
        'KMSInvalidStateException',
        `${key.Arn} is pending replica deletion.`,
      )
      await kms(EU).send(new EncryptCommand({ KeyId: id, Plaintext: text('x') }))

      await kms(EU).send(new ScheduleKeyDeletionCommand({ KeyId: id, PendingWindowInDays: 7 }))
      clock.advance(7 * DAY_MS)
      await kw.keyward.scheduler.runOnce()
      await expectKmsError(
        describeIn(EU, id),
        'NotFoundException',
        `Key '${arnIn(EU, id)}' does not exist`,
      )
      const primary = await describeIn(US, id)
      assert.equal(primary.KeyState, 'PendingDeletion')
      assert.deepEqual(primary.MultiRegionConfiguration!.ReplicaKeys, [])
      assert.equal(primary.DeletionDate!.getTime(), clock.now() + 7 * DAY_MS)
      clock.advance(7 * DAY_MS)
      await kw.keyward.scheduler.runOnce()
      await expectKmsError(
        describeIn(US, id),
        'NotFoundException',
        `Key '${key.Arn}' does not exist`,
      )
    })

    it('CancelKeyDeletion of a primary waiting for its replicas leaves it Disabled', async () => {
      const key = await newPrimary()
      await replicate(key.KeyId!, EU)
      await kms().send(new ScheduleKeyDeletionCommand({ KeyId: key.KeyId }))
      await kms().send(new CancelKeyDeletionCommand({ KeyId: key.KeyId }))
      const meta = await describeIn(US, key.KeyId!)
      assert.equal(meta.KeyState, 'Disabled')
      assert.equal(meta.PendingDeletionWindowInDays, undefined)
    })
  })

  describe('imported key material', () => {
    it('each Region imports the same material; a different one is refused', async () => {
      const key = await newPrimary({ Origin: 'EXTERNAL' })
      const id = key.KeyId!
      const material = ws.rand(32)
      await importMaterial(() => kms(US), ws, { keyId: id, material })
      const out = await replicate(id, EU)
      assert.equal(out.ReplicaKeyMetadata!.KeyState, 'Creating')
      assert.equal((await describeIn(EU, id)).KeyState, 'PendingImport')
      await expectKmsError(
        importMaterial(() => kms(EU), ws, { keyId: id, material: ws.rand(32) }),
        'IncorrectKeyMaterialException',
        'The key material in the request is not the key material that was previously imported into this KMS key.',
      )
      await importMaterial(() => kms(EU), ws, { keyId: id, material })
      const replica = await describeIn(EU, id)
      assert.equal(replica.KeyState, 'Enabled')
      assert.equal(replica.CurrentKeyMaterialId, (await describeIn(US, id)).CurrentKeyMaterialId)
      const { CiphertextBlob } = await kms(EU).send(
        new EncryptCommand({ KeyId: id, Plaintext: text('imported') }),
      )
      const opened = await kms(US).send(new DecryptCommand({ CiphertextBlob }))
      assert.equal(Buffer.from(opened.Plaintext!).toString(), 'imported')
    })

    it('new material rotates only after every replica imported it', async () => {
      const key = await newPrimary({ Origin: 'EXTERNAL' })
      const id = key.KeyId!
      const first = ws.rand(32)
      await importMaterial(() => kms(US), ws, { keyId: id, material: first })
      await replicate(id, EU)
      await importMaterial(() => kms(EU), ws, { keyId: id, material: first })
      const second = ws.rand(32)
      const imported = await importMaterial(() => kms(US), ws, {
        keyId: id,
        material: second,
        input: { ImportType: 'NEW_KEY_MATERIAL' },
      })
      const pendingState = async () =>
        (
          await kms().send(
            new ListKeyRotationsCommand({ KeyId: id, IncludeKeyMaterial: 'ALL_KEY_MATERIAL' }),
          )
        ).Rotations!.find((r) => r.KeyMaterialId === imported.KeyMaterialId)!.KeyMaterialState
      assert.equal(await pendingState(), 'PENDING_MULTI_REGION_IMPORT_AND_ROTATION')
      await expectKmsError(
        kms().send(new RotateKeyOnDemandCommand({ KeyId: id })),
        'KMSInvalidStateException',
        `Key material (id: ${imported.KeyMaterialId}) of ${key.Arn} is pending import into its replica keys; import it into every replica key before the rotation.`,
      )
      await importMaterial(() => kms(EU), ws, {
        keyId: id,
        material: second,
        input: { ImportType: 'EXISTING_KEY_MATERIAL' },
      })
      assert.equal(await pendingState(), 'PENDING_ROTATION')
      await kms().send(new RotateKeyOnDemandCommand({ KeyId: id }))
      const replica = await describeIn(EU, id)
      assert.equal(replica.CurrentKeyMaterialId, imported.KeyMaterialId)
      assert.equal(replica.KeyState, 'Enabled')
      const { CiphertextBlob } = await kms(EU).send(
        new EncryptCommand({ KeyId: id, Plaintext: text('second') }),
      )
      await kms(US).send(new DecryptCommand({ CiphertextBlob }))
    })
  })

  describe('transient states and restarts', () => {
    const keys = () => kw.keyward.keys
    it('a replica a crash left in Creating cannot be used, and the scheduler settles it', async () => {
      const primary = await newPrimary()
      const record = (await keys().findKey(US, primary.KeyId!))!
      await insertReplica(keys(), record, {
        region: EU,
        policy: record.policy,
        description: '',
        tags: [],
        now: clock.now(),
      })
      assert.equal((await describeIn(EU, primary.KeyId!)).KeyState, 'Creating')
      await expectKmsError(
        kms(EU).send(new EncryptCommand({ KeyId: primary.KeyId, Plaintext: text('x') })),
        'KMSInvalidStateException',
        `${arnIn(EU, primary.KeyId!)} is creating.`,
      )
      await kw.keyward.scheduler.runOnce()
      assert.equal((await describeIn(EU, primary.KeyId!)).KeyState, 'Enabled')
    })

    it('keys a crash left Updating still encrypt, refuse DisableKey, and get their state back', async () => {
      const primary = await newPrimary()
      const id = primary.KeyId!
      await replicate(id, EU)
      const [p, r] = [(await keys().findKey(US, id))!, (await keys().findKey(EU, id))!]
      await swapPrimary(keys(), { primary: p, replica: r })
      for (const region of [US, EU]) {
        assert.equal((await describeIn(region, id)).KeyState, 'Updating')
      }
      await kms(US).send(new EncryptCommand({ KeyId: id, Plaintext: text('x') }))
      await expectKmsError(
        kms(US).send(new DisableKeyCommand({ KeyId: id })),
        'KMSInvalidStateException',
        `${arnIn(US, id)} is updating.`,
      )
      await kw.keyward.scheduler.runOnce()
      const [us, eu] = [await describeIn(US, id), await describeIn(EU, id)]
      assert.equal(us.KeyState, 'Enabled')
      assert.equal(us.MultiRegionConfiguration!.MultiRegionKeyType, 'REPLICA')
      assert.equal(eu.KeyState, 'Enabled')
      assert.equal(eu.MultiRegionConfiguration!.MultiRegionKeyType, 'PRIMARY')
    })

    it('keeps replicas and their material across a restart', async () => {
      const first = await startKeyward()
      const dataDir = first.dataDir
      const created = await first.client().send(new CreateKeyCommand({ MultiRegion: true }))
      const id = created.KeyMetadata!.KeyId!
      await first.client().send(new ReplicateKeyCommand({ KeyId: id, ReplicaRegion: AP }))
      const { CiphertextBlob } = await first
        .client()
        .send(new EncryptCommand({ KeyId: id, Plaintext: text('kept') }))
      await first.keyward.close()
      const second = await startKeyward({ dataDir })
      try {
        const out = await second.client({ region: AP }).send(new DecryptCommand({ CiphertextBlob }))
        assert.equal(Buffer.from(out.Plaintext!).toString(), 'kept')
        const meta = await second.client().send(new DescribeKeyCommand({ KeyId: id }))
        assert.deepEqual(meta.KeyMetadata!.MultiRegionConfiguration!.ReplicaKeys, [
          { Arn: arnIn(AP, id), Region: AP },
        ])
      } finally {
        await second.close()
        rmSync(dataDir, { recursive: true, force: true })
      }
    })
  })

  describe('authorization', () => {
    const DAVE = {
      accessKeyId: 'AKIADAVETESTKEY00005',
      secretAccessKey: 'dave-secret-for-tests-only-0000000000005',
    }
    const DAVE_ARN = `arn:aws:iam::${ACCOUNT}:user/dave`
    let authz: TestServer
    before(async () => {
      // Dave may do anything in KMS but create keys.
      const identityPolicies = [
        {
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', NotAction: 'kms:CreateKey', Resource: '*' }],
        },
      ]
      authz = await startKeyward({
        principals: [
          {
            credentials: DAVE,
            caller: { accountId: ACCOUNT, arn: DAVE_ARN, identityPolicies } as unknown as Caller,
          },
        ],
      })
    })
    after(() => authz.close())

    it('ReplicateKey needs kms:CreateKey in an IAM policy', async () => {
      const key = (await authz.client().send(new CreateKeyCommand({ MultiRegion: true })))
        .KeyMetadata!
      await expectKmsError(
        authz
          .client({ credentials: DAVE })
          .send(new ReplicateKeyCommand({ KeyId: key.KeyId, ReplicaRegion: EU })),
        'AccessDeniedException',
        `User: ${DAVE_ARN} is not authorized to perform: kms:CreateKey on resource: * because no identity-based policy allows the kms:CreateKey action`,
      )
    })

    it('a key policy can limit the replica Regions with kms:ReplicaRegion', async () => {
      const policy = JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          {
            Sid: 'Enable IAM User Permissions',
            Effect: 'Allow',
            Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` },
            Action: 'kms:*',
            Resource: '*',
          },
          {
            Effect: 'Deny',
            Principal: { AWS: '*' },
            Action: 'kms:ReplicateKey',
            Resource: '*',
            Condition: { StringNotEquals: { 'kms:ReplicaRegion': [AP] } },
          },
        ],
      })
      const kms = authz.client()
      const key = (await kms.send(new CreateKeyCommand({ MultiRegion: true, Policy: policy })))
        .KeyMetadata!
      await expectKmsError(
        kms.send(new ReplicateKeyCommand({ KeyId: key.KeyId, ReplicaRegion: EU })),
        'AccessDeniedException',
        `User: arn:aws:iam::${ACCOUNT}:user/admin is not authorized to perform: kms:ReplicateKey on resource: ${key.Arn} with an explicit deny in a resource-based policy`,
      )
      await kms.send(new ReplicateKeyCommand({ KeyId: key.KeyId, ReplicaRegion: AP }))
    })
  })
})
