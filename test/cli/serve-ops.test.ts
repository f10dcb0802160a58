import assert from 'node:assert/strict'
import { createServer } from 'node:net'
import { after, describe, it } from 'node:test'
import { CreateKeyCommand } from '@aws-sdk/client-kms'
import { runKeyward, serveSandbox } from '../support/cli-process.js'

/** `keyward serve --metrics-port --metrics-token --log-level`: the operator's options. */

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}

const run = (args: string[], env: Record<string, string> = {}) =>
  runKeyward(args, { env, timeoutMs: 20_000 })

describe('keyward serve: metrics, health and logs', () => {
  const box = serveSandbox('keyward-ops-')
  after(() => box.cleanup())

  it('serves /metrics on --metrics-port and logs each request as JSON with its request ID', async () => {
    const metricsPort = await freePort()
    const kw = await box.serve(
      ['--dev', '--port', '0', '--data-dir', box.tempDir(), '--log-level', 'debug'],
      { KEYWARD_METRICS_PORT: String(metricsPort) },
    )
    const kms = box.devClient(kw.url)
    const { $metadata } = await kms.send(new CreateKeyCommand({}))
    const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text()
    assert.match(metrics, /^keyward_requests_total\{operation="CreateKey"\} 1$/m)
    assert.equal((await fetch(`http://127.0.0.1:${metricsPort}/readyz`)).status, 200)
    // The KMS port has no token set, so it does not serve /metrics.
    assert.equal((await fetch(`${kw.url}/metrics`)).status, 400)
    const lines = kw
      .stderr()
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as Record<string, unknown>)
    const line = lines.find((l) => l.requestId === $metadata.requestId)
    assert.ok(line, kw.stderr())
    assert.equal(line.level, 'debug')
    assert.equal(line.message, 'request')
    assert.equal(line.operation, 'CreateKey')
    assert.match(String(line.time), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/)
  })

  it('writes no debug line at the default level', async () => {
    const kw = await box.serve(['--dev', '--port', '0', '--data-dir', box.tempDir()])
    const kms = box.devClient(kw.url)
    await kms.send(new CreateKeyCommand({}))
    assert.doesNotMatch(kw.stderr(), /"level":"debug"/)
  })

  it('refuses a bad --log-level, --metrics-port or --metrics-token before starting', () => {
    const cases: Array<[string[], string]> = [
      [['--log-level', 'loud'], 'invalid log level: loud (one of error, info, debug)'],
      [['--metrics-port', '70000'], 'invalid port: 70000'],
      [
        ['--metrics-token', 'short'],
        '--metrics-token must be at least 16 printable ASCII characters, no spaces',
      ],
    ]
    for (const [args, message] of cases) {
      const r = run(['serve', '--dev', '--port', '0', ...args])
      assert.equal(r.status, 1, r.stderr)
      assert.equal(r.stderr, `${message}\n`)
    }
  })
})
