import assert from 'node:assert/strict'
import { connect, type Socket } from 'node:net'
import { connect as tlsConnect, TLSSocket } from 'node:tls'
import { after, before, describe, it } from 'node:test'
import { MAX_BODY_BYTES } from '../../src/wire/kms-http-handler.js'
import { startKeyward, type TestServer } from '../support/keyward-server.js'
import { createTestPki } from '../support/test-pki.js'
import { startConfiguredXksProxy } from '../support/xks-proxy.js'

/**
 * Issue 10, item 1: the 413 for an oversized body must reach a client that is still sending.
 * Closing a socket with unread input resets it (TCP RST), and before the fix 25–45 % of such
 * clients saw ECONNRESET instead of the answer.
 */

const TOO_LARGE = {
  __type: 'SerializationException',
  message: `The request body is larger than ${MAX_BODY_BYTES} bytes.`,
}

/** What a client sending a large body saw: the answer, or the error that came first. */
interface Outcome {
  readonly status?: number
  readonly body?: string
  readonly error?: string
}

/** Where and what to send: a connected socket (TCP or TLS) and the request line and headers. */
interface Target {
  readonly open: () => Socket
  /** Request line and headers, without the framing headers and the blank line. */
  readonly head: string
}

/** A KMS request to the Keyward at `endpoint`. */
const kmsTarget = (endpoint: string): Target => {
  const url = new URL(endpoint)
  return {
    open: () => connect(Number(url.port), url.hostname),
    head:
      `POST / HTTP/1.1\r\nHost: ${url.host}\r\nContent-Type: application/x-amz-json-1.1\r\n` +
      `X-Amz-Target: TrentService.GenerateRandom\r\n`,
  }
}

/**
 * Sends `size` bytes of body (declared by Content-Length, or chunked) the way a blocking client
 * does (Python's http.client under boto3, curl): the whole body is written, in 64 KiB pieces a
 * millisecond apart, before the answer is read. If the server closes the connection while the
 * client is still sending, the client's next write draws a reset, the kernel drops the answer it
 * had received, and reading fails with ECONNRESET.
 */
function sendThenRead(target: Target, options: { size: number; chunked: boolean }) {
  return new Promise<Outcome>((resolve) => {
    const socket = target.open()
    socket.pause()
    const received: Buffer[] = []
    let failure: string | undefined
    socket.on('data', (c: Buffer) => received.push(c))
    socket.on('error', (e: NodeJS.ErrnoException) => {
      failure ??= e.code ?? String(e)
      socket.resume()
    })
    socket.on('close', () => {
      const text = Buffer.concat(received).toString('utf8')
      const status = /^HTTP\/1\.1 (\d{3}) /.exec(text)?.[1]
      const at = text.indexOf('\r\n\r\n')
      if (!status || at < 0) return resolve({ error: failure ?? 'no answer' })
      resolve({ status: Number(status), body: text.slice(at + 4) })
    })
    const piece = Buffer.alloc(64 * 1024, 0x20)
    const chunkHead = `${piece.length.toString(16)}\r\n`
    let sent = 0
    const step = () => {
      if (socket.destroyed) return
      if (sent >= options.size) {
        // Read only once everything was written: the blocking client's order.
        return void socket.end(options.chunked ? '0\r\n\r\n' : '', () => socket.resume())
      }
      sent += piece.length
      if (options.chunked) socket.write(chunkHead)
      socket.write(piece)
      if (options.chunked) socket.write('\r\n')
      setTimeout(step, 1)
    }
    socket.once(socket instanceof TLSSocket ? 'secureConnect' : 'connect', () => {
      socket.write(
        target.head +
          'Connection: close\r\n' +
          (options.chunked
            ? 'Transfer-Encoding: chunked\r\n\r\n'
            : `Content-Length: ${options.size}\r\n\r\n`),
      )
      step()
    })
  })
}

/** Runs 2 rounds of 4 such clients at once; asserts none saw an error, returns their answers. */
async function everyClientAnswered(target: Target, chunked: boolean): Promise<Outcome[]> {
  const outcomes: Outcome[] = []
  for (let round = 0; round < 2; round++) {
    const batch = Array.from({ length: 4 }, () =>
      sendThenRead(target, { size: 3 * 1024 * 1024, chunked }),
    )
    outcomes.push(...(await Promise.all(batch)))
  }
  const failed = outcomes.filter((o) => o.error !== undefined)
  assert.deepEqual(failed, [], `${failed.length} of ${outcomes.length} clients saw an error`)
  return outcomes
}

describe('a body over the limit', () => {
  let kw: TestServer
  before(async () => {
    kw = await startKeyward()
  })
  after(() => kw.close())

  for (const chunked of [false, true]) {
    it(`answers every client that sends 3 MiB ${chunked ? 'chunked' : 'with Content-Length'} with the 413`, async () => {
      // Without the lingering read every one of these clients saw ECONNRESET.
      for (const o of await everyClientAnswered(kmsTarget(kw.endpoint), chunked)) {
        assert.equal(o.status, 413)
        assert.deepEqual(JSON.parse(o.body!), TOO_LARGE)
      }
    })
  }

  it('the STS endpoint answers a client still sending too', async () => {
    const url = new URL(kw.endpoint)
    const sts: Target = {
      open: () => connect(Number(url.port), url.hostname),
      head: `POST / HTTP/1.1\r\nHost: ${url.host}\r\nContent-Type: application/x-www-form-urlencoded\r\n`,
    }
    for (const o of await everyClientAnswered(sts, false)) {
      assert.equal(o.status, 413)
      assert.match(o.body!, /<Code>RequestEntityTooLarge<\/Code>/)
    }
  })

  it("Keyward's XKS proxy answers a client still sending too", async () => {
    const pki = createTestPki()
    const xks = await startConfiguredXksProxy({ pki })
    try {
      const url = new URL(xks.endpoint)
      const proxy: Target = {
        open: () => tlsConnect({ host: url.hostname, port: Number(url.port), ca: pki.ca.certPem }),
        head:
          `POST ${xks.uriPath}/keys/foo/encrypt HTTP/1.1\r\nHost: ${url.host}\r\n` +
          'Content-Type: application/json\r\n',
      }
      for (const o of await everyClientAnswered(proxy, false)) {
        assert.equal(o.status, 501)
        assert.match(o.body!, /request body is larger than/)
      }
    } finally {
      await xks.stop()
    }
  })

  it('reads no more than its discard bound of a huge body, then closes', async () => {
    const size = 64 * 1024 * 1024
    const written = await sendUntilClosed(kw.endpoint, size)
    // DISCARD_LIMITS.maxBytes (8 MiB) plus what the kernel's socket buffers hold.
    assert.ok(written < size / 2, `the server read ${written} bytes of a refused body`)
  })
})

/**
 * Declares a `size`-byte body and writes it as fast as the connection takes it; resolves with
 * the bytes handed to the socket when it closed (or `size` if it never closed early).
 */
function sendUntilClosed(endpoint: string, size: number): Promise<number> {
  const url = new URL(endpoint)
  return new Promise((resolve) => {
    let written = 0
    const socket = connect(Number(url.port), url.hostname)
    const piece = Buffer.alloc(64 * 1024, 0x20)
    const write = () => {
      while (written < size && !socket.destroyed) {
        written += piece.length
        if (!socket.write(piece)) return void socket.once('drain', write)
      }
    }
    socket.on('error', () => {})
    socket.on('close', () => resolve(written))
    socket.on('connect', () => {
      socket.write(
        `POST / HTTP/1.1\r\nHost: ${url.host}\r\nContent-Type: application/x-amz-json-1.1\r\n` +
          `X-Amz-Target: TrentService.GenerateRandom\r\nContent-Length: ${size}\r\n\r\n`,
      )
      write()
    })
    socket.resume()
  })
}
