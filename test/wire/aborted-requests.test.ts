import assert from 'node:assert/strict'
import { connect } from 'node:net'
import { after, before, describe, it } from 'node:test'
import { startKeyward, type TestServer } from '../support/keyward-server.js'

/**
 * Issue 10, item 4: the body is read before authentication, so anyone can open a request and
 * close it mid-body. That is a debug event without a stack trace, never an error-level line.
 */

/** Sends the head of a request and half of its declared body, then closes the connection. */
function abortMidBody(endpoint: string): Promise<void> {
  const url = new URL(endpoint)
  return new Promise((resolve) => {
    const socket = connect(Number(url.port), url.hostname, () => {
      socket.write(
        `POST / HTTP/1.1\r\nHost: ${url.host}\r\nContent-Type: application/x-amz-json-1.1\r\n` +
          `X-Amz-Target: TrentService.GenerateRandom\r\nContent-Length: 100\r\n\r\n{"Number`,
      )
      // Let the server start reading the body before the connection goes away.
      setTimeout(() => socket.destroy(), 50)
    })
    socket.on('close', () => resolve())
  })
}

/** Resolves once `check` holds, or fails after `ms`. */
async function eventually(check: () => boolean, ms = 2_000): Promise<void> {
  for (const start = Date.now(); !check();) {
    if (Date.now() - start > ms) assert.fail('timed out waiting for the log line')
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

describe('a request aborted mid-body', () => {
  let kw: TestServer
  before(async () => {
    kw = await startKeyward()
  })
  after(() => kw.close())

  it('is logged at debug level, with its request ID and no stack, and never as an error', async () => {
    await abortMidBody(kw.endpoint)
    await eventually(() => kw.logger.debugLines.length > 0 || kw.logger.lines.length > 0)
    // Give a wrongly classified error line the same chance to appear.
    await new Promise((resolve) => setTimeout(resolve, 50))
    assert.deepEqual(kw.logger.lines, [])
    assert.equal(kw.logger.debugLines.length, 1)
    const line = JSON.parse(kw.logger.debugLines[0]!) as Record<string, unknown>
    assert.deepEqual(Object.keys(line).sort(), ['message', 'requestId'])
    assert.equal(line.message, 'request aborted')
    assert.match(String(line.requestId), /^[0-9a-f-]{36}$/)
  })
})
