/**
 * Latencies in 10 µs buckets up to 10 s, autocannon's request timeout as the load generator
 * sets it (the last bucket takes anything slower), so p50/p99 keep sub-millisecond precision;
 * autocannon's own histogram rounds to whole milliseconds.
 *
 * @example
 *   const h = new LatencyHistogram()
 *   h.record(1.23)
 *   h.percentile(99) // ≈ 1.23
 */
export class LatencyHistogram {
  static readonly RESOLUTION_MS = 0.01
  static readonly MAX_MS = 10_000
  readonly #buckets = new Uint32Array(LatencyHistogram.MAX_MS / LatencyHistogram.RESOLUTION_MS + 1)
  #count = 0

  /** Number of latencies recorded. */
  get count(): number {
    return this.#count
  }

  record(ms: number): void {
    const i = Math.min(Math.floor(ms / LatencyHistogram.RESOLUTION_MS), this.#buckets.length - 1)
    this.#buckets[i]!++
    this.#count++
  }

  /** The latency (ms, upper edge of its bucket) below which `p` percent of requests finished. */
  percentile(p: number): number {
    if (this.#count === 0) return Number.NaN
    const rank = Math.ceil((p / 100) * this.#count)
    let seen = 0
    for (let i = 0; i < this.#buckets.length; i++) {
      seen += this.#buckets[i]!
      if (seen >= rank) return (i + 1) * LatencyHistogram.RESOLUTION_MS
    }
    return LatencyHistogram.MAX_MS
  }
}
