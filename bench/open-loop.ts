import { connect, type Socket } from 'node:net'
import { LatencyHistogram } from './latency-histogram.js'
import { RESIGN_EVERY_MS } from './signing.js'
import type { LoadRequest } from './load.js'

/**
 * An open-loop load generator: requests leave on a fixed schedule (request i at
 * start + i / rate), whether or not earlier ones have been answered, and each latency is
 * measured from the request's *scheduled* send time. A server that stalls for 20 ms is thus
 * charged for every request that should have gone out during the stall, not only for the one
 * in flight ("coordinated omission", Gil Tene, "How NOT to measure latency", 2013).
 *
 * autocannon cannot do this: with `overallRate`/`connectionRate` each connection still waits
 * for its answer before sending the next request, and the rate is a budget per second
 * (node_modules/autocannon/lib/httpClient.js, `_doRequest`: it sends until the second's quota
 * is spent, then pauses), so its latency is a closed loop's.
 *
 * HTTP/1.1 over `connections` keep-alive sockets, one request in flight per socket (no
 * pipelining, as SDKs do); when every socket is busy, due requests wait here in order, and
 * that wait is part of their latency. The request bytes are built once (one SigV4 signature
 * replayed, re-signed every {@link RESIGN_EVERY_MS}); answers are read by Content-Length.
 */

/** What one open-loop run measured. */
export interface OpenLoopResult {
  /** The rate asked for, requests/s. */
  readonly offeredRate: number
  /** Requests answered 2xx per second of the schedule. */
  readonly achievedRate: number
  readonly ok: number
  /** Non-2xx answers, and requests unanswered when the run ended (plus the drain time). */
  readonly failed: number
  /** Latency from the scheduled send time, ms. */
  readonly p50Ms: number
  readonly p99Ms: number
  readonly p999Ms: number
  /** How late the generator itself sent (actual − scheduled write), p99, ms. */
  readonly sendLagP99Ms: number
}

/** How long unanswered requests may take after the schedule ends before they count as failed. */
const DRAIN_MS = 10_000

interface Connection {
  readonly socket: Socket
  /** Scheduled send time (performance.now()) of the request in flight, or NaN when idle. */
  scheduled: number
  received: Buffer[]
  receivedBytes: number
}

/** The request line, headers and body as bytes. */
function requestBytes(url: URL, headers: Record<string, string>, body: string): Buffer {
  const bodyBytes = Buffer.from(body, 'utf8')
  let head = `POST ${url.pathname || '/'} HTTP/1.1\r\n`
  // HTTP/1.1 requires Host (RFC 9112, 3.2); a SigV4 signer has already added it.
  if (!Object.keys(headers).some((name) => name.toLowerCase() === 'host')) {
    head += `host: ${url.host}\r\n`
  }
  for (const [name, value] of Object.entries(headers)) {
    if (name.toLowerCase() !== 'content-length') head += `${name}: ${value}\r\n`
  }
  head += `content-length: ${bodyBytes.length}\r\nconnection: keep-alive\r\n\r\n`
  return Buffer.concat([Buffer.from(head, 'latin1'), bodyBytes])
}

/**
 * The status of a complete HTTP/1.1 answer in `data`, or undefined while it is incomplete.
 * Only Content-Length framing is expected (both Keyward and the baselines set it).
 *
 * @throws Error for an answer without Content-Length
 */
export function completeAnswer(data: Buffer): number | undefined {
  const end = data.indexOf('\r\n\r\n')
  if (end < 0) return undefined
  const head = data.subarray(0, end).toString('latin1')
  const length = /\r\ncontent-length:\s*(\d+)/i.exec(head)
  if (!length) throw new Error(`answer without Content-Length: ${head.split('\r\n')[0]}`)
  if (data.length < end + 4 + Number(length[1])) return undefined
  return Number(head.slice(9, 12))
}

/**
 * Sends `request` at `rate` requests/s for `seconds` over `connections` keep-alive sockets and
 * measures each latency from its scheduled send time.
 *
 * @example
 *   const r = await runOpenLoop(request, { rate: 5000, seconds: 10, connections: 64 })
 *   console.log(r.p99Ms)
 */
export async function runOpenLoop(
  request: LoadRequest,
  options: { rate: number; seconds: number; connections: number },
): Promise<OpenLoopResult> {
  const url = new URL(request.url)
  let bytes = requestBytes(url, await request.sign(), request.body)
  const refresher = setInterval(() => {
    request.sign().then(
      (fresh) => (bytes = requestBytes(url, fresh, request.body)),
      (error: unknown) => console.error('re-signing failed:', error),
    )
  }, RESIGN_EVERY_MS)
  const latencies = new LatencyHistogram()
  const sendLags = new LatencyHistogram()
  const idle: Connection[] = []
  const waiting: number[] = []
  let waitingAt = 0
  let ok = 0
  let failed = 0
  let outstanding = 0
  let allScheduled = false
  let finish: () => void = () => {}
  const finished = new Promise<void>((resolve) => (finish = resolve))

  const send = (c: Connection, scheduled: number) => {
    c.scheduled = scheduled
    c.socket.write(bytes)
    sendLags.record(performance.now() - scheduled)
  }
  const onData = (c: Connection, chunk: Buffer) => {
    c.received.push(chunk)
    c.receivedBytes += chunk.length
    const data = c.received.length === 1 ? chunk : Buffer.concat(c.received, c.receivedBytes)
    const status = completeAnswer(data)
    if (status === undefined) return
    c.received = []
    c.receivedBytes = 0
    if (status >= 200 && status < 300) {
      ok++
      latencies.record(performance.now() - c.scheduled)
    } else failed++
    outstanding--
    if (waitingAt < waiting.length) send(c, waiting[waitingAt++]!)
    else {
      c.scheduled = Number.NaN
      idle.push(c)
    }
    if (allScheduled && outstanding === 0) finish()
  }
  const sockets = await Promise.all(
    Array.from(
      { length: options.connections },
      () =>
        new Promise<Connection>((resolve, reject) => {
          const socket = connect({ host: url.hostname, port: Number(url.port), noDelay: true })
          const c: Connection = { socket, scheduled: Number.NaN, received: [], receivedBytes: 0 }
          socket.once('connect', () => resolve(c))
          socket.once('error', reject)
          // A connection that fails later loses its request (counted as failed at the end)
          // and is not used again.
          socket.on('error', () => socket.destroy())
          socket.on('data', (chunk: Buffer) => onData(c, chunk))
        }),
    ),
  )
  idle.push(...sockets)

  const interval = 1000 / options.rate
  const total = Math.round(options.rate * options.seconds)
  const start = performance.now()
  let next = 0
  const dispatch = (scheduled: number) => {
    outstanding++
    const c = idle.pop()
    if (c) send(c, scheduled)
    else waiting.push(scheduled)
  }
  // Timers fire at best every millisecond: each tick sends everything that has become due,
  // so a late tick shows up as send lag and, rightly, as latency.
  const tick = () => {
    const now = performance.now()
    while (next < total && start + next * interval <= now) dispatch(start + next++ * interval)
    if (next < total) setTimeout(tick, Math.max(0, start + next * interval - performance.now()))
    else {
      allScheduled = true
      if (outstanding === 0) finish()
      else drain = setTimeout(finish, DRAIN_MS)
    }
  }
  let drain: NodeJS.Timeout | undefined
  tick()
  await finished
  clearTimeout(drain)
  clearInterval(refresher)
  for (const c of sockets) c.socket.destroy()
  return {
    offeredRate: options.rate,
    achievedRate: ok / options.seconds,
    ok,
    failed: failed + outstanding,
    p50Ms: latencies.percentile(50),
    p99Ms: latencies.percentile(99),
    p999Ms: latencies.percentile(99.9),
    sendLagP99Ms: sendLags.percentile(99),
  }
}
