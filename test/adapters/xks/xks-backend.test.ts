import { SoftwareRootKey } from '../../../src/adapters/root-key/software-root-key.js'
import { XksBackend } from '../../../src/adapters/xks/xks-backend.js'
import {
  xksSecretContext,
  type ExternalKeyStoreRecord,
} from '../../../src/domain/custom-key-store.js'
import { systemRandom } from '../../../src/ports/random.js'
import { startXksProxy } from '../../support/xks-proxy.js'
import { runBackendContract, TestMaterials } from '../backend-contract.js'

/** A CONNECTED external key store record for a proxy, its secret wrapped as the server does. */
async function storeRecord(
  rootKey: SoftwareRootKey,
  options: {
    id: string
    uriEndpoint: string
    uriPath: string
    accessKeyId: string
    secret: string
  },
): Promise<ExternalKeyStoreRecord> {
  const ids = { region: 'us-east-1', customKeyStoreId: options.id }
  const wrapped = await rootKey.wrap(Buffer.from(options.secret, 'utf8'), xksSecretContext(ids))
  return {
    schemaVersion: 1,
    ...ids,
    accountId: '111122223333',
    name: options.id,
    customKeyStoreType: 'EXTERNAL_KEY_STORE',
    xksProxy: {
      connectivity: 'PUBLIC_ENDPOINT',
      uriEndpoint: options.uriEndpoint,
      uriPath: options.uriPath,
      accessKeyId: options.accessKeyId,
      wrappedSecret: wrapped.toString('base64'),
    },
    creationDate: 0,
    connectionState: 'CONNECTED',
  }
}

runBackendContract(
  "XKS (Keyward's own proxy)",
  async () => {
    const xks = await startXksProxy()
    const rootKey = new SoftwareRootKey(Buffer.alloc(32, 5))
    const materials = new TestMaterials()
    const backend = new XksBackend({
      materials,
      rootKey,
      random: systemRandom,
      settings: { caCertificates: xks.caCertPem, timeoutMs: 2_000 },
      log: { error: () => {} },
    })
    const settings = {
      uriPath: xks.uriPath,
      accessKeyId: xks.credential.AccessKeyId,
      secret: xks.credential.RawSecretAccessKey,
    }
    const store = await storeRecord(rootKey, {
      id: 'cks-1111111111111111a',
      uriEndpoint: xks.endpoint,
      ...settings,
    })
    // A proxy address where nothing listens (port 1 on loopback is never a proxy of ours).
    const gone = await storeRecord(rootKey, {
      id: 'cks-2222222222222222b',
      uriEndpoint: 'https://127.0.0.1:1',
      ...settings,
    })
    let external = 0
    return {
      backend,
      store,
      materials,
      keyExtras: async () => {
        const xksKeyId = `contract-${++external}`
        await xks.createKey(xksKeyId)
        return { xksKeyId }
      },
      unreachable: { store: gone, connectionErrorCode: 'XKS_PROXY_NOT_REACHABLE' },
      // The proxy's InvalidCiphertextException, as AWS KMS answers it (xks.md §2.3).
      refused: (key) => ({
        name: 'KMSInvalidStateException',
        message: `${key.arn}: The external key store proxy rejected the request because the specified ciphertext or encryption context is corrupted, missing, or otherwise invalid.`,
      }),
      close: async () => {
        await backend.close()
        await xks.stop()
      },
    }
  },
  [
    {
      test: 'destroy',
      reason:
        'an external key belongs to its key manager, which AWS KMS never deletes (the key’s own material goes with its record)',
    },
    {
      test: 'random',
      reason:
        'external key stores have no random source: GenerateRandom with CustomKeyStoreId "is not valid for external key stores" (API Reference)',
    },
  ],
)
