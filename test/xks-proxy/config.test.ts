import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { describe, it } from 'node:test'
import { REPO_ROOT } from '../support/cli-process.js'
import {
  DEFAULT_HEALTH_KEY_ID,
  DEFAULT_LIMITS,
  parseXksProxyConfig,
  resolveXksProxyConfig,
  XksConfigError,
} from '../../src/xks-proxy/config.js'
import { consoleConfiguration, generateCredential } from '../../src/xks-proxy/credentials.js'

const SECRET = 'FYtE5EFA5FT0mCc3DrGUe2sti527BitkQ0Zr9MO9fvE'
const minimal = () => ({
  tls: { certFile: 'cert.pem', keyFile: 'key.pem' },
  dataDir: 'data',
  keyStores: [
    {
      uriPath: '/keystores/a/kms/xks/v1',
      credentials: [{ accessKeyId: 'AKIAI2SFODNN7EXAMPLE', secretAccessKey: SECRET }],
    },
  ],
})

const refuses = (value: unknown, message: string | RegExp) =>
  assert.throws(
    () => parseXksProxyConfig(value, { baseDir: '/etc/kw' }),
    (e: unknown) => {
      assert.ok(e instanceof XksConfigError)
      if (typeof message === 'string') assert.equal(e.message, message)
      else assert.match(e.message, message)
      assert.ok(!e.message.includes(SECRET.slice(0, 20)), 'never echoes a secret')
      return true
    },
  )

describe('XKS proxy configuration', () => {
  it('fills in defaults and resolves paths against the file', () => {
    const c = parseXksProxyConfig(minimal(), { baseDir: '/etc/kw' })
    assert.equal(c.host, '127.0.0.1')
    assert.equal(c.port, 8443)
    assert.equal(c.region, 'us-east-1')
    assert.equal(c.dataDir, '/etc/kw/data')
    assert.deepEqual(c.tls, { certFile: '/etc/kw/cert.pem', keyFile: '/etc/kw/key.pem' })
    assert.deepEqual(c.backend, { type: 'local' })
    assert.equal(c.healthKeyId, DEFAULT_HEALTH_KEY_ID)
    assert.equal(c.healthCacheSeconds, 10)
    assert.deepEqual(c.limits, DEFAULT_LIMITS)
    assert.equal(c.plainHttp, false)
  })

  it('refuses what cannot be right, naming the member', () => {
    const with_ = (change: (c: ReturnType<typeof minimal>) => unknown) => {
      const c = minimal()
      return change(c) ?? c
    }
    refuses(
      with_((c) => ({ ...c, prot: 1 })),
      /^config\.prot: unknown member/,
    )
    refuses(
      with_((c) => ({ ...c, tls: undefined })),
      /^tls: is required/,
    )
    refuses(
      with_((c) => ({ ...c, keyStores: [] })),
      'keyStores: must list at least one key store',
    )
    refuses(
      with_((c) => void (c.keyStores[0]!.uriPath = '/a/kms/xks/v2')),
      /keyStores\[0\]\.uriPath: must be/,
    )
    refuses(
      with_((c) => void (c.keyStores[0]!.uriPath = '/a//kms/xks/v1')),
      /uriPath: must be/,
    )
    refuses(
      with_((c) => void (c.keyStores[0]!.credentials[0]!.accessKeyId = 'akia-lower-case-000000')),
      /accessKeyId: does not match/,
    )
    refuses(
      with_((c) => void (c.keyStores[0]!.credentials[0]!.secretAccessKey = `${SECRET}!`)),
      /secretAccessKey: must be 43 to 64/,
    )
    refuses(
      with_((c) => ({ ...c, keyStores: [c.keyStores[0], c.keyStores[0]] })),
      /is used twice/,
    )
    refuses(
      with_((c) => ({
        ...c,
        keyStores: [c.keyStores[0], { ...c.keyStores[0], uriPath: '/b/kms/xks/v1' }],
      })),
      /access key id AKIAI2SFODNN7EXAMPLE is used twice/,
    )
    refuses(
      with_((c) => ({ ...c, tls: { ...c.tls, clientCaFile: 'ca.pem' } })),
      /tls\.clientNames: is required with tls\.clientCaFile/,
    )
    refuses(
      with_((c) => ({ ...c, limits: { maxPlaintextBytes: 4000 } })),
      /limits\.maxPlaintextBytes: must be an integer from 4300/,
    )
    refuses(
      with_((c) => ({ ...c, healthCacheSeconds: 61 })),
      /from 0 to 60/,
    )
    refuses(
      with_((c) => ({ ...c, region: 'mars' })),
      /region: does not match/,
    )
    refuses(
      with_((c) => ({ ...c, healthKeyId: 'foo' })),
      /healthKeyId: can be named by API calls/,
    )
    refuses(
      with_((c) => ({ ...c, backend: { type: 'pkcs11', modulePath: 'x.so' } })),
      /exactly one of tokenLabel and tokenSerial/,
    )
    refuses(
      with_(
        (c) => void ((c.keyStores[0] as Record<string, unknown>).rules = [{ effect: 'Maybe' }]),
      ),
      /rules\[0\]\.effect: must be Allow or Deny/,
    )
    refuses(
      with_(
        (c) =>
          void ((c.keyStores[0] as Record<string, unknown>).rules = [
            { effect: 'Allow', operations: ['GetHealthStatus'] },
          ]),
      ),
      /GetHealthStatus is not GetKeyMetadata, Encrypt or Decrypt/,
    )
  })

  it('takes a health key id that no key store can name, and the PIN from the environment', () => {
    const c = parseXksProxyConfig(
      {
        ...minimal(),
        healthKeyId: 'health',
        keyStores: [{ ...minimal().keyStores[0], keys: ['app-*'] }],
        backend: {
          type: 'pkcs11',
          modulePath: '/usr/lib/softhsm/libsofthsm2.so',
          tokenLabel: 'xks',
        },
      },
      { baseDir: '/' },
    )
    assert.throws(
      () => resolveXksProxyConfig({ ...c, tls: undefined }, {}),
      /no PIN \(set backend\.pin or KEYWARD_XKS_PKCS11_PIN\)/,
    )
    assert.equal(
      resolveXksProxyConfig({ ...c, tls: undefined }, { KEYWARD_XKS_PKCS11_PIN: '1234' }).pin,
      '1234',
    )
  })

  it('makes credentials of the shapes the spec and the KMS model require', () => {
    for (let i = 0; i < 20; i++) {
      const { accessKeyId, secretAccessKey } = generateCredential()
      assert.match(accessKeyId, /^[A-Z2-7]{20,30}$/)
      assert.match(secretAccessKey, /^[A-Za-z0-9/+=]{43,64}$/)
      assert.ok(Buffer.from(secretAccessKey, 'base64').length >= 32, 'at least 256 bits')
    }
    assert.deepEqual(
      consoleConfiguration('/a/kms/xks/v1', {
        accessKeyId: 'A'.repeat(20),
        secretAccessKey: SECRET,
      }),
      {
        XksProxyUriPath: '/a/kms/xks/v1',
        XksProxyAuthenticationCredential: {
          AccessKeyId: 'A'.repeat(20),
          RawSecretAccessKey: SECRET,
        },
      },
    )
  })

  it('accepts the example of docs/xks-proxy.md', () => {
    const doc = readFileSync(`${REPO_ROOT}docs/xks-proxy.md`, 'utf8')
    const example = /```json\n([\s\S]*?)\n```/.exec(doc)![1]!
    const c = parseXksProxyConfig(JSON.parse(example), { baseDir: '/etc/keyward' })
    assert.equal(c.keyStores[0]!.uriPath, '/tenant-a/kms/xks/v1')
    assert.equal(c.keyStores[0]!.rules!.length, 2)
    assert.deepEqual(c.keyStores[0]!.throttle, { requestsPerSecond: 1800, burst: 1800 })
  })
})
