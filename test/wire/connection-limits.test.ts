import assert from 'node:assert/strict'
import { connect, type Socket } from 'node:net'
import { after, before, describe, it } from 'node:test'
import { startKeyward, type TestServer } from '../support/keyward-server.js'
import { rawRequest } from '../support/raw-request.js'
import { expectWireSuccess } from '../support/wire-assertions.js'

/**
 * Issue 10, item 6: node's defaults let a trickling peer hold a socket for minutes (about 87 s
 * for headers, 327 s for a body) with no cap on open connections. The test servers use short
 * limits; the defaults are in src/config/http-limits.ts.
 */

const HEADERS_TIMEOUT_MS = 300
const REQUEST_TIMEOUT_MS = 600

/** Every connection a test opened: closed before its server, which would wait for them. */
const sockets: Socket[] = []
const closeAll = () => sockets.splice(0).forEach((s) => s.destroy())

/** A connection to `endpoint` and a promise of the time it stayed open, in ms. */
function open(endpoint: string): { socket: Socket; closed: Promise<number> } {
  const url = new URL(endpoint)
  const started = Date.now()
  const socket = connect(Number(url.port), url.hostname)
  sockets.push(socket)
  socket.on('error', () => {})
  socket.resume()
  const closed = new Promise<number>((resolve) =>
    socket.on('close', () => resolve(Date.now() - started)),
  )
  return { socket, closed }
}

/** Writes `text` one byte every 50 ms until the socket closes. */
function trickle(socket: Socket, text: string): void {
  let at = 0
  const timer = setInterval(() => {
    if (socket.destroyed || at >= text.length) return clearInterval(timer)
    socket.write(text[at++]!)
  }, 50)
  socket.on('close', () => clearInterval(timer))
}

/** Resolves with `promise`'s value, or fails after `ms` (the peer was never cut off). */
async function within<T>(promise: Promise<T>, ms: number, socket: Socket): Promise<T> {
  const timer = setTimeout(() => socket.destroy(new Error('still open')), ms)
  try {
    const value = await promise
    assert.ok(!socket.errored, `the connection was still open after ${ms} ms`)
    return value
  } finally {
    clearTimeout(timer)
  }
}

describe('header and request timeouts', () => {
  let kw: TestServer
  before(async () => {
    kw = await startKeyward({
      http: { headersTimeoutMs: HEADERS_TIMEOUT_MS, requestTimeoutMs: REQUEST_TIMEOUT_MS },
    })
  })
  after(async () => {
    closeAll()
    await kw.close()
  })

  it('cuts off a peer that trickles its headers after the headers timeout', async () => {
    const { socket, closed } = open(kw.endpoint)
    trickle(
      socket,
      `POST / HTTP/1.1\r\nHost: localhost\r\nX-Amz-Target: ${'x'.repeat(200)}\r\n\r\n`,
    )
    const ms = await within(closed, 3_000, socket)
    assert.ok(ms >= HEADERS_TIMEOUT_MS * 0.9, `closed after ${ms} ms`)
  })

  it('cuts off a peer that trickles its body after the request timeout, logging no error', async () => {
    const { socket, closed } = open(kw.endpoint)
    socket.write(
      'POST / HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-amz-json-1.1\r\n' +
        'X-Amz-Target: TrentService.ListKeys\r\nContent-Length: 200\r\n\r\n',
    )
    trickle(socket, ' '.repeat(200))
    const ms = await within(closed, 3_000, socket)
    assert.ok(ms >= REQUEST_TIMEOUT_MS * 0.9, `closed after ${ms} ms`)
    await new Promise((resolve) => setTimeout(resolve, 50))
    assert.deepEqual(kw.logger.lines, [])
    assert.ok(kw.logger.debugLines.some((l) => l.includes('request aborted')))
  })

  it('still answers a client that sends at once', async () => {
    expectWireSuccess(await rawRequest(kw.endpoint, { target: 'TrentService.ListKeys' }))
  })
})

describe('the connection cap', () => {
  let kw: TestServer
  before(async () => {
    kw = await startKeyward({ http: { maxConnections: 2 } })
  })
  after(async () => {
    closeAll()
    await kw.close()
  })

  it('closes a connection beyond the cap at once, and accepts again once one is gone', async () => {
    const first = open(kw.endpoint)
    const second = open(kw.endpoint)
    await Promise.all([first, second].map((c) => new Promise((r) => c.socket.once('connect', r))))
    // Let the server count both before the third arrives.
    await new Promise((resolve) => setTimeout(resolve, 50))
    const third = open(kw.endpoint)
    await within(third.closed, 2_000, third.socket)
    first.socket.destroy()
    await first.closed
    await new Promise((resolve) => setTimeout(resolve, 50))
    // fetch opens one connection: the second plus this one are within the cap.
    expectWireSuccess(await rawRequest(kw.endpoint, { target: 'TrentService.ListKeys' }))
    second.socket.destroy()
  })
})
