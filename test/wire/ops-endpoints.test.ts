import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import {
  CreateKeyCommand,
  DecryptCommand,
  DisableKeyCommand,
  EncryptCommand,
  type KMSClient,
} from '@aws-sdk/client-kms'
import { startKeyward, type TestServer } from '../support/keyward-server.js'
import { ImportWorkspace, importMaterial } from '../support/key-import.js'
import { DEFAULT_RESOURCE_QUOTAS } from '../../src/domain/quotas.js'

/** One sample of a scrape: the metric name, its labels and its value. */
interface Sample {
  readonly name: string
  readonly labels: Readonly<Record<string, string>>
  readonly value: number
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/
const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/
const LABEL = /\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*(?:,|$)/y

/**
 * A strict parser of the Prometheus text exposition format (version 0.0.4): every line is a
 * HELP, a TYPE (before the family's samples, once) or a sample of a declared family; label
 * values unescape \\, \" and \n. Anything else fails the test.
 */
function parseExposition(text: string): { samples: Sample[]; types: Map<string, string> } {
  assert.ok(text.endsWith('\n'), 'the exposition ends with a newline')
  const types = new Map<string, string>()
  const samples: Sample[] = []
  for (const line of text.slice(0, -1).split('\n')) {
    if (line === '') continue
    const comment = /^# (HELP|TYPE) (\S+) (.*)$/.exec(line)
    if (comment) {
      assert.match(comment[2]!, NAME, line)
      if (comment[1] === 'TYPE') {
        assert.ok(!types.has(comment[2]!), `TYPE given twice: ${line}`)
        assert.ok(
          ['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(comment[3]!),
          line,
        )
        types.set(comment[2]!, comment[3]!)
      }
      continue
    }
    const m = SAMPLE.exec(line)
    assert.ok(m, `not a sample line: ${line}`)
    const labels: Record<string, string> = {}
    if (m[2]) {
      LABEL.lastIndex = 0
      while (LABEL.lastIndex < m[2].length) {
        const at = LABEL.lastIndex
        const l = LABEL.exec(m[2])
        assert.ok(l && l.index === at, `bad labels: ${line}`)
        labels[l[1]!] = l[2]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c))
      }
    }
    const family = m[1]!.replace(/_(bucket|sum|count)$/, '')
    assert.ok(types.has(m[1]!) || types.get(family) === 'histogram', `no TYPE for ${line}`)
    const value = Number(m[3] === '+Inf' ? Infinity : m[3])
    assert.ok(!Number.isNaN(value), line)
    samples.push({ name: m[1]!, labels, value })
  }
  return { samples, types }
}

/** The value of the one sample of `name` whose labels include `labels`. */
function valueOf(samples: Sample[], name: string, labels: Record<string, string> = {}) {
  const found = samples.filter(
    (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  )
  assert.equal(found.length, 1, `${name} ${JSON.stringify(labels)}: ${found.length} samples`)
  return found[0]!.value
}

const TOKEN = 'scrape-token-for-tests'

async function scrape(url: string, token?: string) {
  const res = await fetch(url, token ? { headers: { authorization: `Bearer ${token}` } } : {})
  return { status: res.status, headers: res.headers, text: await res.text() }
}

describe('GET /metrics', () => {
  let kw: TestServer
  let kms: KMSClient
  const ws = new ImportWorkspace()
  before(async () => {
    kw = await startKeyward({
      metrics: { token: TOKEN, inventoryTtlMs: 0 },
      quotas: {
        resources: DEFAULT_RESOURCE_QUOTAS,
        requestRates: { overrides: { DisableKey: 1 } },
      },
    })
    kms = kw.client()
  })
  after(async () => {
    await kw.close()
    ws.remove()
  })

  it('refuses a scrape without the bearer token, or with another one, with 401', async () => {
    for (const token of [undefined, 'wrong-token', TOKEN + 'x']) {
      const res = await scrape(`${kw.endpoint}/metrics`, token)
      assert.equal(res.status, 401)
      assert.equal(res.headers.get('www-authenticate'), 'Bearer realm="keyward-metrics"')
      assert.equal(res.text, '')
    }
  })

  it('counts requests, errors by exception name, latency, throttling, keys and expiry', async () => {
    const { KeyMetadata } = await kms.send(new CreateKeyCommand({}))
    const keyId = KeyMetadata!.KeyId!
    for (let i = 0; i < 2; i++) {
      await kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('metrics') }))
    }
    await assert.rejects(
      kms.send(new DecryptCommand({ CiphertextBlob: Buffer.alloc(60, 1) })),
      (e: Error) => e.name === 'InvalidCiphertextException',
    )
    // DisableKey's quota is 1 per second here: the second call in the same second is throttled.
    const second = await kms.send(new CreateKeyCommand({}))
    await kms.send(new DisableKeyCommand({ KeyId: keyId }))
    await assert.rejects(
      kms.send(new DisableKeyCommand({ KeyId: second.KeyMetadata!.KeyId! })),
      (e: Error) => e.name === 'ThrottlingException',
    )
    const external = await kms.send(new CreateKeyCommand({ Origin: 'EXTERNAL' }))
    const validTo = new Date(Date.now() + 3_600_000)
    await importMaterial(kms, ws, {
      keyId: external.KeyMetadata!.KeyId!,
      material: ws.rand(32),
      input: { ExpirationModel: 'KEY_MATERIAL_EXPIRES', ValidTo: validTo },
    })
    // The scheduler runs at start: wait for that run, then one more is counted.
    const job = { job: 'rotate keys whose automatic rotation is due' }
    await kw.keyward.scheduler.runOnce()
    const runs = async () =>
      valueOf(
        parseExposition((await scrape(`${kw.endpoint}/metrics`, TOKEN)).text).samples,
        'keyward_scheduler_runs_total',
        job,
      )
    const runsBefore = await runs()
    await kw.keyward.scheduler.runOnce()
    const res = await scrape(`${kw.endpoint}/metrics`, TOKEN)
    assert.equal(res.status, 200)
    assert.match(res.headers.get('content-type')!, /^text\/plain; version=0\.0\.4/)
    const { samples, types } = parseExposition(res.text)
    assert.equal(types.get('keyward_requests_total'), 'counter')
    assert.equal(types.get('keyward_request_duration_seconds'), 'histogram')
    assert.equal(valueOf(samples, 'keyward_requests_total', { operation: 'Encrypt' }), 2)
    assert.equal(valueOf(samples, 'keyward_requests_total', { operation: 'CreateKey' }), 3)
    assert.equal(
      valueOf(samples, 'keyward_request_errors_total', {
        operation: 'Decrypt',
        exception: 'InvalidCiphertextException',
      }),
      1,
    )
    assert.equal(
      valueOf(samples, 'keyward_request_errors_total', {
        operation: 'DisableKey',
        exception: 'ThrottlingException',
      }),
      1,
    )
    assert.equal(
      valueOf(samples, 'keyward_throttled_requests_total', { operation: 'DisableKey' }),
      1,
    )
    assert.equal(
      valueOf(samples, 'keyward_request_duration_seconds_count', { operation: 'Encrypt' }),
      2,
    )
    assert.equal(
      valueOf(samples, 'keyward_request_duration_seconds_bucket', {
        operation: 'Encrypt',
        le: '+Inf',
      }),
      2,
    )
    assert.equal(
      valueOf(samples, 'keyward_keys', { state: 'Disabled', spec: 'SYMMETRIC_DEFAULT' }),
      1,
    )
    assert.equal(
      valueOf(samples, 'keyward_keys', { state: 'Enabled', spec: 'SYMMETRIC_DEFAULT' }),
      2,
    )
    const seconds = valueOf(samples, 'keyward_seconds_until_key_material_expiration', {
      region: 'us-east-1',
      key_id: external.KeyMetadata!.KeyId!,
    })
    assert.ok(seconds > 3_500 && seconds <= 3_600, String(seconds))
    assert.equal(valueOf(samples, 'keyward_scheduler_runs_total', job), runsBefore + 1)
    assert.equal(valueOf(samples, 'keyward_scheduler_failures_total', job), 0)
    // Declared even before any custom key store, session pool or XKS call exists.
    for (const family of [
      'keyward_custom_key_store_connection_state',
      'keyward_hsm_sessions_open',
      'keyward_xks_proxy_request_duration_seconds',
      'keyward_xks_proxy_errors_total',
      'keyward_xks_health_status',
    ]) {
      assert.ok(types.has(family), family)
    }
  })
})

describe('the operator endpoints', () => {
  it('do not serve /metrics on the KMS port unless a token or a metrics port is set', async () => {
    const kw = await startKeyward()
    try {
      const res = await scrape(`${kw.endpoint}/metrics`, undefined)
      assert.equal(res.status, 400)
      assert.deepEqual(JSON.parse(res.text), { __type: 'UnknownOperationException' })
    } finally {
      await kw.close()
    }
  })

  it('serve /metrics, /healthz and /readyz on --metrics-port, and /metrics only there', async () => {
    const kw = await startKeyward({ metrics: { port: 0 } })
    try {
      const port = (kw.keyward.metricsServer()!.address() as { port: number }).port
      const base = `http://127.0.0.1:${port}`
      const res = await scrape(`${base}/metrics`, undefined)
      assert.equal(res.status, 200)
      parseExposition(res.text)
      assert.equal((await scrape(`${kw.endpoint}/metrics`, undefined)).status, 400)
      assert.deepEqual(JSON.parse((await scrape(`${base}/healthz`)).text), { status: 'ok' })
      assert.equal((await scrape(`${base}/readyz`)).status, 200)
      assert.equal((await scrape(`${base}/other`)).status, 404)
      // A scrape sees the KMS port's requests: one registry per process.
      await kw.client().send(new CreateKeyCommand({}))
      const { samples } = parseExposition((await scrape(`${base}/metrics`)).text)
      assert.equal(valueOf(samples, 'keyward_requests_total', { operation: 'CreateKey' }), 1)
    } finally {
      await kw.close()
    }
  })

  it('answer /healthz and /readyz on the KMS port within 50 ms, with each check', async () => {
    const kw = await startKeyward()
    try {
      await fetch(`${kw.endpoint}/readyz`) // the first connection
      for (const path of ['/healthz', '/readyz']) {
        // The fastest of five: the machine running the tests may be busy with other work.
        let fastest = Infinity
        let res: Awaited<ReturnType<typeof scrape>> | undefined
        for (let i = 0; i < 5; i++) {
          const started = performance.now()
          res = await scrape(`${kw.endpoint}${path}`, undefined)
          fastest = Math.min(fastest, performance.now() - started)
          assert.equal(res.status, 200)
          assert.equal(res.headers.get('content-type'), 'application/json')
        }
        assert.ok(fastest < 50, `${path} took ${fastest} ms`)
        if (path === '/readyz') {
          assert.deepEqual(JSON.parse(res!.text), {
            status: 'ready',
            checks: { store: 'ok', rootKey: 'ok' },
          })
        }
      }
    } finally {
      await kw.close()
    }
  })

  it('answer /readyz with 503 and the failure of each check, a hanging one within its deadline', async () => {
    const kw = await startKeyward({
      readinessChecks: [
        { name: 'audit', check: () => Promise.reject(new Error('audit directory not writable')) },
        { name: 'hangs', check: () => new Promise<void>(() => {}) },
      ],
    })
    try {
      const started = performance.now()
      const res = await scrape(`${kw.endpoint}/readyz`, undefined)
      assert.ok(performance.now() - started < 200)
      assert.equal(res.status, 503)
      assert.deepEqual(JSON.parse(res.text), {
        status: 'not ready',
        checks: {
          store: 'ok',
          rootKey: 'ok',
          audit: 'audit directory not writable',
          hangs: 'no answer within 40 ms',
        },
      })
    } finally {
      await kw.close()
    }
  })
})

describe('the audit trail in /metrics and /readyz', () => {
  it('shows the write lag, the queue and whether the trail is writable; not ready when not', async () => {
    const state = { queued: 3, lagMs: 1500, failed: false }
    const kw = await startKeyward({
      metrics: { token: TOKEN },
      audit: { record() {}, status: () => ({ ...state }) },
    })
    try {
      const scraped = async () =>
        parseExposition((await scrape(`${kw.endpoint}/metrics`, TOKEN)).text).samples
      let samples = await scraped()
      assert.equal(valueOf(samples, 'keyward_audit_write_lag_seconds'), 1.5)
      assert.equal(valueOf(samples, 'keyward_audit_queued_events'), 3)
      assert.equal(valueOf(samples, 'keyward_audit_writable'), 1)
      assert.equal((await fetch(`${kw.endpoint}/readyz`)).status, 200)
      state.failed = true
      samples = await scraped()
      assert.equal(valueOf(samples, 'keyward_audit_writable'), 0)
      const readyz = await fetch(`${kw.endpoint}/readyz`)
      assert.equal(readyz.status, 503)
      const body = (await readyz.json()) as { checks: Record<string, string> }
      assert.equal(body.checks.audit, 'the audit trail cannot be written')
    } finally {
      await kw.close()
    }
  })
})
