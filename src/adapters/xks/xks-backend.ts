import { generateKeyMaterial } from '../../crypto/index.js'
import {
  openCiphertextTwice,
  sealCiphertextTwice,
  type ExternalSealer,
  type SealingKey,
} from '../../domain/ciphertext.js'
import {
  xksSecretContext,
  type CustomKeyStoreRecord,
  type ExternalKeyStoreRecord,
  type XksProxySettings,
} from '../../domain/custom-key-store.js'
import type { EncryptionContext } from '../../domain/encryption-context.js'
import { noKeyMaterial } from '../../domain/key-availability.js'
import { KEY_SPECS } from '../../domain/key-specs.js'
import {
  XksProxyError,
  xksConnectionErrorCode,
  xksCreateKeyError,
  xksCryptoError,
  xksInnerLayerCorrupt,
  xksKeyInvalidConfiguration,
} from '../../domain/xks-failures.js'
import type {
  BackendAvailability,
  BackendCall,
  BackendKey,
  BackendPlace,
  GeneratedMaterial,
  MaterialSource,
  ProxyBackend,
  XksProxyTarget,
} from '../../ports/key-material-backend.js'
import type { Random } from '../../ports/random.js'
import type { RootKey } from '../../ports/root-key.js'
import { XksProxyClient, type XksClientSettings } from './xks-proxy-client.js'

const storeKey = (s: { region: string; customKeyStoreId: string }) =>
  `${s.region}/${s.customKeyStoreId}`

/** What identifies one version of a store's proxy settings (a change makes a new client). */
const xksFingerprint = (xks: XksProxySettings) =>
  [xks.uriEndpoint, xks.uriPath, xks.accessKeyId, xks.wrappedSecret].join('\n')

/** The external key store a call is for; anything else is a caller's mistake. */
function externalStore(place: BackendPlace): ExternalKeyStoreRecord {
  if (place.store?.customKeyStoreType !== 'EXTERNAL_KEY_STORE') {
    throw new Error('the XKS backend serves keys of EXTERNAL_KEY_STORE custom key stores only')
  }
  return place.store
}

/** Where the proxy's failures during Encrypt and Decrypt are written (structurally a Logger). */
export interface ProxyFailureLog {
  error(message: string, fields: Record<string, unknown>): void
}

/**
 * Runs one proxy call, turning its failure into AWS's KMSInvalidStateException (xks.md §2.3).
 * The failure's detail, the proxy's own errorMessage included, goes to the log under the
 * request ID (README, "External key stores"; the XKS spec's "KMS considerations"), never to
 * the caller.
 */
async function viaProxy<T>(
  target: { key: BackendKey; call: BackendCall; log: ProxyFailureLog },
  run: () => Promise<T>,
): Promise<T> {
  try {
    return await run()
  } catch (error) {
    if (!(error instanceof XksProxyError)) throw error
    target.log.error('external key store proxy call failed', {
      requestId: target.call.requestId,
      kmsOperation: target.call.operation,
      keyArn: target.key.arn,
      reason: error.message,
    })
    throw xksCryptoError(error.failure, target.key.arn)
  }
}

/**
 * The XKS backend: keys of external key stores, sealed twice (format version 3 of
 * src/domain/ciphertext.ts; Developer Guide, "Double encryption"): under the key's own
 * material, kept like a software key's and found through the same {@link MaterialSource},
 * then under the external key through the store's proxy. Holds one {@link XksProxyClient} per
 * store and version of its settings (kept-alive TLS connections, the secret unwrapped once).
 *
 * @example
 *   const xks = new XksBackend({ materials: keys, rootKey, random, settings: {}, log: logger })
 *   const { blob } = await xks.seal(key, { store, plaintext, call })
 */
export class XksBackend implements ProxyBackend {
  readonly kind = 'xks'
  readonly #materials: MaterialSource
  readonly #rootKey: RootKey
  readonly #random: Random
  readonly #settings: XksClientSettings
  readonly #log: ProxyFailureLog
  readonly #clients = new Map<string, { fingerprint: string; client: XksProxyClient }>()

  constructor(deps: {
    materials: MaterialSource
    rootKey: RootKey
    random: Random
    settings?: XksClientSettings | undefined
    log: ProxyFailureLog
  }) {
    this.#materials = deps.materials
    this.#rootKey = deps.rootKey
    this.#random = deps.random
    this.#settings = deps.settings ?? {}
    this.#log = deps.log
  }

  /**
   * The proxy's GetKeyMetadata must describe an enabled AES_256 key that can ENCRYPT and
   * DECRYPT (XKS spec, GetKeyMetadata: "AWS KMS … will fail the CreateKey request" otherwise);
   * the key also gets material of its own, for the inner layer of double encryption.
   */
  async generate(
    key: BackendKey,
    options: BackendPlace & { call: BackendCall },
  ): Promise<GeneratedMaterial> {
    const store = externalStore(options)
    const xksKeyId = key.xksKeyId!
    try {
      const client = await this.#client(store)
      const metadata = await client.keyMetadata(xksKeyId, {
        kmsRequestId: options.call.requestId,
        kmsOperation: options.call.operation,
        ...(options.call.callerArn !== undefined
          ? { awsPrincipalArn: options.call.callerArn }
          : {}),
      })
      const usable =
        metadata.keySpec === 'AES_256' &&
        metadata.keyUsage.includes('ENCRYPT') &&
        metadata.keyUsage.includes('DECRYPT') &&
        metadata.keyStatus === 'ENABLED'
      if (!usable) throw xksKeyInvalidConfiguration()
    } catch (error) {
      if (!(error instanceof XksProxyError)) throw error
      throw xksCreateKeyError(error.failure, { customKeyStoreId: store.customKeyStoreId, xksKeyId })
    }
    const generated = await generateKeyMaterial(KEY_SPECS.SYMMETRIC_DEFAULT.material, this.#random)
    return { bytes: generated.privateKey }
  }

  async seal(
    key: BackendKey,
    options: BackendPlace & {
      plaintext: Buffer
      context?: EncryptionContext | undefined
      call: BackendCall
    },
  ): Promise<{ blob: Buffer; keyMaterialId: string }> {
    const { sealing, external } = await this.#sealer(key, options)
    const blob = await sealCiphertextTwice(
      { key: sealing, plaintext: options.plaintext, context: options.context, external },
      this.#random,
    )
    return { blob, keyMaterialId: sealing.keyMaterialId }
  }

  /** The proxy first, then Keyward's own layer. */
  async open(
    key: BackendKey,
    options: BackendPlace & {
      blob: Buffer
      context?: EncryptionContext | undefined
      call: BackendCall
    },
  ): Promise<{ plaintext: Buffer; keyMaterialId: string }> {
    const { sealing, external } = await this.#sealer(key, options)
    const plaintext = await openCiphertextTwice({
      blob: options.blob,
      key: sealing,
      context: options.context,
      external,
      innerFailure: () => xksInnerLayerCorrupt(key.arn),
    })
    return { plaintext, keyMaterialId: sealing.keyMaterialId }
  }

  /**
   * Nothing to do: the external key belongs to its key manager, which AWS KMS never deletes;
   * the key's own material goes with its record (KeyService.destroy).
   */
  async destroy(): Promise<void> {}

  /** External key stores have no random source (API Reference, GenerateRandom). */
  async random(): Promise<Buffer> {
    throw new Error('GenerateRandom is not available for external key stores')
  }

  /**
   * One GetHealthStatus call: AVAILABLE when every external key manager is ACTIVE, DEGRADED
   * when some are not, UNAVAILABLE with the ConnectionErrorCode of a failure (xks.md §2.4).
   */
  async availability(options: BackendPlace & { call: BackendCall }): Promise<BackendAvailability> {
    try {
      const client = await this.#client(externalStore(options))
      const health = await client.health({
        kmsRequestId: options.call.requestId,
        kmsOperation: options.call.operation,
      })
      const active = health.ekmFleetDetails.every((e) => e.healthStatus === 'ACTIVE')
      return { state: active ? 'AVAILABLE' : 'DEGRADED' }
    } catch (error) {
      return {
        state: 'UNAVAILABLE',
        connectionErrorCode:
          error instanceof XksProxyError ? xksConnectionErrorCode(error.failure) : 'INTERNAL_ERROR',
        // XksProxyError messages name the proxy and its answer, never the secret or plaintext.
        reason: error instanceof XksProxyError ? error.message : String(error),
      }
    }
  }

  /** GetHealthStatus with settings that may not be stored yet. */
  async probe(target: XksProxyTarget, call: BackendCall): Promise<void> {
    const client = new XksProxyClient(target, this.#settings)
    try {
      await client.health({ kmsRequestId: call.requestId, kmsOperation: call.operation })
    } finally {
      client.close()
    }
  }

  /** Closes the store's kept-alive connections. */
  async disconnect(store: CustomKeyStoreRecord): Promise<void> {
    const key = storeKey(store)
    this.#clients.get(key)?.client.close()
    this.#clients.delete(key)
  }

  async close(): Promise<void> {
    for (const { client } of this.#clients.values()) client.close()
    this.#clients.clear()
  }

  /**
   * The proxy client of an external key store, made once per version of its settings: the
   * secret is unwrapped when the client is made, not per request.
   */
  async #client(record: ExternalKeyStoreRecord): Promise<XksProxyClient> {
    const key = storeKey(record)
    const fingerprint = xksFingerprint(record.xksProxy)
    const cached = this.#clients.get(key)
    if (cached?.fingerprint === fingerprint) return cached.client
    const secret = await this.#rootKey.unwrap(
      Buffer.from(record.xksProxy.wrappedSecret, 'base64'),
      xksSecretContext(record),
    )
    const secretAccessKey = secret.toString('utf8')
    secret.fill(0)
    const client = new XksProxyClient(
      {
        uriEndpoint: record.xksProxy.uriEndpoint,
        uriPath: record.xksProxy.uriPath,
        accessKeyId: record.xksProxy.accessKeyId,
        secretAccessKey,
        region: record.region,
      },
      this.#settings,
    )
    const raced = this.#clients.get(key)
    if (raced?.fingerprint === fingerprint) {
      client.close()
      return raced.client
    }
    raced?.client.close()
    this.#clients.set(key, { fingerprint, client })
    return client
  }

  /**
   * What double encryption needs: the key's own material and the outer layer through the
   * store's proxy, with requestMetadata of Encrypt and Decrypt (XKS spec, "Request metadata":
   * kmsRequestId, kmsOperation, awsPrincipalArn and kmsKeyArn are required).
   */
  async #sealer(
    key: BackendKey,
    options: BackendPlace & { call: BackendCall },
  ): Promise<{ sealing: SealingKey; external: ExternalSealer }> {
    const store = externalStore(options)
    const sealing = await this.#materials.material(key)
    if (!sealing) throw noKeyMaterial(key)
    const client = await this.#client(store)
    const xksKeyId = key.xksKeyId!
    const metadata = {
      kmsRequestId: options.call.requestId,
      kmsOperation: options.call.operation,
      awsPrincipalArn: options.call.callerArn ?? '',
      kmsKeyArn: key.arn,
    }
    const target = { key, call: options.call, log: this.#log }
    const external: ExternalSealer = {
      seal: ({ plaintext, aad }) =>
        viaProxy(target, () => client.encrypt(xksKeyId, { plaintext, aad, metadata })),
      open: (sealed) => viaProxy(target, () => client.decrypt(xksKeyId, { ...sealed, metadata })),
    }
    return { sealing, external }
  }
}
