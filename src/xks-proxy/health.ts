import { randomBytes } from 'node:crypto'
import type { Clock } from '../ports/clock.js'
import { constantTimeEqual } from '../domain/constant-time.js'
import { CIPHERTEXT_METADATA_V1, gcmAad } from './ciphertext-format.js'
import type { EkmInfo, XksKeyManager } from './key-manager.js'

/**
 * The deep health check behind GetHealthStatus (spec, GetHealthStatus): an AES-GCM round trip
 * in the key manager on a dedicated test key, never a customer key, so the key manager's logs
 * show no unexplained use of customer keys. Results are reused for `cacheMs` (the spec allows
 * a cached result no older than one minute); concurrent callers share one check.
 *
 * - ACTIVE: the round trip succeeded within `degradedAfterMs`;
 * - DEGRADED: it succeeded, slowly (serving, but not well);
 * - UNAVAILABLE: it failed (KMS then treats the proxy as unreachable).
 */

export type EkmHealthStatus = 'ACTIVE' | 'DEGRADED' | 'UNAVAILABLE'

/** One health result. */
export interface HealthResult {
  readonly ekm: EkmInfo
  readonly healthStatus: EkmHealthStatus
  /** Epoch milliseconds of the check. */
  readonly checkedAt: number
  /** Why the check failed (for the log; never sent). */
  readonly problem?: string
}

export interface HealthOptions {
  readonly keyManager: XksKeyManager
  /** The dedicated test key (created at start when missing). */
  readonly healthKeyId: string
  readonly clock: Clock
  readonly cacheMs: number
  /** Above this a successful check reports DEGRADED (default 100 ms). */
  readonly degradedAfterMs?: number
  /**
   * How long a request waits for a fresh check (default 100 ms, well inside KMS's 250 ms for
   * the whole call): past it, the answer is the last result if it is under a minute old, else
   * DEGRADED.
   */
  readonly waitMs?: number
  /** A check that takes longer than this fails (default 5 s). */
  readonly timeoutMs?: number
}

/** The spec: a cached health result is never older than one minute. */
const MAX_AGE_MS = 60_000
const UNKNOWN_EKM: EkmInfo = { vendor: 'unknown', id: 'unknown', model: 'unknown' }

/** Resolves after `ms` with undefined; the timer does not keep the process alive. */
function after(ms: number): { promise: Promise<undefined>; cancel: () => void } {
  let timer: NodeJS.Timeout | undefined
  const promise = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms)
    timer.unref()
  })
  return { promise, cancel: () => clearTimeout(timer) }
}

/**
 * The health checker of one proxy.
 *
 * @example
 *   const health = new HealthChecker({ keyManager, healthKeyId, clock: systemClock, cacheMs: 10_000 })
 *   const { healthStatus } = await health.current()
 */
export class HealthChecker {
  readonly #options: HealthOptions
  #last: HealthResult | undefined
  #running: Promise<HealthResult> | undefined
  #ekm: EkmInfo | undefined

  constructor(options: HealthOptions) {
    this.#options = options
  }

  /** Runs a check now (or joins the one running) and waits for it, however long it takes. */
  refresh(): Promise<HealthResult> {
    this.#running ??= this.#check().finally(() => {
      this.#running = undefined
    })
    return this.#running
  }

  /** The latest result, checking again when it is older than the cache time. */
  async current(): Promise<HealthResult> {
    const now = this.#options.clock.now()
    const last = this.#last
    if (last && now - last.checkedAt < this.#options.cacheMs) return last
    const running = this.refresh()
    const wait = after(this.#options.waitMs ?? 100)
    const fresh = await Promise.race([running, wait.promise])
    wait.cancel()
    if (fresh) return fresh
    if (last && now - last.checkedAt <= MAX_AGE_MS) return last
    return {
      ekm: this.#ekm ?? UNKNOWN_EKM,
      healthStatus: 'DEGRADED',
      checkedAt: now,
      problem: 'the health check is slower than KMS waits',
    }
  }

  async #check(): Promise<HealthResult> {
    const { clock, keyManager, healthKeyId } = this.#options
    const started = clock.now()
    const t0 = performance.now()
    const timeout = after(this.#options.timeoutMs ?? 5000)
    let result: HealthResult
    try {
      const ok = await Promise.race([this.#roundTrip(keyManager, healthKeyId), timeout.promise])
      if (ok === undefined) throw new Error('the health check timed out')
      const ms = performance.now() - t0
      result = {
        ekm: this.#ekm!,
        healthStatus: ms > (this.#options.degradedAfterMs ?? 100) ? 'DEGRADED' : 'ACTIVE',
        checkedAt: started,
      }
    } catch (error) {
      result = {
        ekm: this.#ekm ?? UNKNOWN_EKM,
        healthStatus: 'UNAVAILABLE',
        checkedAt: started,
        problem: error instanceof Error ? error.message : String(error),
      }
    } finally {
      timeout.cancel()
    }
    this.#last = result
    return result
  }

  /** Encrypts random bytes under the test key and decrypts them again. */
  async #roundTrip(keyManager: XksKeyManager, id: string): Promise<true> {
    this.#ekm = await keyManager.ekm()
    const plaintext = randomBytes(32)
    const aad = gcmAad(Buffer.from('keyward xks-proxy health check'), CIPHERTEXT_METADATA_V1)
    const sealed = await keyManager.encrypt(id, { plaintext, aad })
    const opened = await keyManager.decrypt(id, { ...sealed, aad })
    if (!constantTimeEqual(opened, plaintext))
      throw new Error('the round trip returned other bytes')
    return true
  }
}
