import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import {
  ConnectCustomKeyStoreCommand,
  CreateCustomKeyStoreCommand,
  CreateKeyCommand,
  DescribeKeyCommand,
  DisableKeyRotationCommand,
  EnableKeyRotationCommand,
  GetKeyPolicyCommand,
  GetKeyRotationStatusCommand,
  ListResourceTagsCommand,
  RotateKeyOnDemandCommand,
  type CreateKeyCommandInput,
  type KMSClient,
} from '@aws-sdk/client-kms'
import { expectKmsError } from '../support/assertions.js'
import {
  CLUSTER,
  PIN_A,
  startTestHsm,
  TRUST_ANCHOR,
  type TestHsm,
} from '../support/hsm-clusters.js'
import { ImportWorkspace, importMaterial } from '../support/key-import.js'
import { startKeyward, type TestServer } from '../support/keyward-server.js'
import { createTestPki, type TestPki } from '../support/test-pki.js'
import { startXksProxy, type RunningXksProxy } from '../support/xks-proxy.js'
import { NO_MESSAGE } from './crypto-fixtures.js'

/**
 * Issue 10: Terraform's AWS provider reads a key with DescribeKey, GetKeyPolicy,
 * GetKeyRotationStatus and ListResourceTags, and stops on any error. AWS answers
 * GetKeyRotationStatus for every key, `KeyRotationEnabled: false` for those whose rotation cannot
 * be enabled ("The key rotation status of these KMS keys is always false", API Reference), while
 * EnableKeyRotation, DisableKeyRotation and RotateKeyOnDemand keep refusing them.
 */

interface Kind {
  readonly name: string
  /** CreateKey's input; `n` numbers the keys made, for names that must be unique. */
  readonly input: (n: number) => CreateKeyCommandInput
  /** Before CreateKey: the external key behind a key of an external key store. */
  readonly before?: (n: number) => Promise<unknown>
  /** After CreateKey: import material, for instance. */
  readonly after?: (keyId: string) => Promise<unknown>
}

describe('reading every kind of key as the Terraform AWS provider does (issue 10)', () => {
  let kw: TestServer
  let kms: KMSClient
  let testHsm: TestHsm
  let pki: TestPki
  let xks: RunningXksProxy
  let hsmStore: string
  let xksStore: string
  const ws = new ImportWorkspace()
  let made = 0

  before(async () => {
    testHsm = startTestHsm()
    pki = createTestPki()
    xks = await startXksProxy({ pki })
    kw = await startKeyward({
      cloudHsmClusters: testHsm.clusters,
      xksClient: { caCertificates: pki.ca.certPem, timeoutMs: 2000 },
    })
    kms = kw.client()
    hsmStore = (
      await kms.send(
        new CreateCustomKeyStoreCommand({
          CustomKeyStoreName: 'hsm',
          CloudHsmClusterId: CLUSTER.a,
          TrustAnchorCertificate: TRUST_ANCHOR,
          KeyStorePassword: PIN_A,
        }),
      )
    ).CustomKeyStoreId!
    xksStore = (
      await kms.send(
        new CreateCustomKeyStoreCommand({
          CustomKeyStoreName: 'xks',
          CustomKeyStoreType: 'EXTERNAL_KEY_STORE',
          XksProxyConnectivity: 'PUBLIC_ENDPOINT',
          XksProxyUriEndpoint: xks.endpoint,
          XksProxyUriPath: xks.uriPath,
          XksProxyAuthenticationCredential: xks.credential,
        }),
      )
    ).CustomKeyStoreId!
    for (const id of [hsmStore, xksStore]) {
      await kms.send(new ConnectCustomKeyStoreCommand({ CustomKeyStoreId: id }))
    }
    await kw.keyward.customKeyStores.settled()
  })
  after(async () => {
    await kw?.close()
    await xks?.stop()
    pki?.remove()
    testHsm?.hsm.cleanup()
    ws.remove()
  })

  const KINDS: readonly Kind[] = [
    { name: 'symmetric', input: () => ({}) },
    { name: 'RSA_2048', input: () => ({ KeySpec: 'RSA_2048', KeyUsage: 'SIGN_VERIFY' }) },
    {
      name: 'RSA_4096 encryption',
      input: () => ({ KeySpec: 'RSA_4096', KeyUsage: 'ENCRYPT_DECRYPT' }),
    },
    { name: 'ECC_NIST_P256', input: () => ({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' }) },
    {
      name: 'ECC key agreement',
      input: () => ({ KeySpec: 'ECC_NIST_P384', KeyUsage: 'KEY_AGREEMENT' }),
    },
    {
      name: 'ECC_NIST_EDWARDS25519',
      input: () => ({ KeySpec: 'ECC_NIST_EDWARDS25519', KeyUsage: 'SIGN_VERIFY' }),
    },
    { name: 'ML_DSA_44', input: () => ({ KeySpec: 'ML_DSA_44', KeyUsage: 'SIGN_VERIFY' }) },
    { name: 'SM2', input: () => ({ KeySpec: 'SM2', KeyUsage: 'SIGN_VERIFY' }) },
    { name: 'HMAC_256', input: () => ({ KeySpec: 'HMAC_256', KeyUsage: 'GENERATE_VERIFY_MAC' }) },
    { name: 'EXTERNAL origin, pending import', input: () => ({ Origin: 'EXTERNAL' }) },
    {
      name: 'EXTERNAL origin, with material',
      input: () => ({ Origin: 'EXTERNAL' }),
      after: (keyId) => importMaterial(kms, ws, { keyId, material: ws.rand(32) }),
    },
    {
      name: 'EXTERNAL origin, HMAC',
      input: () => ({ Origin: 'EXTERNAL', KeySpec: 'HMAC_256', KeyUsage: 'GENERATE_VERIFY_MAC' }),
    },
    {
      name: 'CloudHSM key store',
      input: () => ({ Origin: 'AWS_CLOUDHSM', CustomKeyStoreId: hsmStore }),
    },
    {
      name: 'external key store',
      before: (n) => xks.createKey(`terraform-${n}`),
      input: (n) => ({
        Origin: 'EXTERNAL_KEY_STORE',
        CustomKeyStoreId: xksStore,
        XksKeyId: `terraform-${n}`,
      }),
    },
  ]

  /** The provider's read: each call must succeed. Returns GetKeyRotationStatus's answer. */
  async function terraformRead(keyId: string) {
    const described = await kms.send(new DescribeKeyCommand({ KeyId: keyId }))
    assert.equal(described.KeyMetadata?.KeyId, keyId)
    const policy = await kms.send(new GetKeyPolicyCommand({ KeyId: keyId, PolicyName: 'default' }))
    assert.ok(policy.Policy)
    const rotation = await kms.send(new GetKeyRotationStatusCommand({ KeyId: keyId }))
    const tags = await kms.send(new ListResourceTagsCommand({ KeyId: keyId }))
    assert.deepEqual(tags.Tags, [{ TagKey: 'managed-by', TagValue: 'terraform' }])
    return { arn: described.KeyMetadata!.Arn!, rotation }
  }

  async function createKind(kind: Kind): Promise<string> {
    const n = made++
    await kind.before?.(n)
    const { KeyMetadata } = await kms.send(
      new CreateKeyCommand({
        ...kind.input(n),
        Tags: [{ TagKey: 'managed-by', TagValue: 'terraform' }],
      }),
    )
    await kind.after?.(KeyMetadata!.KeyId!)
    return KeyMetadata!.KeyId!
  }

  for (const kind of KINDS) {
    it(`${kind.name}: every read succeeds, rotation status false`, async () => {
      const keyId = await createKind(kind)
      const { arn, rotation } = await terraformRead(keyId)
      assert.equal(rotation.KeyId, arn)
      assert.equal(rotation.KeyRotationEnabled, false)
      assert.equal(rotation.RotationPeriodInDays, undefined)
      assert.equal(rotation.NextRotationDate, undefined)
    })
  }

  it('symmetric with rotation enabled: the read reports its period', async () => {
    const keyId = await createKind(KINDS[0]!)
    await kms.send(new EnableKeyRotationCommand({ KeyId: keyId, RotationPeriodInDays: 180 }))
    const { rotation } = await terraformRead(keyId)
    assert.equal(rotation.KeyRotationEnabled, true)
    assert.equal(rotation.RotationPeriodInDays, 180)
  })

  it('still refuses to rotate the keys that cannot rotate', async () => {
    const rsa = await createKind(KINDS[1]!)
    const hmac = await createKind(KINDS.find((k) => k.name === 'HMAC_256')!)
    for (const keyId of [rsa, hmac]) {
      for (const Command of [EnableKeyRotationCommand, DisableKeyRotationCommand]) {
        await expectKmsError(
          kms.send(new Command({ KeyId: keyId })),
          'UnsupportedOperationException',
          NO_MESSAGE,
        )
      }
      await expectKmsError(
        kms.send(new RotateKeyOnDemandCommand({ KeyId: keyId })),
        'UnsupportedOperationException',
        NO_MESSAGE,
      )
    }
    const hsmKey = await createKind(KINDS.find((k) => k.name === 'CloudHSM key store')!)
    const arn = (await kms.send(new DescribeKeyCommand({ KeyId: hsmKey }))).KeyMetadata!.Arn!
    await expectKmsError(
      kms.send(new EnableKeyRotationCommand({ KeyId: hsmKey })),
      'UnsupportedOperationException',
      `${arn} origin is AWS_CLOUDHSM which is not valid for this operation.`,
    )
  })
})
