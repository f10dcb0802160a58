import autocannon, { type Client } from 'autocannon'
import { LatencyHistogram } from './latency-histogram.js'
import { RESIGN_EVERY_MS, signKmsCall, type KmsCall } from './signing.js'

/** What one load run measured. */
export interface LoadResult {
  /** Successful (2xx) responses per second. */
  readonly requestsPerSecond: number
  readonly p50Ms: number
  readonly p99Ms: number
  readonly ok: number
  /** Non-2xx answers, connection errors and timeouts: any of them makes the run invalid. */
  readonly failed: number
  readonly seconds: number
}

/**
 * Drives `call` with autocannon at `connections` concurrent keep-alive connections for
 * `seconds`, replaying one SigV4 signature; a run long enough to reach the 5-minute skew limit
 * gets fresh headers every {@link RESIGN_EVERY_MS}, handed to each connection after its next
 * response. Latencies are kept with 10 µs resolution.
 *
 * @example
 *   const r = await runLoad(call, { connections: 32, seconds: 10 })
 */
export async function runLoad(
  call: KmsCall,
  options: { connections: number; seconds: number },
): Promise<LoadResult> {
  let headers = await signKmsCall(call)
  let generation = 0
  const seenGeneration = new WeakMap<Client, number>()
  const refresher = setInterval(() => {
    signKmsCall(call).then(
      (fresh) => {
        headers = fresh
        generation++
      },
      (error: unknown) => console.error('re-signing failed:', error),
    )
  }, RESIGN_EVERY_MS)
  const latencies = new LatencyHistogram()
  let ok = 0
  let non2xx = 0
  try {
    const instance = autocannon({
      url: call.endpoint,
      method: 'POST',
      connections: options.connections,
      duration: options.seconds,
      headers,
      body: call.body,
      timeout: 10,
    })
    instance.on('response', (client, statusCode, _bytes, responseTimeMs) => {
      if (statusCode >= 200 && statusCode < 300) {
        ok++
        latencies.record(responseTimeMs)
      } else non2xx++
      if ((seenGeneration.get(client) ?? 0) !== generation) {
        seenGeneration.set(client, generation)
        client.setHeaders(headers)
      }
    })
    const result = await instance
    return {
      requestsPerSecond: ok / result.duration,
      p50Ms: latencies.percentile(50),
      p99Ms: latencies.percentile(99),
      ok,
      failed: non2xx + result.errors, // autocannon counts timeouts among errors
      seconds: result.duration,
    }
  } finally {
    clearInterval(refresher)
  }
}
