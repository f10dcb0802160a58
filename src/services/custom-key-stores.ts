import { connectionErrorCodeOf, HsmConnectionError } from '../adapters/pkcs11/hsm-errors.js'
import { findTokenSerial, Pkcs11Token } from '../adapters/pkcs11/pkcs11-token.js'
import type { HsmClusterConfig } from '../config/hsm-clusters.js'
import {
  XksProxyClient,
  XksProxyError,
  type XksClientSettings,
  type XksProxyTarget,
} from '../adapters/xks/xks-proxy-client.js'
import {
  passwordContext,
  xksSecretContext,
  type CloudHsmKeyStoreRecord,
  type ConnectionState,
  type CustomKeyStoreRecord,
  type ExternalKeyStoreRecord,
  type XksProxySettings,
} from '../domain/custom-key-store.js'
import { xksConnectionErrorCode } from '../domain/xks-failures.js'
import type { Random } from '../ports/random.js'
import type { KeyRecord } from '../domain/key.js'
import type { KeyStore, KeyStoreTransaction } from '../ports/key-store.js'
import type { RootKey } from '../ports/root-key.js'
import type { Logger } from '../ports/logger.js'

const storeKey = (s: { region: string; customKeyStoreId: string }) =>
  `${s.region}/${s.customKeyStoreId}`

/** States in which a store is meant to be connected (and is reconnected after a restart). */
const WANTS_CONNECTION: ReadonlySet<ConnectionState> = new Set(['CONNECTED', 'CONNECTING'])

/** The health of one external key store's proxy, as the periodic poll saw it. */
export interface XksHealthMetrics {
  readonly customKeyStoreId: string
  readonly region: string
  readonly checks: number
  readonly failures: number
  readonly consecutiveFailures: number
  /** Epoch ms of the last poll, and how long it took. */
  readonly lastCheckAt?: number
  readonly lastLatencyMs?: number
  /** ACTIVE, DEGRADED (some EKMs unhealthy) or the ConnectionErrorCode of the last failure. */
  readonly lastStatus?: string
}

/** AWS KMS polls proxies "every few minutes" (XKS spec, GetHealthStatus); Keyward every minute. */
export const DEFAULT_XKS_HEALTH_INTERVAL_MS = 60_000

/**
 * The live side of custom key stores: the HSM connections of CloudHSM-type stores (one
 * logged-in {@link Pkcs11Token} per connected store in this process), the XKS proxy clients of
 * external key stores (kept-alive TLS connections, the secret unwrapped once), the
 * asynchronous connect that ConnectCustomKeyStore starts (CONNECTING → CONNECTED, or FAILED
 * with a ConnectionErrorCode), the periodic health poll of connected proxies, and the
 * reconnection of stores that were connected when Keyward stopped. The AWS rules of each
 * operation live in the operation files; the durable state lives in the KeyStore.
 *
 * @example
 *   const stores = new CustomKeyStoreService({ store, rootKey, clusters, logger })
 *   await stores.resume()
 */
export class CustomKeyStoreService {
  readonly #store: KeyStore
  readonly #rootKey: RootKey
  readonly #clusters: ReadonlyMap<string, HsmClusterConfig>
  readonly #logger: Logger
  readonly #random: Random
  readonly #xksSettings: XksClientSettings
  readonly #xksClients = new Map<string, { fingerprint: string; client: XksProxyClient }>()
  readonly #xksHealth = new Map<string, XksHealthMetrics>()
  #healthPoll: NodeJS.Timeout | undefined
  readonly #tokens = new Map<string, Pkcs11Token>()
  readonly #opening = new Map<string, Promise<Pkcs11Token>>()
  readonly #attempts = new Set<Promise<void>>()
  /**
   * Store records by region/id, so that Encrypt under an HSM key does not read the database
   * for its store's state. Cleared by {@link invalidate} after every write of this process,
   * and when another process has committed (KeyStore.commitsByOthers), as KeyService does.
   */
  readonly #records = new Map<string, CustomKeyStoreRecord | undefined>()
  #epoch = 0
  #othersCommits: number | undefined

  constructor(deps: {
    store: KeyStore
    rootKey: RootKey
    clusters?: ReadonlyMap<string, HsmClusterConfig>
    xks?: XksClientSettings
    random: Random
    logger: Logger
  }) {
    this.#store = deps.store
    this.#rootKey = deps.rootKey
    this.#clusters = deps.clusters ?? new Map()
    this.#xksSettings = deps.xks ?? {}
    this.#random = deps.random
    this.#logger = deps.logger
  }

  /**
   * The store's record (any account), cached; what the cryptographic operations read to learn
   * whether a key's store is connected.
   */
  async record(region: string, customKeyStoreId: string) {
    const commits = this.#store.commitsByOthers?.()
    if (commits !== this.#othersCommits) {
      if (this.#othersCommits !== undefined) this.invalidate()
      this.#othersCommits = commits
    }
    const key = storeKey({ region, customKeyStoreId })
    if (this.#records.has(key)) return this.#records.get(key)
    const epoch = this.#epoch
    const record = await this.#store.getCustomKeyStore(region, customKeyStoreId)
    // A write that happened while reading wins: never cache what it replaced.
    if (epoch === this.#epoch) this.#records.set(key, record)
    return record
  }

  /**
   * Runs `fn` in one transaction of the key store and then forgets the cached records: the way the
   * custom key store operations change a store's record, so that no cached state outlives it.
   */
  async write<T>(fn: (tx: KeyStoreTransaction) => Promise<T>): Promise<T> {
    try {
      return await this.#store.transaction(fn)
    } finally {
      this.invalidate()
    }
  }

  /** Forgets cached store records; called after every write to a store's record. */
  invalidate(): void {
    this.#epoch++
    this.#records.clear()
  }

  /** The configured HSM connection with this CloudHsmClusterId. */
  cluster(cloudHsmClusterId: string): HsmClusterConfig | undefined {
    return this.#clusters.get(cloudHsmClusterId)
  }

  /**
   * Whether two configured clusters reach the same token, hence the same keys: the same token
   * serial when both can be found (one may name it by label, the other by serial), else the
   * same declared module and token name.
   */
  sameToken(a: HsmClusterConfig, b: HsmClusterConfig): boolean {
    const serialA = findTokenSerial(a)
    const serialB = findTokenSerial(b)
    if (serialA !== undefined && serialB !== undefined) return serialA === serialB
    return (
      a.modulePath === b.modulePath &&
      a.tokenLabel === b.tokenLabel &&
      a.tokenSerial === b.tokenSerial
    )
  }

  /** Every configured HSM connection. */
  clusters(): HsmClusterConfig[] {
    return [...this.#clusters.values()]
  }

  /** Wraps a KeyStorePassword under the root key for the store's record (base64). */
  async wrapPassword(
    store: { region: string; customKeyStoreId: string },
    password: string,
  ): Promise<string> {
    const wrapped = await this.#rootKey.wrap(Buffer.from(password, 'utf8'), passwordContext(store))
    return wrapped.toString('base64')
  }

  /** Wraps an XKS proxy's RawSecretAccessKey under the root key for the store's record (base64). */
  async wrapXksSecret(
    store: { region: string; customKeyStoreId: string },
    secret: string,
  ): Promise<string> {
    const wrapped = await this.#rootKey.wrap(Buffer.from(secret, 'utf8'), xksSecretContext(store))
    return wrapped.toString('base64')
  }

  /**
   * One GetHealthStatus call to a proxy with settings that may not be stored yet
   * (CreateCustomKeyStore and UpdateCustomKeyStore check new settings this way).
   *
   * @throws XksProxyError
   */
  async probeXksProxy(
    target: XksProxyTarget,
    kmsOperation: 'CreateCustomKeyStore' | 'UpdateCustomKeyStore',
  ): Promise<void> {
    const client = new XksProxyClient(target, this.#xksSettings)
    try {
      await client.health({ kmsRequestId: this.#random.uuid(), kmsOperation })
    } catch (error) {
      this.#logger.error('external key store proxy health check failed', {
        kmsOperation,
        uriEndpoint: target.uriEndpoint,
        reason: error instanceof Error ? error.message : String(error),
      })
      throw error
    } finally {
      client.close()
    }
  }

  /** The RawSecretAccessKey of a store, unwrapped (UpdateCustomKeyStore re-checks with it). */
  async xksSecret(record: ExternalKeyStoreRecord): Promise<string> {
    const secret = await this.#rootKey.unwrap(
      Buffer.from(record.xksProxy.wrappedSecret, 'base64'),
      xksSecretContext(record),
    )
    const text = secret.toString('utf8')
    secret.fill(0)
    return text
  }

  /**
   * The proxy client of an external key store, made once per version of its settings: the
   * secret is unwrapped when the client is made, not per request.
   */
  async xksClient(record: ExternalKeyStoreRecord): Promise<XksProxyClient> {
    const key = storeKey(record)
    const fingerprint = xksFingerprint(record.xksProxy)
    const cached = this.#xksClients.get(key)
    if (cached?.fingerprint === fingerprint) return cached.client
    const client = new XksProxyClient(
      {
        uriEndpoint: record.xksProxy.uriEndpoint,
        uriPath: record.xksProxy.uriPath,
        accessKeyId: record.xksProxy.accessKeyId,
        secretAccessKey: await this.xksSecret(record),
        region: record.region,
      },
      this.#xksSettings,
    )
    const raced = this.#xksClients.get(key)
    if (raced?.fingerprint === fingerprint) {
      client.close()
      return raced.client
    }
    raced?.client.close()
    this.#xksClients.set(key, { fingerprint, client })
    return client
  }

  /** What the health poll has seen of each connected external key store's proxy. */
  xksHealthMetrics(): XksHealthMetrics[] {
    return [...this.#xksHealth.values()]
  }

  /**
   * Polls the proxy of every CONNECTED external key store every `intervalMs`, for metrics
   * and logs. A failed poll never changes the store's state: AWS KMS does not fail a store
   * on one bad health check, and a store's keys fail on their own while its proxy is down.
   */
  startHealthPolls(intervalMs = DEFAULT_XKS_HEALTH_INTERVAL_MS): void {
    this.stopHealthPolls()
    const poll = () =>
      this.pollXksHealth().catch((error: unknown) =>
        // A failing database must not end the process through an unhandled rejection.
        this.#logger.error('external key store health poll failed', { reason: String(error) }),
      )
    this.#healthPoll = setInterval(() => void poll(), intervalMs)
    this.#healthPoll.unref()
  }

  stopHealthPolls(): void {
    clearInterval(this.#healthPoll)
    this.#healthPoll = undefined
  }

  /** One round of the health poll (the timer's work; tests call it directly). */
  async pollXksHealth(): Promise<void> {
    const stores = await this.#store.listAllCustomKeyStores()
    await Promise.all(
      stores
        .filter(
          (s): s is ExternalKeyStoreRecord =>
            s.customKeyStoreType === 'EXTERNAL_KEY_STORE' && s.connectionState === 'CONNECTED',
        )
        .map((store) => this.#pollOne(store)),
    )
  }

  async #pollOne(store: ExternalKeyStoreRecord): Promise<void> {
    const key = storeKey(store)
    const before = this.#xksHealth.get(key)
    const started = performance.now()
    let status: string
    let failed = false
    try {
      const client = await this.xksClient(store)
      const health = await client.health({
        kmsRequestId: this.#random.uuid(),
        kmsOperation: 'KmsHealthCheck',
      })
      status = health.ekmFleetDetails.every((e) => e.healthStatus === 'ACTIVE')
        ? 'ACTIVE'
        : 'DEGRADED'
    } catch (error) {
      failed = true
      status =
        error instanceof XksProxyError ? xksConnectionErrorCode(error.failure) : 'INTERNAL_ERROR'
      this.#logger.error('external key store health check failed', {
        customKeyStoreId: store.customKeyStoreId,
        status,
        reason: error instanceof Error ? error.message : String(error),
      })
    }
    this.#xksHealth.set(key, {
      customKeyStoreId: store.customKeyStoreId,
      region: store.region,
      checks: (before?.checks ?? 0) + 1,
      failures: (before?.failures ?? 0) + (failed ? 1 : 0),
      consecutiveFailures: failed ? (before?.consecutiveFailures ?? 0) + 1 : 0,
      lastCheckAt: Date.now(),
      lastLatencyMs: performance.now() - started,
      lastStatus: status,
    })
  }

  /**
   * Connects a store whose state was just set to CONNECTING, in the background: AWS's
   * ConnectCustomKeyStore returns at once and callers poll DescribeCustomKeyStores.
   */
  startConnecting(record: CustomKeyStoreRecord): void {
    const attempt = this.#connect(record).finally(() => this.#attempts.delete(attempt))
    this.#attempts.add(attempt)
  }

  /** Resolves when every connection attempt started so far has ended. */
  async settled(): Promise<void> {
    while (this.#attempts.size > 0) await Promise.all([...this.#attempts])
  }

  /** Reconnects, in the background, every store that was connected (or connecting) before. */
  async resume(): Promise<void> {
    for (const record of await this.#store.listAllCustomKeyStores()) {
      if (WANTS_CONNECTION.has(record.connectionState)) this.startConnecting(record)
    }
  }

  /** Closes this process's connection to the store's token, if any. */
  async disconnect(record: { region: string; customKeyStoreId: string }): Promise<void> {
    const key = storeKey(record)
    const token = this.#tokens.get(key)
    this.#tokens.delete(key)
    this.#xksClients.get(key)?.client.close()
    this.#xksClients.delete(key)
    this.#xksHealth.delete(key)
    await token?.close()
  }

  /**
   * The logged-in token of a CONNECTED store. A store connected by another process (or before
   * a restart) is opened here on first use; if that fails the store becomes FAILED.
   *
   * @throws HsmConnectionError when the token cannot be reached
   */
  async tokenFor(record: CloudHsmKeyStoreRecord): Promise<Pkcs11Token> {
    const key = storeKey(record)
    const live = this.#tokens.get(key)
    if (live) return live
    let opening = this.#opening.get(key)
    if (!opening) {
      opening = this.#open(record).finally(() => this.#opening.delete(key))
      this.#opening.set(key, opening)
    }
    try {
      const token = await opening
      this.#tokens.set(key, token)
      return token
    } catch (error) {
      await this.#fail(record, error)
      throw error
    }
  }

  /**
   * Best effort, as AWS: destroys the HSM object of a deleted key when its store is connected.
   * When it is not, the object stays on the token (logged, so an operator can remove it).
   */
  async destroyKeyMaterial(key: KeyRecord): Promise<void> {
    const store =
      key.customKeyStoreId === undefined
        ? undefined
        : await this.record(key.region, key.customKeyStoreId)
    // An external key store's keys have no material of Keyward's on the proxy's side: the
    // external key belongs to its key manager, which AWS KMS never deletes either.
    if (store?.customKeyStoreType === 'EXTERNAL_KEY_STORE') return
    try {
      if (store?.connectionState !== 'CONNECTED') throw new Error('the store is not connected')
      await (await this.tokenFor(store)).destroyKey(key.arn)
    } catch (error) {
      this.#logger.error('HSM key material of a deleted key was left on the token', {
        keyArn: key.arn,
        customKeyStoreId: key.customKeyStoreId,
        reason: error instanceof Error ? error.message : String(error),
      })
    }
  }

  /** Waits for pending connection attempts and closes every token. */
  async close(): Promise<void> {
    this.stopHealthPolls()
    await this.settled()
    for (const { client } of this.#xksClients.values()) client.close()
    this.#xksClients.clear()
    const tokens = [...this.#tokens.values()]
    this.#tokens.clear()
    await Promise.all(tokens.map((t) => t.close()))
  }

  async #connect(record: CustomKeyStoreRecord): Promise<void> {
    if (record.customKeyStoreType === 'EXTERNAL_KEY_STORE') return this.#connectXks(record)
    let token: Pkcs11Token
    try {
      token = await this.#open(record)
    } catch (error) {
      await this.#fail(record, error)
      return
    }
    const connected = await this.#transition(record, (current) =>
      WANTS_CONNECTION.has(current.connectionState)
        ? { ...withoutErrorCode(current), connectionState: 'CONNECTED' }
        : undefined,
    )
    // Disconnected (or deleted) while the attempt ran: the new state wins.
    if (!connected) return token.close()
    const key = storeKey(record)
    const previous = this.#tokens.get(key)
    this.#tokens.set(key, token)
    await previous?.close()
  }

  /**
   * Connects an external key store: a GetHealthStatus call with kmsOperation
   * ConnectCustomKeyStore must succeed (Developer Guide, "Connecting an external key store").
   */
  async #connectXks(record: ExternalKeyStoreRecord): Promise<void> {
    try {
      const client = await this.xksClient(record)
      await client.health({
        kmsRequestId: this.#random.uuid(),
        kmsOperation: 'ConnectCustomKeyStore',
      })
    } catch (error) {
      await this.#fail(record, error)
      return
    }
    await this.#transition(record, (current) =>
      WANTS_CONNECTION.has(current.connectionState)
        ? { ...withoutErrorCode(current), connectionState: 'CONNECTED' }
        : undefined,
    )
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

  /** Records a failed connection (FAILED + code) unless the store was disconnected meanwhile. */
  async #fail(record: CustomKeyStoreRecord, error: unknown): Promise<void> {
    const code =
      error instanceof XksProxyError
        ? xksConnectionErrorCode(error.failure)
        : connectionErrorCodeOf(error)
    this.#logger.error('custom key store connection failed', {
      customKeyStoreId: record.customKeyStoreId,
      connectionErrorCode: code,
      // HsmConnectionError messages name the module and token, never the PIN; XksProxyError
      // messages name the proxy and its answer, never the secret or any plaintext.
      reason:
        error instanceof HsmConnectionError || error instanceof XksProxyError
          ? error.message
          : String(error),
    })
    await this.#transition(record, (current) =>
      WANTS_CONNECTION.has(current.connectionState)
        ? { ...current, connectionState: 'FAILED', connectionErrorCode: code }
        : undefined,
    )
  }

  /** Read-modify-write of the store's record; false when `fn` declined or the store is gone. */
  async #transition(
    record: CustomKeyStoreRecord,
    fn: (current: CustomKeyStoreRecord) => CustomKeyStoreRecord | undefined,
  ): Promise<boolean> {
    try {
      return await this.#store.transaction(async (tx) => {
        const current = await tx.getCustomKeyStore(record.region, record.customKeyStoreId)
        const next = current && fn(current)
        if (!next) return false
        await tx.updateCustomKeyStore(next)
        return true
      })
    } finally {
      this.invalidate()
    }
  }
}

/** What identifies one version of a store's proxy settings (a change makes a new client). */
const xksFingerprint = (xks: XksProxySettings) =>
  [xks.uriEndpoint, xks.uriPath, xks.accessKeyId, xks.wrappedSecret].join('\n')

/**
 * The record without a ConnectionErrorCode (it describes only a FAILED state).
 *
 * @example
 *   await tx.updateCustomKeyStore({ ...withoutErrorCode(store), connectionState: 'DISCONNECTED' })
 */
export function withoutErrorCode(record: CustomKeyStoreRecord): CustomKeyStoreRecord {
  const { connectionErrorCode: _dropped, ...rest } = record
  return rest
}
