import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import {
  ConnectCustomKeyStoreCommand,
  CreateCustomKeyStoreCommand,
  CreateKeyCommand,
  DecryptCommand,
  DeleteCustomKeyStoreCommand,
  DescribeKeyCommand,
  DisconnectCustomKeyStoreCommand,
  EnableKeyRotationCommand,
  EncryptCommand,
  GenerateDataKeyCommand,
  GenerateDataKeyPairCommand,
  GenerateDataKeyWithoutPlaintextCommand,
  GenerateRandomCommand,
  GetKeyLastUsageCommand,
  ReEncryptCommand,
  RotateKeyOnDemandCommand,
  ScheduleKeyDeletionCommand,
  type KMSClient,
} from '@aws-sdk/client-kms'
import pkcs11js from 'pkcs11js'
import { loadModule } from '../../src/adapters/pkcs11/pkcs11-module.js'
import { Pkcs11Token } from '../../src/adapters/pkcs11/pkcs11-token.js'
import { ManualClock } from '../../src/ports/clock.js'
import { expectKmsError } from '../support/assertions.js'
import { ClockedClients } from '../support/clocked-clients.js'
import { NO_MESSAGE } from './crypto-fixtures.js'
import {
  CLUSTER,
  PIN_A,
  PIN_B,
  startTestHsm,
  TRUST_ANCHOR,
  type TestHsm,
} from '../support/hsm-clusters.js'
import { startKeyward, type TestServer } from '../support/keyward-server.js'
import { SOFTHSM_MISSING } from '../support/softhsm.js'

const DAY_MS = 86_400_000
const CONTEXT = { purpose: 'hsm-test' }

describe('keys in a CloudHSM key store (SoftHSM)', { skip: SOFTHSM_MISSING }, () => {
  let testHsm: TestHsm
  let kw: TestServer
  let kms: KMSClient
  let storeId: string
  /** A second login to token kms-a, to look at what Keyward put there. */
  let inspector: Pkcs11Token
  // Manual, from now: SigV4 accepts the SDK's real-time signatures until the clock is moved
  // (the deletion test moves it last, and signs with ClockedClients after).
  const clock = new ManualClock()
  const clocked = new ClockedClients(clock)

  before(async () => {
    testHsm = startTestHsm()
    kw = await startKeyward({ cloudHsmClusters: testHsm.clusters, clock })
    kms = kw.client()
    storeId = (
      await kms.send(
        new CreateCustomKeyStoreCommand({
          CustomKeyStoreName: 'hsm',
          CloudHsmClusterId: CLUSTER.a,
          TrustAnchorCertificate: TRUST_ANCHOR,
          KeyStorePassword: PIN_A,
        }),
      )
    ).CustomKeyStoreId!
    await setConnected(true)
    inspector = await Pkcs11Token.open({
      modulePath: testHsm.hsm.modulePath,
      tokenLabel: 'kms-a',
      pin: PIN_A,
    })
  })
  after(async () => {
    await inspector?.close()
    clocked.destroy()
    await kw?.close()
    testHsm?.hsm.cleanup()
  })

  async function setConnected(connected: boolean) {
    if (connected) {
      await kms.send(new ConnectCustomKeyStoreCommand({ CustomKeyStoreId: storeId }))
      await kw.keyward.customKeyStores.settled()
    } else {
      await kms.send(new DisconnectCustomKeyStoreCommand({ CustomKeyStoreId: storeId }))
    }
  }
  const createHsmKey = async () =>
    (await kms.send(new CreateKeyCommand({ Origin: 'AWS_CLOUDHSM', CustomKeyStoreId: storeId })))
      .KeyMetadata!

  it('creates the key material inside the HSM, non-extractable and labelled with the key ARN', async () => {
    const key = await createHsmKey()
    assert.equal(key.Origin, 'AWS_CLOUDHSM')
    assert.equal(key.CustomKeyStoreId, storeId)
    assert.equal(key.CloudHsmClusterId, CLUSTER.a)
    assert.equal(key.KeyState, 'Enabled')
    assert.equal(key.CurrentKeyMaterialId, undefined)
    assert.equal(await inspector.hasKey(key.Arn!), true)
    await inspector.withSession((session, api) => {
      api.C_FindObjectsInit(session, [{ type: pkcs11js.CKA_LABEL, value: key.Arn! }])
      const handle = api.C_FindObjects(session)
      api.C_FindObjectsFinal(session)
      assert.ok(handle)
      assert.throws(
        () => api.C_GetAttributeValue(session, handle, [{ type: pkcs11js.CKA_VALUE }]),
        /CKR_ATTRIBUTE_SENSITIVE/,
      )
      const [id] = api.C_GetAttributeValue(session, handle, [{ type: pkcs11js.CKA_ID }])
      assert.equal(id?.value?.toString(), key.KeyId)
    })
  })

  it('encrypts and decrypts inside the HSM, binding the encryption context', async () => {
    const key = await createHsmKey()
    const plaintext = Buffer.from('sealed by the token')
    const { CiphertextBlob } = await kms.send(
      new EncryptCommand({ KeyId: key.KeyId, Plaintext: plaintext, EncryptionContext: CONTEXT }),
    )
    assert.equal(CiphertextBlob![0], 0x02, 'format version 2: HSM-sealed')
    const out = await kms.send(new DecryptCommand({ CiphertextBlob, EncryptionContext: CONTEXT }))
    assert.deepEqual(Buffer.from(out.Plaintext!), plaintext)
    assert.equal(out.KeyId, key.Arn)
    // GetKeyLastUsage tracks HSM keys like any other.
    const usage = await kms.send(new GetKeyLastUsageCommand({ KeyId: key.KeyId }))
    assert.equal(usage.KeyLastUsage?.Operation, 'Decrypt')
    assert.equal(usage.KeyLastUsage?.KmsRequestId, out.$metadata.requestId)
    await expectKmsError(
      kms.send(new DecryptCommand({ CiphertextBlob, EncryptionContext: { purpose: 'other' } })),
      'InvalidCiphertextException',
      NO_MESSAGE,
    )
    const tampered = Buffer.from(CiphertextBlob!)
    tampered[tampered.length - 1]! ^= 1
    await expectKmsError(
      kms.send(new DecryptCommand({ CiphertextBlob: tampered, EncryptionContext: CONTEXT })),
      'InvalidCiphertextException',
      NO_MESSAGE,
    )
  })

  it('makes data keys and re-encrypts between HSM and software keys', async () => {
    const hsmKey = await createHsmKey()
    const softKey = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!
    const dataKey = await kms.send(
      new GenerateDataKeyCommand({
        KeyId: hsmKey.KeyId,
        KeySpec: 'AES_256',
        EncryptionContext: CONTEXT,
      }),
    )
    const opened = await kms.send(
      new DecryptCommand({ CiphertextBlob: dataKey.CiphertextBlob, EncryptionContext: CONTEXT }),
    )
    assert.deepEqual(opened.Plaintext, dataKey.Plaintext)
    const withoutPlaintext = await kms.send(
      new GenerateDataKeyWithoutPlaintextCommand({ KeyId: hsmKey.KeyId, NumberOfBytes: 16 }),
    )
    const toSoft = await kms.send(
      new ReEncryptCommand({
        CiphertextBlob: withoutPlaintext.CiphertextBlob,
        DestinationKeyId: softKey.KeyId,
      }),
    )
    assert.equal(toSoft.SourceKeyId, hsmKey.Arn)
    const backToHsm = await kms.send(
      new ReEncryptCommand({
        CiphertextBlob: toSoft.CiphertextBlob,
        DestinationKeyId: hsmKey.KeyId,
      }),
    )
    const final = await kms.send(new DecryptCommand({ CiphertextBlob: backToHsm.CiphertextBlob }))
    assert.equal(final.Plaintext?.length, 16)
    // Data key pairs are not made under keys of a custom key store (Developer Guide).
    await expectKmsError(
      kms.send(new GenerateDataKeyPairCommand({ KeyId: hsmKey.KeyId, KeyPairSpec: 'RSA_2048' })),
      'UnsupportedOperationException',
      `${hsmKey.Arn} origin is AWS_CLOUDHSM which is not valid for this operation.`,
    )
  })

  it('draws GenerateRandom bytes from the store’s HSM', async () => {
    const out = await kms.send(
      new GenerateRandomCommand({ NumberOfBytes: 64, CustomKeyStoreId: storeId }),
    )
    assert.equal(out.Plaintext?.length, 64)
  })

  it('refuses keys it cannot create in a custom key store', async () => {
    await expectKmsError(
      kms.send(
        new CreateKeyCommand({
          Origin: 'AWS_CLOUDHSM',
          CustomKeyStoreId: storeId,
          KeySpec: 'RSA_2048',
          KeyUsage: 'ENCRYPT_DECRYPT',
        }),
      ),
      'UnsupportedOperationException',
      'KeySpec RSA_2048 is not supported for KMS keys in a custom key store: only SYMMETRIC_DEFAULT keys for ENCRYPT_DECRYPT.',
    )
    await expectKmsError(
      kms.send(new CreateKeyCommand({ Origin: 'AWS_CLOUDHSM' })),
      'ValidationException',
      'CustomKeyStoreId is required when Origin is AWS_CLOUDHSM.',
    )
    await expectKmsError(
      kms.send(new CreateKeyCommand({ CustomKeyStoreId: storeId })),
      'ValidationException',
      'CustomKeyStoreId can be specified only when Origin is AWS_CLOUDHSM or EXTERNAL_KEY_STORE.',
    )
    await expectKmsError(
      kms.send(
        new CreateKeyCommand({ Origin: 'AWS_CLOUDHSM', CustomKeyStoreId: 'cks-1234567890abcdef0' }),
      ),
      'CustomKeyStoreNotFoundException',
      'The request was rejected because AWS KMS cannot find a custom key store with the specified key store name or ID.',
    )
    const key = await createHsmKey()
    const notRotatable = `${key.Arn} origin is AWS_CLOUDHSM which is not valid for this operation.`
    await expectKmsError(
      kms.send(new EnableKeyRotationCommand({ KeyId: key.KeyId })),
      'UnsupportedOperationException',
      notRotatable,
    )
    await expectKmsError(
      kms.send(new RotateKeyOnDemandCommand({ KeyId: key.KeyId })),
      'UnsupportedOperationException',
      notRotatable,
    )
    await expectKmsError(
      kms.send(new DeleteCustomKeyStoreCommand({ CustomKeyStoreId: storeId })),
      'CustomKeyStoreInvalidStateException',
      `Custom key store ${storeId} has ConnectionState CONNECTED. Disconnect it (DisconnectCustomKeyStore) before deleting it.`,
    )
  })

  it('makes keys Unavailable while the store is disconnected, and usable again after', async () => {
    const key = await createHsmKey()
    const { CiphertextBlob } = await kms.send(
      new EncryptCommand({ KeyId: key.KeyId, Plaintext: Buffer.from('kept') }),
    )
    await setConnected(false)
    try {
      const unavailable = `${key.Arn} is unavailable.`
      await expectKmsError(
        kms.send(new EncryptCommand({ KeyId: key.KeyId, Plaintext: Buffer.from('x') })),
        'KMSInvalidStateException',
        unavailable,
      )
      await expectKmsError(
        kms.send(new DecryptCommand({ CiphertextBlob })),
        'KMSInvalidStateException',
        unavailable,
      )
      const described = await kms.send(new DescribeKeyCommand({ KeyId: key.KeyId }))
      assert.equal(described.KeyMetadata?.KeyState, 'Unavailable')
      await expectKmsError(
        kms.send(new CreateKeyCommand({ Origin: 'AWS_CLOUDHSM', CustomKeyStoreId: storeId })),
        'CustomKeyStoreInvalidStateException',
        `Custom key store ${storeId} has ConnectionState DISCONNECTED. Keys can be created only in a connected store.`,
      )
      await expectKmsError(
        kms.send(new GenerateRandomCommand({ NumberOfBytes: 8, CustomKeyStoreId: storeId })),
        'CustomKeyStoreInvalidStateException',
        `Custom key store ${storeId} has ConnectionState DISCONNECTED. Random bytes come only from a connected store.`,
      )
      await expectKmsError(
        kms.send(new DeleteCustomKeyStoreCommand({ CustomKeyStoreId: storeId })),
        'CustomKeyStoreHasCMKsException',
        'The request was rejected because the custom key store contains AWS KMS keys. After verifying that you do not need to use the KMS keys, use the ScheduleKeyDeletion operation to delete the KMS keys. After they are deleted, you can delete the custom key store.',
      )
    } finally {
      await setConnected(true)
    }
    const out = await kms.send(new DecryptCommand({ CiphertextBlob }))
    assert.equal(Buffer.from(out.Plaintext!).toString(), 'kept')
    const described = await kms.send(new DescribeKeyCommand({ KeyId: key.KeyId }))
    assert.equal(described.KeyMetadata?.KeyState, 'Enabled')
  })

  it('says so when the key object has vanished from the HSM', async () => {
    const key = await createHsmKey()
    assert.equal(await inspector.destroyKey(key.Arn!), true)
    await expectKmsError(
      kms.send(new EncryptCommand({ KeyId: key.KeyId, Plaintext: Buffer.from('x') })),
      'KMSInvalidStateException',
      `${key.Arn} is unavailable: its key material (the object labelled with the key ARN) is missing from CloudHSM cluster ${CLUSTER.a}.`,
    )
  })

  it('says so when the key object vanishes after the key was used', async () => {
    const key = await createHsmKey()
    // Encrypt first, so that Keyward holds the object's handle when the object goes.
    const { CiphertextBlob } = await kms.send(
      new EncryptCommand({ KeyId: key.KeyId, Plaintext: Buffer.from('x') }),
    )
    assert.equal(await inspector.destroyKey(key.Arn!), true)
    const missing = `${key.Arn} is unavailable: its key material (the object labelled with the key ARN) is missing from CloudHSM cluster ${CLUSTER.a}.`
    await expectKmsError(
      kms.send(new EncryptCommand({ KeyId: key.KeyId, Plaintext: Buffer.from('x') })),
      'KMSInvalidStateException',
      missing,
    )
    await expectKmsError(
      kms.send(new DecryptCommand({ CiphertextBlob })),
      'KMSInvalidStateException',
      missing,
    )
  })

  it('makes the crypto calls on the event loop for a cluster with callMode sync', async () => {
    const { CustomKeyStoreId } = await kms.send(
      new CreateCustomKeyStoreCommand({
        CustomKeyStoreName: 'hsm-sync',
        CloudHsmClusterId: CLUSTER.sync,
        TrustAnchorCertificate: TRUST_ANCHOR,
        KeyStorePassword: PIN_B,
      }),
    )
    await kms.send(new ConnectCustomKeyStoreCommand({ CustomKeyStoreId }))
    await kw.keyward.customKeyStores.settled()
    const syncKey = (
      await kms.send(new CreateKeyCommand({ Origin: 'AWS_CLOUDHSM', CustomKeyStoreId }))
    ).KeyMetadata!
    const asyncKey = await createHsmKey()
    const roundTrip = async (keyId: string) => {
      const plaintext = Buffer.from(`sealed under ${keyId}`)
      const { CiphertextBlob } = await kms.send(
        new EncryptCommand({ KeyId: keyId, Plaintext: plaintext, EncryptionContext: CONTEXT }),
      )
      const out = await kms.send(new DecryptCommand({ CiphertextBlob, EncryptionContext: CONTEXT }))
      assert.deepEqual(Buffer.from(out.Plaintext!), plaintext)
    }
    assert.equal(await countSyncCrypto(() => roundTrip(syncKey.KeyId!)), 2)
    assert.equal(await countSyncCrypto(() => roundTrip(asyncKey.KeyId!)), 0)
    try {
      await kms.send(new DisconnectCustomKeyStoreCommand({ CustomKeyStoreId }))
      await expectKmsError(
        kms.send(new EncryptCommand({ KeyId: syncKey.KeyId, Plaintext: Buffer.from('x') })),
        'KMSInvalidStateException',
        `${syncKey.Arn} is unavailable.`,
      )
    } finally {
      await kms.send(new ConnectCustomKeyStoreCommand({ CustomKeyStoreId }))
      await kw.keyward.customKeyStores.settled()
    }
  })

  /** How many synchronous C_Encrypt and C_Decrypt calls `fn` makes through the module. */
  async function countSyncCrypto(fn: () => Promise<void>): Promise<number> {
    const api = loadModule(testHsm.hsm.modulePath).api
    const { C_Encrypt: encrypt, C_Decrypt: decrypt } = api
    let count = 0
    const counted = <F extends typeof encrypt>(original: F) =>
      ((...args: unknown[]) => {
        count++
        return (original as (...a: unknown[]) => unknown).apply(api, args)
      }) as unknown as F
    api.C_Encrypt = counted(encrypt)
    api.C_Decrypt = counted(decrypt)
    try {
      await fn()
    } finally {
      api.C_Encrypt = encrypt
      api.C_Decrypt = decrypt
    }
    return count
  }

  it('keeps working when the PKCS#11 module restarts under it', async () => {
    const key = await createHsmKey()
    const { CiphertextBlob } = await kms.send(
      new EncryptCommand({ KeyId: key.KeyId, Plaintext: Buffer.from('before') }),
    )
    loadModule(testHsm.hsm.modulePath).api.C_Finalize()
    const out = await kms.send(new DecryptCommand({ CiphertextBlob }))
    assert.equal(Buffer.from(out.Plaintext!).toString(), 'before')
    await kms.send(new EncryptCommand({ KeyId: key.KeyId, Plaintext: Buffer.from('after') }))
  })

  // Last: it moves the manual clock a week ahead.
  it('destroys the HSM object when the waiting period of a deletion ends', async () => {
    const key = await createHsmKey()
    await kms.send(new ScheduleKeyDeletionCommand({ KeyId: key.KeyId, PendingWindowInDays: 7 }))
    await kw.keyward.scheduler.runOnce()
    assert.equal(await inspector.hasKey(key.Arn!), true, 'still there during the waiting period')
    clock.advance(7 * DAY_MS)
    await kw.keyward.scheduler.runOnce()
    assert.equal(await inspector.hasKey(key.Arn!), false)
    await expectKmsError(
      clocked.kms(kw.endpoint).send(new DescribeKeyCommand({ KeyId: key.KeyId })),
      'NotFoundException',
      `Key '${key.Arn}' does not exist`,
    )
  })
})
