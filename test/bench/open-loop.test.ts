import assert from 'node:assert/strict'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { test } from 'node:test'
import { completeAnswer, runOpenLoop } from '../../bench/open-loop.js'

/** A server that answers at once, except that it holds every answer due in [from, to) ms. */
async function stallingServer(stall: { fromMs: number; toMs: number }): Promise<Server> {
  const started = performance.now()
  const server = createServer((req, res) => {
    req.resume()
    req.on('end', () => {
      const at = performance.now() - started
      const answer = () => res.writeHead(200, { 'content-length': 2 }).end('{}')
      if (at >= stall.fromMs && at < stall.toMs) setTimeout(answer, stall.toMs - at)
      else answer()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return server
}

test('latency counts from the scheduled send time, so a stall delays every request due in it', async () => {
  // 100 requests/s for 1 s over one connection; the server stalls from 150 to 750 ms. A closed
  // loop would see one slow request (p50 near zero); the schedule puts ~60 of 100 in the stall,
  // waiting up to 600 ms each.
  const server = await stallingServer({ fromMs: 150, toMs: 750 })
  try {
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    const result = await runOpenLoop(
      { url, body: '{}', sign: async () => ({ 'content-type': 'application/json' }) },
      { rate: 100, seconds: 1, connections: 1 },
    )
    assert.equal(result.ok, 100)
    assert.equal(result.failed, 0)
    assert.ok(result.p50Ms > 100, `p50 ${result.p50Ms} ms`)
    assert.ok(result.p99Ms > 450, `p99 ${result.p99Ms} ms`)
  } finally {
    server.close()
  }
})

test('an answer is complete once its Content-Length bytes are in', () => {
  const head = 'HTTP/1.1 403 Forbidden\r\ncontent-type: x\r\nContent-Length: 4\r\n\r\n'
  assert.equal(completeAnswer(Buffer.from(head + '{}')), undefined)
  assert.equal(completeAnswer(Buffer.from(head + '{"}}')), 403)
  assert.equal(completeAnswer(Buffer.from('HTTP/1.1 200 OK\r\ncontent-le')), undefined)
  assert.throws(
    () => completeAnswer(Buffer.from('HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n')),
    { name: 'Error', message: 'answer without Content-Length: HTTP/1.1 200 OK' },
  )
})
