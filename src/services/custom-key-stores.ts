import type { HsmClusterConfig } from '../config/hsm-clusters.js'
import {
  passwordContext,
  xksSecretContext,
  type ConnectionState,
  type CustomKeyStoreRecord,
  type ExternalKeyStoreRecord,
} from '../domain/custom-key-store.js'
import type { KeyRecord } from '../domain/key.js'
import { CUSTOM_KEY_STORE_TYPES, KEY_ORIGINS } from '../domain/key-origins.js'
import type {
  BackendCall,
  BackendUnavailableError,
  KeyMaterialBackend,
  KeyMaterialBackends,
  XksProxyTarget,
} from '../ports/key-material-backend.js'
import type { Random } from '../ports/random.js'
import type { KeyStore, KeyStoreTransaction } from '../ports/key-store.js'
import type { RootKey } from '../ports/root-key.js'
import type { Logger } from '../ports/logger.js'
import type { ReportServiceEvent } from './service-events.js'

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
 * The connection state of custom key stores: the asynchronous connect that
 * ConnectCustomKeyStore starts (CONNECTING → CONNECTED, or FAILED with a ConnectionErrorCode),
 * FAILED when a backend cannot be reached later, the periodic health poll of connected XKS
 * proxies (for metrics and logs), the reconnection of stores that were connected when Keyward
 * stopped, and a cache of store records. The connections themselves (PKCS#11 sessions, XKS
 * proxy clients) live in the backends (src/ports/key-material-backend.ts), which this service
 * asks through the port; the AWS rules of each operation live in the operation files; the
 * durable state lives in the KeyStore.
 *
 * @example
 *   const stores = new CustomKeyStoreService({ store, rootKey, backends, clusters, logger })
 *   await stores.resume()
 */
export class CustomKeyStoreService {
  readonly #store: KeyStore
  readonly #rootKey: RootKey
  readonly #backends: KeyMaterialBackends
  readonly #clusters: ReadonlyMap<string, HsmClusterConfig>
  readonly #logger: Logger
  readonly #random: Random
  readonly #xksHealth = new Map<string, XksHealthMetrics>()
  #healthPoll: NodeJS.Timeout | undefined
  readonly #attempts = new Set<Promise<void>>()
  /**
   * Store records by region/id, so that Encrypt under an HSM key does not read the database
   * for its store's state. Cleared by {@link invalidate} after every write of this process,
   * and when another process has committed (KeyStore.commitsByOthers), as KeyService does.
   */
  readonly #records = new Map<string, CustomKeyStoreRecord | undefined>()
  readonly #report: ReportServiceEvent
  #epoch = 0
  #othersCommits: number | undefined

  constructor(deps: {
    store: KeyStore
    rootKey: RootKey
    backends: KeyMaterialBackends
    clusters?: ReadonlyMap<string, HsmClusterConfig> | undefined
    random: Random
    logger: Logger
    /** The audit trail's service event of each connection state the service itself sets. */
    report?: ReportServiceEvent
  }) {
    this.#report = deps.report ?? (() => {})
    this.#store = deps.store
    this.#rootKey = deps.rootKey
    this.#backends = deps.backends
    this.#clusters = deps.clusters ?? new Map()
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

  /** Whether two configured clusters reach the same token, hence the same keys. */
  sameToken(a: HsmClusterConfig, b: HsmClusterConfig): boolean {
    return this.#backends.pkcs11.sameToken(a.id, b.id)
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
    try {
      await this.#backends.xks.probe(target, this.#ownCall(kmsOperation))
    } catch (error) {
      this.#logger.error('external key store proxy health check failed', {
        kmsOperation,
        uriEndpoint: target.uriEndpoint,
        reason: error instanceof Error ? error.message : String(error),
      })
      throw error
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
          (s) =>
            CUSTOM_KEY_STORE_TYPES[s.customKeyStoreType].healthPolled &&
            s.connectionState === 'CONNECTED',
        )
        .map((store) => this.#pollOne(store)),
    )
  }

  async #pollOne(store: CustomKeyStoreRecord): Promise<void> {
    const key = storeKey(store)
    const before = this.#xksHealth.get(key)
    const started = performance.now()
    const health = await this.#backendOf(store).availability({
      store,
      call: this.#ownCall('KmsHealthCheck'),
    })
    const failed = health.state === 'UNAVAILABLE'
    const status = failed
      ? health.connectionErrorCode
      : health.state === 'DEGRADED'
        ? 'DEGRADED'
        : 'ACTIVE'
    if (failed) {
      this.#logger.error('external key store health check failed', {
        customKeyStoreId: store.customKeyStoreId,
        status,
        reason: health.reason,
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

  /** Closes this process's connection to the store's HSM or proxy, if any. */
  async disconnect(record: CustomKeyStoreRecord): Promise<void> {
    this.#xksHealth.delete(storeKey(record))
    await this.#backendOf(record).disconnect(record)
  }

  /**
   * Records that a backend could not be reached for a CONNECTED store (a store connected by
   * another process, or before a restart, is opened on first use): the store becomes FAILED
   * with the error's ConnectionErrorCode, unless it was disconnected meanwhile.
   *
   * @example
   *   catch (e) { if (e instanceof BackendUnavailableError) await stores.connectionLost(store, e) }
   */
  async connectionLost(
    record: CustomKeyStoreRecord,
    error: BackendUnavailableError,
  ): Promise<void> {
    await this.#fail(record, {
      connectionErrorCode: error.connectionErrorCode,
      reason: error.expected ? error.message : String(error.cause),
    })
  }

  /**
   * Best effort, as AWS: destroys the material of a deleted key where only its backend holds
   * it (KEY_ORIGINS[origin].backendHoldsMaterial: the HSM object of a key in a CloudHSM key
   * store), when its store is connected. When it is not, the object stays on the token
   * (logged, so an operator can remove it).
   */
  async destroyKeyMaterial(key: KeyRecord): Promise<void> {
    const origin = KEY_ORIGINS[key.origin]
    if (!origin.backendHoldsMaterial || key.customKeyStoreId === undefined) return
    const store = await this.record(key.region, key.customKeyStoreId)
    try {
      if (store?.connectionState !== 'CONNECTED') throw new Error('the store is not connected')
      await this.#backends[origin.backend].destroy(key, { store })
    } catch (error) {
      this.#logger.error('HSM key material of a deleted key was left on the token', {
        keyArn: key.arn,
        customKeyStoreId: key.customKeyStoreId,
        reason: error instanceof Error ? error.message : String(error),
      })
    }
  }

  /**
   * Stops the health poll and waits for pending connection attempts. The backends, and the
   * connections they hold, are closed by whoever made them (src/server.ts).
   */
  async close(): Promise<void> {
    this.stopHealthPolls()
    await this.settled()
  }

  /** The backend that serves the keys of a store of this type (the origin table's answer). */
  #backendOf(record: CustomKeyStoreRecord): KeyMaterialBackend {
    return this.#backends[CUSTOM_KEY_STORE_TYPES[record.customKeyStoreType].backend]
  }

  /** The requestMetadata of Keyward's own calls to a backend (no caller). */
  #ownCall(operation: string): BackendCall {
    return { requestId: this.#random.uuid(), operation }
  }

  /**
   * Connects a store: its backend must be reachable (a PKCS#11 login; a GetHealthStatus call
   * with kmsOperation ConnectCustomKeyStore: Developer Guide, "Connecting an external key
   * store"), then the store becomes CONNECTED unless it was disconnected meanwhile.
   */
  async #connect(record: CustomKeyStoreRecord): Promise<void> {
    const backend = this.#backendOf(record)
    const health = await backend.availability({
      store: record,
      call: this.#ownCall('ConnectCustomKeyStore'),
    })
    if (health.state === 'UNAVAILABLE') return this.#fail(record, health)
    const connected = await this.#transition(record, (current) =>
      WANTS_CONNECTION.has(current.connectionState)
        ? { ...withoutErrorCode(current), connectionState: 'CONNECTED' }
        : undefined,
    )
    // Disconnected (or deleted) while the attempt ran: the new state wins.
    if (!connected) await backend.disconnect(record)
    else this.#reportState(record, { connectionState: 'CONNECTED' })
  }

  /** Records a failed connection (FAILED + code) unless the store was disconnected meanwhile. */
  async #fail(
    record: CustomKeyStoreRecord,
    failure: { connectionErrorCode: string; reason: string },
  ): Promise<void> {
    const code = failure.connectionErrorCode
    this.#logger.error('custom key store connection failed', {
      customKeyStoreId: record.customKeyStoreId,
      connectionErrorCode: code,
      reason: failure.reason,
    })
    const failed = await this.#transition(record, (current) =>
      WANTS_CONNECTION.has(current.connectionState)
        ? { ...current, connectionState: 'FAILED', connectionErrorCode: code }
        : undefined,
    )
    if (failed) this.#reportState(record, { connectionState: 'FAILED', connectionErrorCode: code })
  }

  /** The audit trail's record of a connection state this service set by itself. */
  #reportState(
    record: CustomKeyStoreRecord,
    state: { connectionState: string; connectionErrorCode?: string },
  ): void {
    this.#report({
      eventName: 'CustomKeyStoreConnectionStateChange',
      region: record.region,
      accountId: record.accountId,
      keys: [],
      details: { customKeyStoreId: record.customKeyStoreId, ...state },
    })
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
