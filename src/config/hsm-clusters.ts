import type { CallMode } from '../adapters/pkcs11/pkcs11-token.js'

/**
 * An HSM connection a CloudHSM-type custom key store can use: the PKCS#11 equivalent of a
 * CloudHSM cluster (../shared/reference/xks.md §5.2). Declared in the principals file under
 * "cloudHsmClusters":
 *
 *   "cloudHsmClusters": [{
 *     "id": "cluster-kaxbycdefgh",
 *     "modulePath": "/usr/lib/softhsm/libsofthsm2.so",
 *     "tokenLabel": "keyward",
 *     "trustAnchorCertificate": "-----BEGIN CERTIFICATE-----\n…"
 *   }]
 *
 * The token is named by `tokenLabel` or `tokenSerial` (SoftHSM moves tokens between slot ids).
 * `trustAnchorCertificate` is optional: when set, CreateCustomKeyStore accepts only that PEM
 * (IncorrectTrustAnchorException otherwise). `callMode` is optional: "async" (the default)
 * or "sync", see {@link CallMode}; "sync" only for a module that answers from this machine's
 * memory (SoftHSM, a PCIe card), never for a network HSM. The PIN is not here: it is the
 * store's KeyStorePassword, given through the API and kept wrapped under the root key.
 */
export interface HsmClusterConfig {
  readonly id: string
  readonly modulePath: string
  readonly tokenLabel?: string
  readonly tokenSerial?: string
  readonly trustAnchorCertificate?: string
  readonly callMode?: CallMode
}

const CALL_MODES: ReadonlySet<unknown> = new Set<CallMode>(['async', 'sync'])

/**
 * CloudHsmClusterId's pattern in the service model (19–24 characters). The documentation's own
 * example, cluster-1a23b4cdefg, does not match it (0, 1, 8 and 9 are not in [2-7a-zA-Z]).
 */
const CLUSTER_ID = /^cluster-[2-7a-zA-Z]{11,16}$/

/**
 * Checks the "cloudHsmClusters" list of a config file and indexes it by id.
 *
 * @throws Error naming the file and the faulty entry
 * @example
 *   const clusters = readHsmClusters(file.cloudHsmClusters, '/etc/keyward/principals.json')
 */
export function readHsmClusters(
  list: unknown,
  path: string,
): ReadonlyMap<string, HsmClusterConfig> {
  const clusters = new Map<string, HsmClusterConfig>()
  if (list === undefined) return clusters
  const bad = (why: string) => new Error(`${path}: ${why}`)
  if (!Array.isArray(list)) throw bad('"cloudHsmClusters" must be a list')
  for (const entry of list as Array<Partial<HsmClusterConfig>>) {
    const id = String(entry?.id)
    if (!CLUSTER_ID.test(id))
      throw bad(`cluster id ${id} does not match cluster-[2-7a-zA-Z]{11,16}`)
    if (clusters.has(id)) throw bad(`cluster ${id} is listed twice`)
    if (typeof entry.modulePath !== 'string' || entry.modulePath === '') {
      throw bad(`cluster ${id} has no "modulePath"`)
    }
    if ((entry.tokenLabel === undefined) === (entry.tokenSerial === undefined)) {
      throw bad(`cluster ${id} needs exactly one of "tokenLabel" and "tokenSerial"`)
    }
    if (entry.callMode !== undefined && !CALL_MODES.has(entry.callMode)) {
      throw bad(`cluster ${id} has "callMode" ${String(entry.callMode)}; use "async" or "sync"`)
    }
    clusters.set(id, {
      id,
      modulePath: entry.modulePath,
      ...(typeof entry.tokenLabel === 'string' ? { tokenLabel: entry.tokenLabel } : {}),
      ...(typeof entry.tokenSerial === 'string' ? { tokenSerial: entry.tokenSerial } : {}),
      ...(typeof entry.trustAnchorCertificate === 'string'
        ? { trustAnchorCertificate: entry.trustAnchorCertificate }
        : {}),
      ...(entry.callMode !== undefined ? { callMode: entry.callMode } : {}),
    })
  }
  return clusters
}
