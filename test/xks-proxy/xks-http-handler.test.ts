import assert from 'node:assert/strict'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { after, before, describe, it } from 'node:test'
import { XksProxyStore } from '../../src/adapters/store-sql/xks-proxy-store.js'
import { systemClock } from '../../src/ports/clock.js'
import { credentialTable } from '../../src/xks-proxy/authenticate.js'
import { DEFAULT_LIMITS } from '../../src/xks-proxy/config.js'
import { generateCredential } from '../../src/xks-proxy/credentials.js'
import { HealthChecker } from '../../src/xks-proxy/health.js'
import type { XksKeyManager } from '../../src/xks-proxy/key-manager.js'
import { createXksRequestListener } from '../../src/xks-proxy/xks-http-handler.js'
import { xksRequest, type XksTarget } from '../support/xks-client.js'
import { capturingLogger, encryptWith, expectXksError } from './support.js'

/**
 * The request pipeline with a key manager that misbehaves on purpose: a hung dependency is
 * 503 DependencyTimeoutException, an unexpected failure 500 InternalException.
 */

describe('XKS request pipeline and a failing key manager', () => {
  let server: Server
  let store: XksProxyStore
  let target: XksTarget
  const logger = capturingLogger()
  const credential = generateCredential()

  before(async () => {
    store = await XksProxyStore.open(':memory:')
    const keyManager: XksKeyManager = {
      kind: 'fake',
      describeKey: async () => ({ keySpec: 'AES_256', keyUsage: ['ENCRYPT', 'DECRYPT'] }),
      encrypt: (id) =>
        id === 'hangs' ? new Promise(() => {}) : Promise.reject(new Error('CKR_DEVICE_ERROR')),
      decrypt: () => Promise.reject(new Error('unused')),
      ekm: async () => ({ vendor: 'Acme', id: '1', model: 'm' }),
      createKey: async () => {},
      deleteKey: async () => true,
      listKeys: async () => [],
      close: async () => {},
    }
    const listener = createXksRequestListener({
      runtime: () => ({
        region: 'us-east-1',
        keyStores: new Map([
          ['/kms/xks/v1', { uriPath: '/kms/xks/v1', credentials: credentialTable([credential]) }],
        ]),
      }),
      context: {
        keyManager,
        store,
        health: new HealthChecker({ keyManager, healthKeyId: 'h', clock: systemClock, cacheMs: 0 }),
        limits: DEFAULT_LIMITS,
        fleetSize: 1,
      },
      limits: DEFAULT_LIMITS,
      clock: systemClock,
      logger,
      operationTimeoutMs: 100,
    })
    server = createServer(listener)
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    target = {
      endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      uriPath: '/kms/xks/v1',
      credential: {
        AccessKeyId: credential.accessKeyId,
        RawSecretAccessKey: credential.secretAccessKey,
      },
    }
  })
  after(async () => {
    await new Promise((resolve) => server?.close(resolve))
    await store?.close()
  })

  it('a key manager that does not answer in time: 503 DependencyTimeoutException', async () => {
    const r = await encryptWith(target, 'hangs', { plaintext: Buffer.from('x') })
    expectXksError(r, 503, 'DependencyTimeoutException', 'The key manager did not answer in time.')
  })

  it('an unexpected key manager failure: 500 InternalException, the cause only in the log', async () => {
    const r = await encryptWith(target, 'fails', { plaintext: Buffer.from('x') })
    expectXksError(r, 500, 'InternalException', /^An internal error occurred\. Request ID: /)
    assert.ok(!r.text.includes('CKR_DEVICE_ERROR'))
    const requestId = String(r.json!.errorMessage).split('Request ID: ')[1]
    assert.equal(r.headers['x-request-id'], requestId)
    assert.ok(logger.lines.some((l) => l.includes(requestId!) && l.includes('CKR_DEVICE_ERROR')))
  })

  it('the root path prefix (none) works, the empty prefix is the only one', async () => {
    const r = await xksRequest(target, {
      path: 'health',
      body: { requestMetadata: { kmsRequestId: 'x', kmsOperation: 'KmsHealthCheck' } },
    })
    assert.equal(r.status, 200, r.text)
    assert.equal(
      (r.json!.ekmFleetDetails as Array<{ healthStatus: string }>)[0]!.healthStatus,
      'UNAVAILABLE',
    )
  })
})
