import type { HsmClusterConfig } from '../../config/hsm-clusters.js'
import {
  openCiphertextWithGcmKey,
  sealCiphertextWithGcmKey,
  type GcmKey,
} from '../../domain/ciphertext.js'
import {
  passwordContext,
  type CloudHsmKeyStoreRecord,
  type CustomKeyStoreRecord,
} from '../../domain/custom-key-store.js'
import type { EncryptionContext } from '../../domain/encryption-context.js'
import {
  isBackendFailure,
  keyMaterialMissing,
  keyUnavailable,
} from '../../domain/key-availability.js'
import {
  BackendUnavailableError,
  type BackendAvailability,
  type BackendKey,
  type BackendPlace,
  type GeneratedMaterial,
  type TokenBackend,
} from '../../ports/key-material-backend.js'
import type { Random } from '../../ports/random.js'
import type { RootKey } from '../../ports/root-key.js'
import { connectionErrorCodeOf, HsmConnectionError, isLostSession } from './hsm-errors.js'
import { findTokenSerial, HsmKeyNotFoundError, Pkcs11Token } from './pkcs11-token.js'

const storeKey = (s: { region: string; customKeyStoreId: string }) =>
  `${s.region}/${s.customKeyStoreId}`

/** The CloudHSM-type store a call is for; anything else is a caller's mistake. */
function cloudHsmStore(place: BackendPlace): CloudHsmKeyStoreRecord {
  if (place.store?.customKeyStoreType !== 'AWS_CLOUDHSM') {
    throw new Error('the PKCS#11 backend serves keys of AWS_CLOUDHSM custom key stores only')
  }
  return place.store
}

/**
 * The PKCS#11 backend: keys of CloudHSM-type custom key stores, each a non-extractable AES-256
 * object on the token of the store's configured "cluster", labelled with the key ARN
 * (Developer Guide, "Creating a KMS key in an AWS CloudHSM key store"); AES-GCM runs inside the
 * token (format version 2 of src/domain/ciphertext.ts). Holds one logged-in {@link Pkcs11Token}
 * per store in this process, opened on the first call for a CONNECTED store (one connected by
 * another process, or before a restart) with the store's password unwrapped from the root key.
 *
 * @example
 *   const pkcs11 = new Pkcs11Backend({ clusters, rootKey, random })
 *   const { blob } = await pkcs11.seal(key, { store, plaintext, call })
 */
export class Pkcs11Backend implements TokenBackend {
  readonly kind = 'pkcs11'
  readonly #clusters: ReadonlyMap<string, HsmClusterConfig>
  readonly #rootKey: RootKey
  readonly #random: Random
  readonly #tokens = new Map<string, Pkcs11Token>()
  readonly #opening = new Map<string, Promise<Pkcs11Token>>()

  constructor(deps: {
    clusters?: ReadonlyMap<string, HsmClusterConfig> | undefined
    rootKey: RootKey
    random: Random
  }) {
    this.#clusters = deps.clusters ?? new Map()
    this.#rootKey = deps.rootKey
    this.#random = deps.random
  }

  /** A non-extractable AES-256 key labelled with the key ARN, on the store's token. */
  async generate(key: BackendKey, place: BackendPlace): Promise<GeneratedMaterial> {
    const token = await this.#token(cloudHsmStore(place))
    await token.generateAesKey({ label: key.arn, id: key.keyId })
    return {}
  }

  async seal(
    key: BackendKey,
    options: BackendPlace & { plaintext: Buffer; context?: EncryptionContext | undefined },
  ): Promise<{ blob: Buffer; keyMaterialId: string }> {
    const keyMaterialId = key.currentKeyMaterialId!
    const gcm = await this.#gcmKey(key, options)
    const blob = await sealCiphertextWithGcmKey(
      {
        header: { keyId: key.keyId, keyMaterialId },
        plaintext: options.plaintext,
        gcm,
        ...(options.context ? { context: options.context } : {}),
      },
      this.#random,
    )
    return { blob, keyMaterialId }
  }

  async open(
    key: BackendKey,
    options: BackendPlace & { blob: Buffer; context?: EncryptionContext | undefined },
  ): Promise<{ plaintext: Buffer; keyMaterialId: string }> {
    const keyMaterialId = key.currentKeyMaterialId!
    const gcm = await this.#gcmKey(key, options)
    const plaintext = await openCiphertextWithGcmKey({
      blob: options.blob,
      expected: { keyId: key.keyId, keyMaterialId },
      gcm,
      isHsmFailure: isBackendFailure,
      ...(options.context ? { context: options.context } : {}),
    })
    return { plaintext, keyMaterialId }
  }

  /** C_DestroyObject of the key's object (AWS: a best effort; the caller logs a failure). */
  async destroy(key: BackendKey, place: BackendPlace): Promise<void> {
    await (await this.#token(cloudHsmStore(place))).destroyKey(key.arn)
  }

  /** C_GenerateRandom on the store's token. */
  async random(length: number, place: BackendPlace): Promise<Buffer> {
    return (await this.#token(cloudHsmStore(place))).random(length)
  }

  /** Opens (or keeps) the store's token: AVAILABLE, or UNAVAILABLE with the ConnectionErrorCode. */
  async availability(place: BackendPlace): Promise<BackendAvailability> {
    try {
      await this.#token(cloudHsmStore(place))
      return { state: 'AVAILABLE' }
    } catch (error) {
      if (!(error instanceof BackendUnavailableError)) throw error
      return {
        state: 'UNAVAILABLE',
        connectionErrorCode: error.connectionErrorCode,
        // HsmConnectionError messages name the module and token, never the PIN.
        reason: error.expected ? error.message : String(error.cause),
      }
    }
  }

  /**
   * The session pool of each connected store's token, by `region/customKeyStoreId` (the
   * metrics of `GET /metrics`).
   *
   * @example
   *   for (const pool of backend.sessionPools()) console.log(pool.store, pool.open)
   */
  sessionPools(): Array<{ store: string } & ReturnType<Pkcs11Token['sessionPool']>> {
    return [...this.#tokens].map(([store, token]) => ({ store, ...token.sessionPool() }))
  }

  /** Closes this process's connection to the store's token, if any. */
  async disconnect(store: CustomKeyStoreRecord): Promise<void> {
    const key = storeKey(store)
    const token = this.#tokens.get(key)
    this.#tokens.delete(key)
    await token?.close()
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.#opening.values()])
    const tokens = [...this.#tokens.values()]
    this.#tokens.clear()
    await Promise.all(tokens.map((t) => t.close()))
  }

  /**
   * Whether two configured clusters reach the same token, hence the same keys: the same token
   * serial when both can be found (one may name it by label, the other by serial), else the
   * same declared module and token name.
   */
  sameToken(a: string, b: string): boolean {
    const first = this.#clusters.get(a)
    const second = this.#clusters.get(b)
    if (!first || !second) return false
    const serialA = findTokenSerial(first)
    const serialB = findTokenSerial(second)
    if (serialA !== undefined && serialB !== undefined) return serialA === serialB
    return (
      first.modulePath === second.modulePath &&
      first.tokenLabel === second.tokenLabel &&
      first.tokenSerial === second.tokenSerial
    )
  }

  /**
   * The logged-in token of a store, opened once however many calls wait for it.
   *
   * @throws BackendUnavailableError when the token cannot be opened
   */
  async #token(store: CloudHsmKeyStoreRecord): Promise<Pkcs11Token> {
    const key = storeKey(store)
    const live = this.#tokens.get(key)
    if (live) return live
    let opening = this.#opening.get(key)
    if (!opening) {
      opening = this.#open(store).finally(() => this.#opening.delete(key))
      this.#opening.set(key, opening)
    }
    try {
      const token = await opening
      this.#tokens.set(key, token)
      return token
    } catch (cause) {
      throw new BackendUnavailableError({
        connectionErrorCode: connectionErrorCodeOf(cause),
        cause,
        expected: cause instanceof HsmConnectionError,
      })
    }
  }

  async #open(record: CloudHsmKeyStoreRecord): Promise<Pkcs11Token> {
    const cluster = this.#clusters.get(record.cloudHsmClusterId)
    if (!cluster) {
      throw new HsmConnectionError(
        'CLUSTER_NOT_FOUND',
        `Cluster ${record.cloudHsmClusterId} is not in Keyward's configuration.`,
      )
    }
    const pin = await this.#rootKey.unwrap(
      Buffer.from(record.wrappedPassword, 'base64'),
      passwordContext(record),
    )
    try {
      return await Pkcs11Token.open({
        modulePath: cluster.modulePath,
        ...(cluster.tokenLabel !== undefined ? { tokenLabel: cluster.tokenLabel } : {}),
        ...(cluster.tokenSerial !== undefined ? { tokenSerial: cluster.tokenSerial } : {}),
        ...(cluster.callMode !== undefined ? { callMode: cluster.callMode } : {}),
        pin: pin.toString('utf8'),
      })
    } finally {
      pin.fill(0)
    }
  }

  /**
   * The key's AES-256 key in the HSM, as a {@link GcmKey} for the ciphertext module, with the
   * HSM's own failures turned into AWS's answers.
   */
  async #gcmKey(key: BackendKey, place: BackendPlace): Promise<GcmKey> {
    const token = await this.#token(cloudHsmStore(place))
    const label = key.arn
    const failure = (error: unknown): unknown => {
      if (error instanceof HsmKeyNotFoundError)
        return keyMaterialMissing(key, key.cloudHsmClusterId)
      if (error instanceof HsmConnectionError || isLostSession(error)) return keyUnavailable(key)
      return error
    }
    return {
      seal: (input) =>
        token.encryptGcm({ label, ...input }).catch((error: unknown) => {
          throw failure(error)
        }),
      open: (input) =>
        token.decryptGcm({ label, ...input }).catch((error: unknown) => {
          throw failure(error)
        }),
    }
  }
}
