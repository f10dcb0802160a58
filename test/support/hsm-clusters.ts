import { join } from 'node:path'
import type { HsmClusterConfig } from '../../src/config/hsm-clusters.js'
import { startSoftHsm, type SoftHsm } from './softhsm.js'

/** The PINs of the test tokens (KeyStorePassword is 7–32 characters). */
export const PIN_A = 'pin-a-1234'
export const PIN_B = 'pin-b-5678'
export const TRUST_ANCHOR =
  '-----BEGIN CERTIFICATE-----\nMIIB-test-anchor\n-----END CERTIFICATE-----'

/** Cluster ids (cluster-[2-7a-zA-Z]{11,16}) of the test configuration. */
export const CLUSTER = {
  /** Token kms-a, by label. */
  a: 'cluster-aaaaaaaaaaa',
  /** Token kms-a again, by serial: "related" to cluster a (the same keys). */
  aBySerial: 'cluster-aserialaaaa',
  /** Token kms-b, with a pinned trust anchor. */
  b: 'cluster-bbbbbbbbbbb',
  /** Token kms-c: for stores that get a wrong PIN. */
  c: 'cluster-ccccccccccc',
  /** Token kms-d, with callMode sync (PIN_B). */
  sync: 'cluster-syncdddddddd',
  /** A module that never existed. */
  noModule: 'cluster-nomodulexxx',
  /** The SoftHSM module, with no token of that label. */
  noToken: 'cluster-notokenxxxx',
} as const

export interface TestHsm {
  readonly hsm: SoftHsm
  readonly clusters: ReadonlyMap<string, HsmClusterConfig>
}

/**
 * SoftHSM tokens kms-a, kms-b, kms-c and kms-d in a temporary directory, and the "cloudHsmClusters"
 * configuration of the tests over them.
 */
export function startTestHsm(): TestHsm {
  const hsm = startSoftHsm()
  const serialA = hsm.initToken({ label: 'kms-a', pin: PIN_A })
  hsm.initToken({ label: 'kms-b', pin: PIN_B })
  hsm.initToken({ label: 'kms-c', pin: PIN_B })
  hsm.initToken({ label: 'kms-d', pin: PIN_B })
  const entries: HsmClusterConfig[] = [
    { id: CLUSTER.a, modulePath: hsm.modulePath, tokenLabel: 'kms-a' },
    { id: CLUSTER.aBySerial, modulePath: hsm.modulePath, tokenSerial: serialA },
    {
      id: CLUSTER.b,
      modulePath: hsm.modulePath,
      tokenLabel: 'kms-b',
      trustAnchorCertificate: TRUST_ANCHOR,
    },
    { id: CLUSTER.c, modulePath: hsm.modulePath, tokenLabel: 'kms-c' },
    { id: CLUSTER.sync, modulePath: hsm.modulePath, tokenLabel: 'kms-d', callMode: 'sync' },
    { id: CLUSTER.noModule, modulePath: join(hsm.dir, 'missing.so'), tokenLabel: 'kms-a' },
    { id: CLUSTER.noToken, modulePath: hsm.modulePath, tokenLabel: 'no-such-token' },
  ]
  return { hsm, clusters: new Map(entries.map((e) => [e.id, e])) }
}
