import { Counter, Gauge, Histogram, Registry } from 'prom-client'
import type { AuditStatus } from '../ports/audit-sink.js'
import type { Clock } from '../ports/clock.js'
import type { KeyStore } from '../ports/key-store.js'
import type { CustomKeyStoreService } from './custom-key-stores.js'

/**
 * Everything `GET /metrics` shows, in the Prometheus text exposition format (through
 * prom-client): the counters the request path and the scheduler increment, and gauges read
 * from the store and the backends when Prometheus scrapes. Labels are operation names,
 * exception names, key states and specs, Region, key and custom key store IDs: never key
 * material, caller data or secrets (docs/principles.md, 4).
 *
 * The request path does no work here beyond prom-client's own increments: the children of
 * each operation's counters and histogram are made once and kept, so a request looks up one
 * object by operation name instead of building a label key.
 */

/** Latency buckets (seconds): KMS calls take from tens of microseconds to an HSM's seconds. */
const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5]

/** How long counts read from the store (a scan of every key) are reused between scrapes. */
export const DEFAULT_INVENTORY_TTL_MS = 30_000

/** The session pool of one HSM token (src/adapters/pkcs11/pkcs11-token.ts). */
export interface SessionPoolUse {
  /** `region/customKeyStoreId` of the store whose token it is. */
  readonly store: string
  readonly open: number
  readonly idle: number
  readonly size: number
  readonly waiting: number
}

/** What the scrape-time gauges read. */
export interface MetricsSources {
  readonly store: KeyStore
  readonly clock: Clock
  readonly customKeyStores: CustomKeyStoreService
  /** The session pools of connected CloudHSM-type stores. */
  readonly sessionPools?: () => readonly SessionPoolUse[]
  /** See {@link DEFAULT_INVENTORY_TTL_MS}. */
  readonly inventoryTtlMs?: number
  /** The audit trail's write state; absent without a trail. */
  readonly audit?: () => AuditStatus
}

/** What the store said of every key, and when. */
interface Inventory {
  readonly readAt: number
  readonly counts: Awaited<ReturnType<KeyStore['countKeysByStateAndSpec']>>
  readonly expirations: Awaited<ReturnType<KeyStore['listMaterialExpirations']>>
}

/** The children of one operation's request metrics, made once. */
interface OperationMetrics {
  readonly requests: { inc(): void }
  readonly duration: { observe(seconds: number): void }
}

/**
 * The metrics registry of one Keyward process.
 *
 * @example
 *   const metrics = new KeywardMetrics({ store, clock, customKeyStores })
 *   metrics.request('Encrypt', 0.002)
 *   res.end(await metrics.render())
 */
export class KeywardMetrics {
  readonly registry = new Registry()
  readonly #sources: MetricsSources
  readonly #operations = new Map<string, OperationMetrics>()
  readonly #requests: Counter<'operation'>
  readonly #errors: Counter<'operation' | 'exception'>
  readonly #duration: Histogram<'operation'>
  readonly #throttled: Counter<'operation'>
  readonly #schedulerRuns: Counter<'job'>
  readonly #schedulerFailures: Counter<'job'>
  readonly #xksCalls: Histogram<'route'>
  readonly #xksErrors: Counter<'route' | 'failure'>
  #inventory: Inventory | undefined

  constructor(sources: MetricsSources) {
    this.#sources = sources
    const registers = [this.registry]
    this.#requests = new Counter({
      name: 'keyward_requests_total',
      help: 'KMS requests answered, by operation (unknown: no operation could be read).',
      labelNames: ['operation'],
      registers,
    })
    this.#errors = new Counter({
      name: 'keyward_request_errors_total',
      help: 'KMS requests answered with an error, by operation and exception name.',
      labelNames: ['operation', 'exception'],
      registers,
    })
    this.#duration = new Histogram({
      name: 'keyward_request_duration_seconds',
      help: 'Time from the request to the answer, by operation.',
      labelNames: ['operation'],
      buckets: LATENCY_BUCKETS,
      registers,
    })
    this.#throttled = new Counter({
      name: 'keyward_throttled_requests_total',
      help: 'Requests refused with ThrottlingException by the request quotas, by operation.',
      labelNames: ['operation'],
      registers,
    })
    this.#schedulerRuns = new Counter({
      name: 'keyward_scheduler_runs_total',
      help: 'Runs of each scheduled job.',
      labelNames: ['job'],
      registers,
    })
    this.#schedulerFailures = new Counter({
      name: 'keyward_scheduler_failures_total',
      help: 'Runs of each scheduled job that failed.',
      labelNames: ['job'],
      registers,
    })
    this.#xksCalls = new Histogram({
      name: 'keyward_xks_proxy_request_duration_seconds',
      help: 'Calls to external key store proxies, by XKS API route.',
      labelNames: ['route'],
      buckets: LATENCY_BUCKETS,
      registers,
    })
    this.#xksErrors = new Counter({
      name: 'keyward_xks_proxy_errors_total',
      help: 'Failed calls to external key store proxies, by route and failure (proxy error name, timeout, tls, unreachable, invalid-response).',
      labelNames: ['route', 'failure'],
      registers,
    })
    this.#registerStoreGauges(registers)
    this.#registerCustomKeyStoreGauges(registers)
    if (sources.audit) registerAuditGauges(registers, sources.audit)
  }

  /**
   * Counts one answered request and its latency (two numbers, no object per request).
   *
   * @example
   *   metrics.request('Decrypt', 0.001)
   */
  request(operation: string, seconds: number): void {
    const op = this.#operation(operation)
    op.requests.inc()
    op.duration.observe(seconds)
  }

  /**
   * Counts one request answered with `exception` (besides {@link KeywardMetrics.request}).
   *
   * @example
   *   metrics.failed('Decrypt', 'InvalidCiphertextException')
   */
  failed(operation: string, exception: string): void {
    this.#errors.inc({ operation, exception })
    if (exception === 'ThrottlingException') this.#throttled.inc({ operation })
  }

  /**
   * Counts one run of a scheduled job (src/services/scheduler.ts).
   *
   * @example
   *   metrics.jobRan('rotate keys whose automatic rotation is due', { failed: false })
   */
  jobRan(job: string, outcome: { failed: boolean }): void {
    this.#schedulerRuns.inc({ job })
    // By 0 too, so that each job's failure series exists (and rate() works) before a failure.
    this.#schedulerFailures.inc({ job }, outcome.failed ? 1 : 0)
  }

  /**
   * Records one call to an external key store proxy (XksClientSettings.observe).
   *
   * @example
   *   metrics.xksCall({ route: '/health', seconds: 0.01 })
   */
  readonly xksCall = (call: { route: string; seconds: number; failure?: string }): void => {
    this.#xksCalls.observe({ route: call.route }, call.seconds)
    if (call.failure !== undefined)
      this.#xksErrors.inc({ route: call.route, failure: call.failure })
  }

  /**
   * The text exposition format, with its content type.
   *
   * @example
   *   const { contentType, body } = await metrics.render()
   */
  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() }
  }

  #operation(operation: string): OperationMetrics {
    let op = this.#operations.get(operation)
    if (!op) {
      op = {
        requests: this.#requests.labels({ operation }),
        duration: this.#duration.labels({ operation }),
      }
      this.#operations.set(operation, op)
    }
    return op
  }

  /** Key counts and material expiry, read from the store at most once per TTL. */
  async #readInventory(): Promise<Inventory> {
    const now = this.#sources.clock.now()
    const ttl = this.#sources.inventoryTtlMs ?? DEFAULT_INVENTORY_TTL_MS
    if (!this.#inventory || now - this.#inventory.readAt >= ttl) {
      const [counts, expirations] = await Promise.all([
        this.#sources.store.countKeysByStateAndSpec(),
        this.#sources.store.listMaterialExpirations(),
      ])
      this.#inventory = { readAt: now, counts, expirations }
    }
    return this.#inventory
  }

  #registerStoreGauges(registers: Registry[]): void {
    const readInventory = () => this.#readInventory()
    const clock = this.#sources.clock
    new Gauge({
      name: 'keyward_keys',
      help: 'KMS keys by key state and key spec, every account and Region.',
      labelNames: ['state', 'spec'],
      registers,
      async collect() {
        const { counts } = await readInventory()
        this.reset()
        for (const row of counts) this.set({ state: row.keyState, spec: row.keySpec }, row.count)
      },
    })
    // CloudWatch's SecondsUntilKeyMaterialExpiration (Developer Guide, "Monitoring with
    // CloudWatch"): per key whose imported material expires; negative once it has expired and
    // the scheduler has not yet deleted it.
    new Gauge({
      name: 'keyward_seconds_until_key_material_expiration',
      help: 'Seconds until the imported key material of a KMS key expires (SecondsUntilKeyMaterialExpiration).',
      labelNames: ['region', 'key_id'],
      registers,
      async collect() {
        const { expirations } = await readInventory()
        const now = clock.now()
        this.reset()
        for (const row of expirations) {
          this.set({ region: row.region, key_id: row.keyId }, (row.expiresAt - now) / 1000)
        }
      },
    })
  }

  #registerCustomKeyStoreGauges(registers: Registry[]): void {
    const { store, customKeyStores, sessionPools } = this.#sources
    new Gauge({
      name: 'keyward_custom_key_store_connection_state',
      help: 'Custom key stores: 1 for the ConnectionState each is in.',
      labelNames: ['region', 'custom_key_store_id', 'type', 'state'],
      registers,
      async collect() {
        const stores = await store.listAllCustomKeyStores()
        this.reset()
        for (const s of stores) {
          this.set(
            {
              region: s.region,
              custom_key_store_id: s.customKeyStoreId,
              type: s.customKeyStoreType,
              state: s.connectionState,
            },
            1,
          )
        }
      },
    })
    const pool = (name: string, help: string, field: 'open' | 'idle' | 'size' | 'waiting') =>
      new Gauge({
        name,
        help,
        labelNames: ['store'],
        registers,
        collect() {
          this.reset()
          for (const p of sessionPools?.() ?? []) this.set({ store: p.store }, p[field])
        },
      })
    pool('keyward_hsm_sessions_open', 'PKCS#11 sessions open per custom key store token.', 'open')
    pool('keyward_hsm_sessions_idle', 'Open PKCS#11 sessions not in use.', 'idle')
    pool('keyward_hsm_session_pool_size', 'Most sessions the pool opens.', 'size')
    pool('keyward_hsm_session_waiters', 'Calls waiting for a free PKCS#11 session.', 'waiting')
    this.#registerXksHealthGauges(registers, customKeyStores)
  }

  /** The health poll of external key store proxies (issue 6), as it was before prom-client. */
  #registerXksHealthGauges(registers: Registry[], customKeyStores: CustomKeyStoreService): void {
    const labelNames = ['custom_key_store_id', 'region'] as const
    type Health = ReturnType<CustomKeyStoreService['xksHealthMetrics']>[number]
    const each = (
      value: (m: Health) => number | undefined,
      set: (labels: object, v: number) => void,
    ) => {
      for (const m of customKeyStores.xksHealthMetrics()) {
        const v = value(m)
        if (v !== undefined) set({ custom_key_store_id: m.customKeyStoreId, region: m.region }, v)
      }
    }
    const family = (name: string, help: string, value: (m: Health) => number | undefined) =>
      new Gauge({
        name,
        help,
        labelNames,
        registers,
        collect() {
          this.reset()
          each(value, (labels, v) => this.set(labels, v))
        },
      })
    // Totals the poll itself keeps: counters set from its running totals at each scrape.
    const total = (name: string, help: string, value: (m: Health) => number | undefined) =>
      new Counter({
        name,
        help,
        labelNames,
        registers,
        collect() {
          this.reset()
          each(value, (labels, v) => this.inc(labels, v))
        },
      })
    total(
      'keyward_xks_health_checks_total',
      'GetHealthStatus polls of the proxy of a connected external key store.',
      (m) => m.checks,
    )
    total(
      'keyward_xks_health_check_failures_total',
      'Polls that failed (no answer in time, an error, or an answer that is not the XKS API).',
      (m) => m.failures,
    )
    family(
      'keyward_xks_health_consecutive_failures',
      'Polls failed in a row since the last good one.',
      (m) => m.consecutiveFailures,
    )
    family('keyward_xks_health_last_latency_seconds', 'How long the last poll took.', (m) =>
      m.lastLatencyMs === undefined ? undefined : m.lastLatencyMs / 1000,
    )
    new Gauge({
      name: 'keyward_xks_health_status',
      help: 'The last poll: ACTIVE, DEGRADED, or the ConnectionErrorCode of the failure.',
      labelNames: [...labelNames, 'status'],
      registers,
      collect() {
        this.reset()
        for (const m of customKeyStores.xksHealthMetrics()) {
          if (m.lastStatus === undefined) continue
          const labels = { custom_key_store_id: m.customKeyStoreId, region: m.region }
          this.set({ ...labels, status: m.lastStatus }, 1)
        }
      },
    })
  }
}

/**
 * The audit trail's write lag (issue 15): how long the oldest event not yet on disk has waited,
 * how many wait, and whether the trail can be written. A lag that grows is a disk that cannot
 * keep up; a crash loses at most what waits (docs/audit-trail.md).
 */
function registerAuditGauges(registers: Registry[], status: () => AuditStatus): void {
  new Gauge({
    name: 'keyward_audit_write_lag_seconds',
    help: 'Age of the oldest audit event not yet written and synced to disk (0 when none waits).',
    registers,
    collect() {
      this.set(status().lagMs / 1000)
    },
  })
  new Gauge({
    name: 'keyward_audit_queued_events',
    help: 'Audit events recorded but not yet on disk.',
    registers,
    collect() {
      this.set(status().queued)
    },
  })
  new Gauge({
    name: 'keyward_audit_writable',
    help: '1 while the audit trail is written, 0 after a write failed and until one works again.',
    registers,
    collect() {
      this.set(status().failed ? 0 : 1)
    },
  })
}
