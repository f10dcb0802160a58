import { SoftwareBackend } from '../../src/adapters/backend-software/software-backend.js'
import { Pkcs11Backend } from '../../src/adapters/pkcs11/pkcs11-backend.js'
import { XksBackend } from '../../src/adapters/xks/xks-backend.js'
import type { HsmClusterConfig } from '../../src/config/hsm-clusters.js'
import type { KeyMaterialBackends, MaterialSource } from '../../src/ports/key-material-backend.js'
import { systemRandom } from '../../src/ports/random.js'
import type { RootKey } from '../../src/ports/root-key.js'

/** A material source that holds nothing (for tests that never seal). */
const NO_MATERIAL: MaterialSource = { material: () => Promise.resolve(undefined) }

/**
 * The three key material backends as src/server.ts wires them, for tests that build a service
 * by hand.
 *
 * @example
 *   const service = new CustomKeyStoreService({ store, rootKey, backends: makeBackends({ rootKey }), … })
 */
/** Proxy failures are not what these tests look at. */
const SILENT = { error: () => {} }

export function makeBackends(deps: {
  rootKey: RootKey
  materials?: MaterialSource
  clusters?: ReadonlyMap<string, HsmClusterConfig>
}): KeyMaterialBackends {
  const materials = deps.materials ?? NO_MATERIAL
  const random = systemRandom
  return {
    software: new SoftwareBackend({ materials, random }),
    pkcs11: new Pkcs11Backend({ clusters: deps.clusters, rootKey: deps.rootKey, random }),
    xks: new XksBackend({ materials, rootKey: deps.rootKey, random, log: SILENT }),
  }
}
