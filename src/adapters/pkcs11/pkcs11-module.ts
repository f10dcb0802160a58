import { existsSync } from 'node:fs'
import pkcs11js from 'pkcs11js'
import { ckrOf, HsmConnectionError } from './hsm-errors.js'

/**
 * One loaded PKCS#11 library. A library may be loaded and C_Initialize'd only once per process,
 * so every token of the same module shares this object (see {@link loadModule}).
 */
export interface Pkcs11Module {
  readonly path: string
  readonly api: pkcs11js.PKCS11
  /**
   * C_Initialize again if the library was finalized (a module restart); a no-op when it is
   * already initialized.
   */
  ensureInitialized(): void
  /**
   * How many times this process has C_Initialize'd the library. After a restart (C_Finalize,
   * then C_Initialize) the library hands out session and object handles from scratch, so a
   * connection made under an earlier count must not use its handles any more.
   */
  readonly initializations: number
  /**
   * SHA-256 of the PIN each token (by serial) was logged in with by this process. PKCS#11
   * shares one login among all sessions of an application, so a second C_Login answers
   * CKR_USER_ALREADY_LOGGED_IN whatever the PIN: this is what a later login is checked against.
   */
  readonly logins: Map<string, Buffer>
}

const loaded = new Map<string, Pkcs11Module>()

/**
 * Loads and initializes the PKCS#11 library at `path`, or returns the one already loaded.
 *
 * @throws HsmConnectionError CLUSTER_NOT_FOUND when the file is missing or is not a PKCS#11
 *   library that initializes
 * @example
 *   const module = loadModule('/usr/lib/softhsm/libsofthsm2.so')
 */
export function loadModule(path: string): Pkcs11Module {
  const existing = loaded.get(path)
  if (existing) {
    existing.ensureInitialized()
    return existing
  }
  if (!existsSync(path)) {
    throw new HsmConnectionError('CLUSTER_NOT_FOUND', `PKCS#11 module ${path} does not exist.`)
  }
  const api = new pkcs11js.PKCS11()
  try {
    api.load(path)
  } catch (cause) {
    throw new HsmConnectionError(
      'CLUSTER_NOT_FOUND',
      `PKCS#11 module ${path} could not be loaded.`,
      { cause },
    )
  }
  let initializations = 0
  const module: Pkcs11Module = {
    path,
    api,
    logins: new Map(),
    get initializations() {
      return initializations
    },
    ensureInitialized() {
      try {
        // The async calls run on libuv's threads while the event loop makes synchronous calls:
        // the library must lock (PKCS#11 §5.4, CKF_OS_LOCKING_OK). Without it SoftHSM assumes
        // a single thread and its heap is corrupted under concurrent load.
        api.C_Initialize({ flags: pkcs11js.CKF_OS_LOCKING_OK })
        initializations++
      } catch (cause) {
        if (ckrOf(cause) === 'CKR_CRYPTOKI_ALREADY_INITIALIZED') return
        throw new HsmConnectionError(
          'CLUSTER_NOT_FOUND',
          `PKCS#11 module ${path} did not initialize (${ckrOf(cause) ?? 'not a PKCS#11 library'}).`,
          { cause },
        )
      }
    },
  }
  module.ensureInitialized()
  loaded.set(path, module)
  return module
}
