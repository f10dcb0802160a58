import { Pkcs11Backend } from '../../../src/adapters/pkcs11/pkcs11-backend.js'
import { SoftwareRootKey } from '../../../src/adapters/root-key/software-root-key.js'
import {
  passwordContext,
  type CloudHsmKeyStoreRecord,
} from '../../../src/domain/custom-key-store.js'
import { systemRandom } from '../../../src/ports/random.js'
import { CLUSTER, PIN_A, startTestHsm, TRUST_ANCHOR } from '../../support/hsm-clusters.js'
import { runBackendContract, TestMaterials } from '../backend-contract.js'

/** A CONNECTED CloudHSM key store record whose password is `pin`, wrapped as the server does. */
async function storeRecord(
  rootKey: SoftwareRootKey,
  options: { id: string; pin: string },
): Promise<CloudHsmKeyStoreRecord> {
  const ids = { region: 'us-east-1', customKeyStoreId: options.id }
  const wrapped = await rootKey.wrap(Buffer.from(options.pin, 'utf8'), passwordContext(ids))
  return {
    schemaVersion: 1,
    ...ids,
    accountId: '111122223333',
    name: options.id,
    customKeyStoreType: 'AWS_CLOUDHSM',
    cloudHsmClusterId: CLUSTER.a,
    trustAnchorCertificate: TRUST_ANCHOR,
    wrappedPassword: wrapped.toString('base64'),
    creationDate: 0,
    connectionState: 'CONNECTED',
  }
}

runBackendContract('PKCS#11 (SoftHSM)', async () => {
  const testHsm = startTestHsm()
  const rootKey = new SoftwareRootKey(Buffer.alloc(32, 3))
  const backend = new Pkcs11Backend({ clusters: testHsm.clusters, rootKey, random: systemRandom })
  const store = await storeRecord(rootKey, { id: 'cks-1111111111111111a', pin: PIN_A })
  const wrongPin = await storeRecord(rootKey, { id: 'cks-2222222222222222b', pin: 'not-the-pin' })
  return {
    backend,
    store,
    materials: new TestMaterials(),
    keyExtras: async () => ({ cloudHsmClusterId: CLUSTER.a }),
    unreachable: { store: wrongPin, connectionErrorCode: 'INVALID_CREDENTIALS' },
    destroyed: (key) => ({
      name: 'KMSInvalidStateException',
      message: `${key.arn} is unavailable: its key material (the object labelled with the key ARN) is missing from CloudHSM cluster ${CLUSTER.a}.`,
    }),
    close: async () => {
      await backend.close()
      testHsm.hsm.cleanup()
    },
  }
})
