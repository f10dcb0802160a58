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
export function runLoad(
  call: KmsCall,
  options: { connections: number; seconds: number },
): Promise<LoadResult> {
  return runSignedLoad(
    { url: call.endpoint, body: call.body, sign: () => signKmsCall(call) },
    options,
  )
}

/** A POST the load generator replays: where, what body, and how to sign it (again). */
export interface LoadRequest {
  readonly url: string
  readonly body: string
  sign(): Promise<Record<string, string>>
}

/**
 * {@link runLoad} for any SigV4-signed POST (the XKS proxy bench signs for kms-xks-proxy),
 * optionally at a fixed offered `rate` (requests/s over all connections) instead of flat out.
 *
 * @example
 *   await runSignedLoad({ url, body, sign: () => signXks(body) }, { connections: 32, seconds: 10, rate: 1800 })
 */
export async function runSignedLoad(
  request: LoadRequest,
  options: { connections: number; seconds: number; rate?: number },
): Promise<LoadResult> {
  let headers = await request.sign()
  let generation = 0
  const seenGeneration = new WeakMap<Client, number>()
  const refresher = setInterval(() => {
    request.sign().then(
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
      url: request.url,
      method: 'POST',
      connections: options.connections,
      duration: options.seconds,
      headers,
      body: request.body,
      timeout: 10,
      ...(options.rate ? { overallRate: options.rate } : {}),
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

/** Requests a warm-up must have served before a measurement: enough for V8 to optimise the path. */
export const WARMUP_REQUESTS = 20_000

/**
 * Unmeasured load on `call` for at least `seconds` and until {@link WARMUP_REQUESTS} requests
 * were answered (at most `maxSeconds`). V8 optimises a function after enough calls, not after
 * enough time: on a machine busy with other work a fresh server answers a few hundred requests
 * in its first seconds, all of them interpreted at ten times the optimised cost, and a
 * warm-up counted in seconds alone would let that cost into the measurement.
 *
 * @example
 *   await warmUp(call, { connections: 32, seconds: 2 })
 */
export async function warmUp(
  call: KmsCall,
  options: { connections: number; seconds: number; maxSeconds?: number },
): Promise<void> {
  const end = performance.now() + (options.maxSeconds ?? 60) * 1000
  let served = 0
  let elapsed = 0
  while ((elapsed < options.seconds || served < WARMUP_REQUESTS) && performance.now() < end) {
    const r = await runLoad(call, { connections: options.connections, seconds: 1 })
    served += r.ok
    elapsed += 1
  }
}
