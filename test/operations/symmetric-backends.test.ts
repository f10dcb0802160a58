import { after } from 'node:test'
import {
  ConnectCustomKeyStoreCommand,
  CreateCustomKeyStoreCommand,
  CreateKeyCommand,
  type KMSClient,
} from '@aws-sdk/client-kms'
import {
  CLUSTER,
  PIN_A,
  startTestHsm,
  TRUST_ANCHOR,
  type TestHsm,
} from '../support/hsm-clusters.js'
import { startKeyward, type TestServer } from '../support/keyward-server.js'
import { startXksProxy, type RunningXksProxy } from '../support/xks-proxy.js'
import { NO_MESSAGE } from './crypto-fixtures.js'
import { runSymmetricSuite } from './symmetric-backend-suite.js'

/*
 * The store × backend matrix of the symmetric operations: each key material backend
 * (software, PKCS#11 on SoftHSM, Keyward's own XKS proxy) under each way of opening the SQLite
 * key store (one process; shared with other worker processes, which makes every cache follow
 * the commits of others).
 */

const STORES = [
  { name: 'SQLite', sharedStore: false },
  { name: 'SQLite shared by workers', sharedStore: true },
] as const

/** SoftHSM reads its token directory once per process: one set of tokens for every cell. */
let testHsm: TestHsm | undefined
const hsm = () => (testHsm ??= startTestHsm())
let proxy: Promise<RunningXksProxy> | undefined
const xks = () => (proxy ??= startXksProxy())
after(async () => {
  await (await proxy)?.stop()
  testHsm?.hsm.cleanup()
})

const invalidCiphertext = () => ({ name: 'InvalidCiphertextException', message: NO_MESSAGE })

/** Creates and connects a custom key store, waiting for the background connection. */
async function connectedStore(
  kw: TestServer,
  kms: KMSClient,
  input: ConstructorParameters<typeof CreateCustomKeyStoreCommand>[0],
): Promise<string> {
  const { CustomKeyStoreId } = await kms.send(new CreateCustomKeyStoreCommand(input))
  await kms.send(new ConnectCustomKeyStoreCommand({ CustomKeyStoreId }))
  await kw.keyward.customKeyStores.settled()
  return CustomKeyStoreId!
}

let externalKeys = 0

for (const store of STORES) {
  runSymmetricSuite(`${store.name} × software`, async () => {
    const kw = await startKeyward({ sharedStore: store.sharedStore })
    const kms = kw.client()
    return {
      kw,
      newKey: async () => (await kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!,
      refused: invalidCiphertext,
      close: () => kw.close(),
    }
  })

  runSymmetricSuite(`${store.name} × PKCS#11 (SoftHSM)`, async () => {
    const kw = await startKeyward({
      sharedStore: store.sharedStore,
      cloudHsmClusters: hsm().clusters,
    })
    const kms = kw.client()
    const storeId = await connectedStore(kw, kms, {
      CustomKeyStoreName: 'matrix-hsm',
      CloudHsmClusterId: CLUSTER.a,
      TrustAnchorCertificate: TRUST_ANCHOR,
      KeyStorePassword: PIN_A,
    })
    return {
      kw,
      newKey: async () =>
        (
          await kms.send(
            new CreateKeyCommand({ Origin: 'AWS_CLOUDHSM', CustomKeyStoreId: storeId }),
          )
        ).KeyMetadata!.KeyId!,
      refused: invalidCiphertext,
      close: () => kw.close(),
    }
  })

  runSymmetricSuite(`${store.name} × XKS (Keyward's proxy)`, async () => {
    const proxy = await xks()
    const kw = await startKeyward({
      sharedStore: store.sharedStore,
      xksClient: { caCertificates: proxy.caCertPem, timeoutMs: 2_000 },
    })
    const kms = kw.client()
    const storeId = await connectedStore(kw, kms, {
      CustomKeyStoreName: 'matrix-xks',
      CustomKeyStoreType: 'EXTERNAL_KEY_STORE',
      XksProxyConnectivity: 'PUBLIC_ENDPOINT',
      XksProxyUriEndpoint: proxy.endpoint,
      XksProxyUriPath: proxy.uriPath,
      XksProxyAuthenticationCredential: proxy.credential,
    })
    return {
      kw,
      newKey: async () => {
        const xksKeyId = `matrix-${++externalKeys}`
        await proxy.createKey(xksKeyId)
        const created = await kms.send(
          new CreateKeyCommand({
            Origin: 'EXTERNAL_KEY_STORE',
            CustomKeyStoreId: storeId,
            XksKeyId: xksKeyId,
          }),
        )
        return created.KeyMetadata!.KeyId!
      },
      // The proxy's InvalidCiphertextException, as AWS KMS answers it (xks.md §2.3).
      refused: (keyArn) => ({
        name: 'KMSInvalidStateException',
        message: `${keyArn}: The external key store proxy rejected the request because the specified ciphertext or encryption context is corrupted, missing, or otherwise invalid.`,
      }),
      close: () => kw.close(),
    }
  })
}
