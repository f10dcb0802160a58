import type { XksThrottle } from './config.js'

/**
 * A token bucket (per key store): `requestsPerSecond` tokens a second, at most `burst` saved.
 * The spec lets a proxy enforce a request quota per URI path prefix and answer
 * ThrottlingException (429) beyond it.
 *
 * @example
 *   const bucket = new TokenBucket({ requestsPerSecond: 1800, burst: 1800 }, Date.now())
 *   if (!bucket.take(Date.now())) throw new XksError('ThrottlingException')
 */
export class TokenBucket {
  readonly #ratePerMs: number
  readonly #burst: number
  #tokens: number
  #at: number

  constructor(limit: XksThrottle, now: number) {
    this.#ratePerMs = limit.requestsPerSecond / 1000
    this.#burst = limit.burst
    this.#tokens = limit.burst
    this.#at = now
  }

  /** Takes one token if there is one; false when the quota is spent. */
  take(now: number): boolean {
    const elapsed = Math.max(0, now - this.#at)
    this.#at = Math.max(this.#at, now)
    this.#tokens = Math.min(this.#burst, this.#tokens + elapsed * this.#ratePerMs)
    if (this.#tokens < 1) return false
    this.#tokens -= 1
    return true
  }
}
