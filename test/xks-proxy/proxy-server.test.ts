import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { generateCredential } from '../../src/xks-proxy/credentials.js'
import { createTestPki, type TestPki } from '../support/test-pki.js'
import { xksRequest } from '../support/xks-client.js'
import { startConfiguredXksProxy } from '../support/xks-proxy.js'
import { expectXksError } from './support.js'

/** The server around the API: quotas, credential rotation and reload, mutual TLS, plain HTTP. */

const HEALTH = { requestMetadata: { kmsRequestId: 'r-1', kmsOperation: 'KmsHealthCheck' } }
const asTarget = (c: { accessKeyId: string; secretAccessKey: string }) => ({
  AccessKeyId: c.accessKeyId,
  RawSecretAccessKey: c.secretAccessKey,
})

describe('XKS proxy server', () => {
  let pki: TestPki
  before(() => {
    pki = createTestPki()
  })
  after(() => pki?.remove())

  it('throttles each key store on its own quota: 429 ThrottlingException', async () => {
    const b = generateCredential()
    const xks = await startConfiguredXksProxy({
      pki,
      configure: (s) => ({
        ...s,
        keyStores: [
          { ...s.keyStores[0]!, throttle: { requestsPerSecond: 0.001, burst: 3 } },
          { uriPath: '/tenant-b/kms/xks/v1', credentials: [b] },
        ],
      }),
    })
    try {
      const statuses = []
      for (let i = 0; i < 4; i++)
        statuses.push((await xksRequest(xks, { path: 'health', body: HEALTH })).status)
      assert.deepEqual(statuses, [200, 200, 200, 429])
      expectXksError(
        await xksRequest(xks, { path: 'health', body: HEALTH }),
        429,
        'ThrottlingException',
        'The request rate of key store /tenant-a/kms/xks/v1 is above its quota.',
      )
      const other = { ...xks, uriPath: '/tenant-b/kms/xks/v1', credential: asTarget(b) }
      assert.equal((await xksRequest(other, { path: 'health', body: HEALTH })).status, 200)
      // Unauthenticated requests do not spend a key store's quota.
      const b2 = await xksRequest(other, { path: 'health', body: HEALTH, sign: false })
      assert.equal(b2.status, 401)
    } finally {
      await xks.stop()
    }
  })

  it('rotates credentials: two pairs at once, then the old one removed by a reload', async () => {
    const oldPair = generateCredential()
    const newPair = generateCredential()
    const xks = await startConfiguredXksProxy({
      pki,
      configure: (s) => ({
        ...s,
        keyStores: [{ uriPath: s.keyStores[0]!.uriPath, credentials: [oldPair] }],
      }),
    })
    try {
      const as = (c: typeof oldPair) =>
        xksRequest({ ...xks, credential: asTarget(c) }, { path: 'health', body: HEALTH })
      assert.equal((await as(oldPair)).status, 200)
      assert.equal((await as(newPair)).status, 401)
      const both = {
        ...xks.settings,
        keyStores: [{ uriPath: xks.uriPath, credentials: [oldPair, newPair] }],
      }
      assert.deepEqual(xks.proxy.reload(both), [])
      assert.equal((await as(oldPair)).status, 200)
      assert.equal((await as(newPair)).status, 200)
      assert.deepEqual(
        xks.proxy.reload({
          ...both,
          keyStores: [{ uriPath: xks.uriPath, credentials: [newPair] }],
        }),
        [],
      )
      expectXksError(await as(oldPair), 401, 'AuthenticationFailedException')
      assert.equal((await as(newPair)).status, 200)
      // Key stores come and go with a reload too; what needs a restart is said.
      assert.deepEqual(xks.proxy.reload({ ...both, port: 1, fleetSize: 2 }), ['port', 'fleetSize'])
      const gone = await xksRequest(
        { ...xks, credential: asTarget(newPair) },
        { rawPath: '/tenant-a/kms/xks/v1/health', body: HEALTH },
      )
      assert.equal(gone.status, 200)
    } finally {
      await xks.stop()
    }
  })

  it('reports the key manager UNAVAILABLE when the deep check fails (no health key)', async () => {
    const xks = await startConfiguredXksProxy({
      pki,
      configure: (s) => ({ ...s, healthCacheSeconds: 0 }),
    })
    try {
      const before = await xksRequest(xks, { path: 'health', body: HEALTH })
      // ACTIVE, or DEGRADED when this busy machine made the round trip slower than 100 ms.
      assert.match(
        (before.json!.ekmFleetDetails as Array<{ healthStatus: string }>)[0]!.healthStatus,
        /^(ACTIVE|DEGRADED)$/,
      )
      assert.ok(await xks.proxy.keyManager.deleteKey(xks.settings.healthKeyId))
      const r = await xksRequest(xks, { path: 'health', body: HEALTH })
      assert.equal(r.status, 200, 'health still answers; the status says it')
      assert.equal(
        (r.json!.ekmFleetDetails as Array<{ healthStatus: string }>)[0]!.healthStatus,
        'UNAVAILABLE',
      )
    } finally {
      await xks.stop()
    }
  })

  describe('mutual TLS', () => {
    const mtls = () =>
      startConfiguredXksProxy({
        pki,
        configure: (s) => ({
          ...s,
          tls: {
            ...s.tls!,
            clientCaPem: pki.ca.certPem,
            clientNames: ['cks.kms.us-east-1.amazonaws.com'],
          },
        }),
      })

    it('accepts the configured CA and subject name', async () => {
      const xks = await mtls()
      try {
        const r = await xksRequest(xks, { path: 'health', body: HEALTH, clientCert: pki.client })
        assert.equal(r.status, 200, r.text)
      } finally {
        await xks.stop()
      }
    })

    it('ends the connection without a certificate, with another CA, or with another name', async () => {
      const xks = await mtls()
      const stranger = pki.issue({ commonName: 'cks.kms.eu-west-1.amazonaws.com' })
      try {
        const refused = async (clientCert?: { certPem: string; keyPem: string }) => {
          await assert.rejects(
            xksRequest(xks, {
              path: 'health',
              body: HEALTH,
              ...(clientCert ? { clientCert } : {}),
            }),
            (e: NodeJS.ErrnoException) => {
              assert.match(`${e.code} ${e.message}`, /ECONNRESET|socket hang up|alert|certificate/i)
              return true
            },
          )
        }
        await refused()
        await refused(pki.otherCa)
        await refused(stranger)
      } finally {
        await xks.stop()
      }
    })
  })

  it('serves plain HTTP only when told to, and GET /ping on its own port', async () => {
    const xks = await startConfiguredXksProxy({
      pki,
      configure: ({ tls: _tls, ...s }) => ({ ...s, plainHttp: true, pingPort: 0 }),
    })
    try {
      assert.match(xks.endpoint, /^http:\/\//)
      assert.equal((await xksRequest(xks, { path: 'health', body: HEALTH })).status, 200)
    } finally {
      await xks.stop()
    }
  })
})
