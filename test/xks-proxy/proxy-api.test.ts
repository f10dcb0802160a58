import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import BetterSqlite3 from 'better-sqlite3'
import { join } from 'node:path'
import { XksProxyStore } from '../../src/adapters/store-sql/xks-proxy-store.js'
import { generateCredential } from '../../src/xks-proxy/credentials.js'
import { createTestPki, type TestPki } from '../support/test-pki.js'
import { xksRequest, type XksTarget } from '../support/xks-client.js'
import { startConfiguredXksProxy, type ConfiguredXksProxy } from '../support/xks-proxy.js'
import {
  capturingLogger,
  decryptBody,
  encryptWith,
  expectXksError,
  flipFirstBit,
  metadata,
} from './support.js'

/**
 * Keyward's XKS proxy over HTTPS, local keystore: every route, every error name with its HTTP
 * status (spec v1.0.3, "Error codes"), authentication, validation, sizes, CDIV, key usages,
 * tampering, key states, the allow-list, secondary authorization and logging.
 */

const HEALTH = { requestMetadata: { kmsRequestId: 'r-1', kmsOperation: 'KmsHealthCheck' } }
const PLAINTEXT = Buffer.from('the inner KMS ciphertext stands in here')
const AAD = Buffer.from('project=nile,department=marketing')
const BAD_CIPHERTEXT =
  'The ciphertext, initialization vector, additional authenticated data, ciphertext metadata or authentication tag is not valid.'

describe('XKS proxy API (local keystore)', () => {
  let pki: TestPki
  let xks: ConfiguredXksProxy
  let other: XksTarget
  const logger = capturingLogger()
  const otherCredential = generateCredential()

  before(async () => {
    pki = createTestPki()
    xks = await startConfiguredXksProxy({
      pki,
      logger,
      configure: (s) => ({
        ...s,
        keyStores: [
          s.keyStores[0]!,
          // A second tenant with its own credential, an allow-list and rules.
          {
            uriPath: '/tenant-b/kms/xks/v1',
            credentials: [otherCredential],
            keys: ['b-*'],
            rules: [
              { name: 'no-bob', effect: 'Deny', principals: ['arn:aws:iam::*:user/Bob'] },
              { effect: 'Allow', principals: ['arn:aws:iam::111122223333:*'] },
            ],
          },
        ],
      }),
    })
    other = {
      endpoint: xks.endpoint,
      uriPath: '/tenant-b/kms/xks/v1',
      credential: {
        AccessKeyId: otherCredential.accessKeyId,
        RawSecretAccessKey: otherCredential.secretAccessKey,
      },
      caCertPem: pki.ca.certPem,
    }
    await xks.createKey('foo')
    await xks.createKey('enc', { usage: ['ENCRYPT'] })
    await xks.createKey('dec', { usage: ['DECRYPT'] })
    await xks.createKey('none', { usage: [] })
    await xks.createKey('b-1')
  })
  after(async () => {
    await xks?.stop()
    pki?.remove()
  })

  describe('routes', () => {
    it('GetHealthStatus reports the proxy and an ACTIVE key manager after a deep check', async () => {
      const r = await xksRequest(xks, { path: 'health', body: HEALTH })
      assert.equal(r.status, 200, r.text)
      assert.equal(r.headers['content-type'], 'application/json')
      assert.equal(r.json!.xksProxyFleetSize, 1)
      assert.equal(r.json!.xksProxyVendor, 'Keyward')
      assert.match(String(r.json!.xksProxyModel), /^Keyward XKS Proxy \d+\.\d+\.\d+$/)
      assert.equal(r.json!.ekmVendor, 'Keyward')
      const fleet = r.json!.ekmFleetDetails as Array<Record<string, string>>
      assert.equal(fleet.length, 1)
      // ACTIVE, or DEGRADED when this busy machine made the round trip slower than 100 ms.
      assert.match(fleet[0]!.healthStatus!, /^(ACTIVE|DEGRADED)$/)
      assert.match(fleet[0]!.id!, /^local-[0-9a-f]{16}$/)
      assert.match(fleet[0]!.model!, /local keystore/)
    })

    it('GetKeyMetadata reports AES_256, the usages and the status, with or without kmsKeyArn', async () => {
      const r = await xksRequest(xks, {
        path: 'keys/foo/metadata',
        body: { requestMetadata: metadata('DescribeKey') },
      })
      assert.equal(r.status, 200, r.text)
      assert.deepEqual(r.json, {
        keySpec: 'AES_256',
        keyUsage: ['ENCRYPT', 'DECRYPT'],
        keyStatus: 'ENABLED',
      })
      // Spec 1.0.3: CreateKey's call has no kmsKeyArn; unknown kmsOperation values are fine.
      const { kmsKeyArn: _unused, ...noArn } = metadata('CreateKey')
      const c = await xksRequest(xks, {
        path: 'keys/enc/metadata',
        body: { requestMetadata: noArn },
      })
      assert.equal(c.status, 200, c.text)
      assert.deepEqual(c.json!.keyUsage, ['ENCRYPT'])
      const n = await xksRequest(xks, {
        path: 'keys/none/metadata',
        body: { requestMetadata: metadata('SomeFutureOperation') },
      })
      assert.deepEqual(n.json!.keyUsage, [])
    })

    it('Encrypt and Decrypt round-trip, with and without AAD; the layout is as the spec says', async () => {
      for (const aad of [undefined, AAD]) {
        const e = await encryptWith(xks, 'foo', { plaintext: PLAINTEXT, ...(aad ? { aad } : {}) })
        assert.equal(e.status, 200, e.text)
        assert.deepEqual(Object.keys(e.json!).sort(), [
          'authenticationTag',
          'ciphertext',
          'ciphertextMetadata',
          'initializationVector',
        ])
        assert.equal(Buffer.from(String(e.json!.ciphertext), 'base64').length, PLAINTEXT.length)
        assert.equal(Buffer.from(String(e.json!.initializationVector), 'base64').length, 12)
        assert.equal(Buffer.from(String(e.json!.authenticationTag), 'base64').length, 16)
        // The format version byte.
        assert.equal(e.json!.ciphertextMetadata, 'AQ==')
        const d = await xksRequest(xks, {
          path: 'keys/foo/decrypt',
          body: decryptBody(e.json!, aad ? { aad } : {}),
        })
        assert.equal(d.status, 200, d.text)
        assert.deepEqual(d.json, { plaintext: PLAINTEXT.toString('base64') })
      }
    })

    it('GET /ping answers 200 for load balancers, without authentication', async () => {
      const r = await xksRequest(xks, { rawPath: '/ping', method: 'GET', sign: false })
      assert.equal(r.status, 200)
      assert.match(r.text, /^pong from Keyward XKS Proxy /)
      const post = await xksRequest(xks, { rawPath: '/ping', method: 'POST', sign: false })
      assert.equal(post.status, 405)
    })

    it('a GET (or any method but POST) to an API URI is 405 Method Not Allowed', async () => {
      for (const method of ['GET', 'PUT', 'DELETE']) {
        for (const path of [
          'health',
          'keys/foo/metadata',
          'keys/foo/encrypt',
          'keys/foo/decrypt',
        ]) {
          const r = await xksRequest(xks, { path, method, sign: method !== 'GET' })
          assert.equal(r.status, 405, `${method} ${path}`)
          assert.equal(r.headers.allow, 'POST')
        }
      }
    })

    it('an unknown path or prefix is 404 InvalidUriPathException, before authentication', async () => {
      const paths = [
        '/tenant-a/invalid/kms/xks/v1/health',
        '/kms/xks/v1/health',
        '/tenant-a/kms/xks/v2/health',
        '/tenant-a/kms/xks/v1/keys/foo/sign',
        '/tenant-a/kms/xks/v1/keys/foo',
        '/tenant-a/kms/xks/v1/health?x=1',
        '/tenant-a/kms/xks/v1/keys/a%20b/encrypt',
        `/tenant-a/kms/xks/v1/keys/${'k'.repeat(129)}/encrypt`,
        '/',
      ]
      for (const rawPath of paths) {
        for (const sign of [true, false]) {
          const r = await xksRequest(xks, { rawPath, body: HEALTH, sign })
          expectXksError(r, 404, 'InvalidUriPathException', 'The request URI path is not valid.')
        }
      }
    })
  })

  describe('authentication (401 AuthenticationFailedException)', () => {
    const health = (target: XksTarget, options: Parameters<typeof xksRequest>[1] = {}) =>
      xksRequest(target, { path: 'health', body: HEALTH, ...options })

    it('refuses an unsigned request, a wrong secret and an unknown access key id', async () => {
      expectXksError(
        await health(xks, { sign: false }),
        401,
        'AuthenticationFailedException',
        'Missing Authentication Token',
      )
      expectXksError(
        await health(xks, {
          credential: {
            ...xks.credential,
            RawSecretAccessKey: `x${xks.credential.RawSecretAccessKey}`,
          },
        }),
        401,
        'AuthenticationFailedException',
        /^The request signature we calculated does not match/,
      )
      expectXksError(
        await health(xks, {
          credential: { ...xks.credential, AccessKeyId: 'INVALID' + xks.credential.AccessKeyId },
        }),
        401,
        'AuthenticationFailedException',
        'The security token included in the request is invalid.',
      )
    })

    it('refuses an access key of another key store (each prefix has its own credentials)', async () => {
      expectXksError(
        await health(xks, { credential: other.credential }),
        401,
        'AuthenticationFailedException',
        'The security token included in the request is invalid.',
      )
      assert.equal((await health(other)).status, 200)
    })

    it('refuses an X-Amz-Date more than 5 minutes off, either way', async () => {
      const stale = new Date(Date.now() - 6 * 60_000)
      expectXksError(
        await health(xks, { signingDate: stale }),
        401,
        'AuthenticationFailedException',
        /^Signature expired/,
      )
      const future = new Date(Date.now() + 6 * 60_000)
      expectXksError(
        await health(xks, { signingDate: future }),
        401,
        'AuthenticationFailedException',
        /^Signature not yet current/,
      )
      assert.equal(
        (await health(xks, { signingDate: new Date(Date.now() - 4 * 60_000) })).status,
        200,
      )
    })

    it('refuses another Region or service in the credential scope', async () => {
      expectXksError(
        await health(xks, { region: 'eu-west-1' }),
        401,
        'AuthenticationFailedException',
        /valid region/,
      )
      expectXksError(
        await health(xks, { service: 'kms' }),
        401,
        'AuthenticationFailedException',
        /correct service: 'kms-xks-proxy'/,
      )
    })

    it('accepts KMS-style signatures over host;x-amz-date only, and requires both covered', async () => {
      const r = await health(xks, { unsignedHeaders: ['content-type', 'x-amz-content-sha256'] })
      assert.match(r.sentHeaders.authorization!, /SignedHeaders=host;x-amz-date,/)
      assert.equal(r.status, 200, r.text)
      for (const name of ['host', 'x-amz-date']) {
        const rotten = await health(xks, {
          rewriteAuthorization: (a) =>
            a.replace(
              /SignedHeaders=([^,]+)/,
              (_m, list: string) =>
                `SignedHeaders=${list
                  .split(';')
                  .filter((h) => h !== name)
                  .join(';')}`,
            ),
        })
        expectXksError(
          rotten,
          401,
          'AuthenticationFailedException',
          `The signature must cover the ${name} header.`,
        )
      }
    })

    it('a changed body breaks the signature', async () => {
      const r = await xksRequest(xks, {
        path: 'health',
        body: HEALTH,
        unsignedHeaders: ['x-amz-content-sha256'],
        sendBody: JSON.stringify({
          requestMetadata: { kmsRequestId: 'r-2', kmsOperation: 'KmsHealthCheck' },
        }),
      })
      // The body's hash is in the canonical request, whether or not x-amz-content-sha256 is.
      expectXksError(
        r,
        401,
        'AuthenticationFailedException',
        /^The provided 'x-amz-content-sha256' header does not match/,
      )
      const kmsStyle = await xksRequest(xks, {
        path: 'health',
        body: HEALTH,
        unsignedHeaders: ['content-type', 'x-amz-content-sha256'],
        dropHeaders: ['x-amz-content-sha256'],
        sendBody: JSON.stringify({
          requestMetadata: { kmsRequestId: 'r-2', kmsOperation: 'KmsHealthCheck' },
        }),
      })
      expectXksError(
        kmsStyle,
        401,
        'AuthenticationFailedException',
        /^The request signature we calculated does not match/,
      )
      const untouched = await xksRequest(xks, {
        path: 'health',
        body: HEALTH,
        unsignedHeaders: ['content-type', 'x-amz-content-sha256'],
        dropHeaders: ['x-amz-content-sha256'],
      })
      assert.equal(untouched.status, 200, untouched.text)
    })
  })

  describe('validation (400 ValidationException)', () => {
    const encryptBody = (changes: Record<string, unknown>) => {
      const body: Record<string, unknown> = {
        requestMetadata: metadata('Encrypt'),
        plaintext: PLAINTEXT.toString('base64'),
        encryptionAlgorithm: 'AES_GCM',
      }
      for (const [k, v] of Object.entries(changes)) {
        if (v === undefined) delete body[k]
        else body[k] = v
      }
      return body
    }

    it('checks the body and requestMetadata of every API, health included', async () => {
      const cases: Array<[string, unknown, RegExp]> = [
        ['health', '{not json', /not valid JSON/],
        ['health', '[]', /must be a JSON object/],
        ['health', {}, /requestMetadata is required/],
        ['health', { requestMetadata: {} }, /requestMetadata.kmsRequestId is required/],
        ['health', { requestMetadata: { kmsRequestId: 'x' } }, /kmsOperation is required/],
        [
          'health',
          { requestMetadata: { kmsRequestId: 7, kmsOperation: 'x' } },
          /kmsRequestId is required and must be a string/,
        ],
        ['keys/foo/metadata', {}, /requestMetadata is required/],
        ['keys/foo/metadata', { requestMetadata: {} }, /kmsRequestId/],
        [
          'keys/foo/metadata',
          { requestMetadata: { kmsRequestId: 'x', kmsOperation: 'y' } },
          /awsPrincipalArn is required/,
        ],
        [
          'keys/foo/metadata',
          { requestMetadata: metadata('DescribeKey', { kmsKeyArn: 1 }) },
          /kmsKeyArn must be a string/,
        ],
        [
          'keys/foo/metadata',
          { requestMetadata: metadata('DescribeKey', { kmsViaService: null }) },
          /kmsViaService must be a string/,
        ],
        [
          'keys/foo/encrypt',
          encryptBody({ requestMetadata: metadata('Encrypt', { kmsKeyArn: undefined }) }),
          /kmsKeyArn is required/,
        ],
        ['keys/foo/encrypt', encryptBody({ plaintext: undefined }), /plaintext is required/],
        ['keys/foo/encrypt', encryptBody({ plaintext: '' }), /plaintext must not be empty/],
        [
          'keys/foo/encrypt',
          encryptBody({ encryptionAlgorithm: undefined }),
          /encryptionAlgorithm is required/,
        ],
        ['keys/foo/encrypt', encryptBody({ encryptionAlgorithm: 'AES_CBC' }), /must be AES_GCM/],
        [
          'keys/foo/encrypt',
          encryptBody({ ciphertextDataIntegrityValueAlgorithm: 'SHA_512' }),
          /must be SHA_256/,
        ],
        [
          'keys/foo/encrypt',
          encryptBody({ additionalAuthenticatedData: 5 }),
          /additionalAuthenticatedData must be a Base64 string/,
        ],
        ['keys/foo/decrypt', { requestMetadata: metadata('Decrypt') }, /ciphertext is required/],
      ]
      for (const [path, body, message] of cases) {
        const r = await xksRequest(xks, { path, body })
        expectXksError(r, 400, 'ValidationException', message)
      }
    })

    it('accepts only strict standard Base64', async () => {
      const bad = [
        'SGVsbG8gV29ybGQh-_', // URL-safe letters
        'SGVs bG8=', // space
        'SGVsbG8=\n', // newline
        'SGVsbG8', // no padding
        'SGVsbG8==', // too much padding
        'SGVsbA=Q', // padding inside
        'QR==', // non-zero padding bits (QQ== is canonical)
        '====',
      ]
      for (const plaintext of bad) {
        const r = await xksRequest(xks, {
          path: 'keys/foo/encrypt',
          body: encryptBody({ plaintext }),
        })
        expectXksError(r, 400, 'ValidationException', /Base64/)
      }
      for (const plaintext of ['QQ==', 'QUI=', 'QUJD', '+/+/']) {
        const r = await xksRequest(xks, {
          path: 'keys/foo/encrypt',
          body: encryptBody({ plaintext }),
        })
        assert.equal(r.status, 200, `${plaintext}: ${r.text}`)
      }
    })

    it('checks IV, tag and ciphertextMetadata sizes on Decrypt', async () => {
      const sealed = (await encryptWith(xks, 'foo', { plaintext: PLAINTEXT })).json!
      const cases: Array<[Record<string, unknown>, RegExp]> = [
        [{ initializationVector: undefined }, /initializationVector is required/],
        [{ initializationVector: Buffer.alloc(8).toString('base64') }, /12 or 16 bytes/],
        [{ authenticationTag: undefined }, /authenticationTag is required/],
        [{ authenticationTag: Buffer.alloc(12).toString('base64') }, /must be 16 bytes/],
        [{ ciphertextMetadata: Buffer.alloc(21).toString('base64') }, /at most 20 bytes/],
        [{ encryptionAlgorithm: 'AES_GCM_SIV' }, /must be AES_GCM/],
      ]
      for (const [changes, message] of cases) {
        const r = await xksRequest(xks, {
          path: 'keys/foo/decrypt',
          body: decryptBody(sealed, { changes }),
        })
        expectXksError(r, 400, 'ValidationException', message)
      }
    })

    it('requires Content-Type application/json, and ignores unknown members', async () => {
      const r = await xksRequest(xks, { path: 'health', body: HEALTH, contentType: 'text/plain' })
      expectXksError(r, 400, 'ValidationException', 'The Content-Type must be application/json.')
      const future = await xksRequest(xks, {
        path: 'keys/foo/encrypt',
        body: encryptBody({
          someFutureField: { nested: true },
          requestMetadata: metadata('Encrypt', { kmsRecipientAttestationImageSha384: 'abc' }),
        }),
        contentType: 'application/json; charset=utf-8',
      })
      assert.equal(future.status, 200, future.text)
    })
  })

  describe('sizes', () => {
    it('accepts the spec minimums: 4300 bytes of plaintext with 8192 bytes of AAD, and a 16-byte IV', async () => {
      const plaintext = Buffer.alloc(4300, 7)
      const aad = Buffer.alloc(8192, 9)
      const e = await encryptWith(xks, 'foo', { plaintext, aad, cdiv: true })
      assert.equal(e.status, 200, e.text)
      const d = await xksRequest(xks, {
        path: 'keys/foo/decrypt',
        body: decryptBody(e.json!, { aad }),
      })
      assert.equal(d.status, 200)
      assert.ok(Buffer.from(String(d.json!.plaintext), 'base64').equals(plaintext))
      // A 16-byte IV is valid input: here it is simply the wrong one.
      const iv16 = await xksRequest(xks, {
        path: 'keys/foo/decrypt',
        body: decryptBody(e.json!, {
          aad,
          changes: { initializationVector: Buffer.alloc(16).toString('base64') },
        }),
      })
      expectXksError(iv16, 400, 'InvalidCiphertextException', BAD_CIPHERTEXT)
    })

    it('answers 501 UnsupportedOperationException above its configured sizes', async () => {
      const max = xks.settings.limits
      assert.equal(
        (await encryptWith(xks, 'foo', { plaintext: Buffer.alloc(max.maxPlaintextBytes) })).status,
        200,
      )
      expectXksError(
        await encryptWith(xks, 'foo', { plaintext: Buffer.alloc(max.maxPlaintextBytes + 1) }),
        501,
        'UnsupportedOperationException',
        `plaintext is larger than the ${max.maxPlaintextBytes} bytes this proxy is configured for.`,
      )
      expectXksError(
        await encryptWith(xks, 'foo', {
          plaintext: PLAINTEXT,
          aad: Buffer.alloc(max.maxAadBytes + 1),
        }),
        501,
        'UnsupportedOperationException',
        /additionalAuthenticatedData is larger/,
      )
      const huge = await xksRequest(xks, {
        path: 'keys/foo/encrypt',
        body: JSON.stringify({ padding: 'x'.repeat(max.maxBodyBytes) }),
      })
      expectXksError(huge, 501, 'UnsupportedOperationException', /request body is larger/)
    })
  })

  describe('CDIV', () => {
    it('is SHA-256 over AAD, metadata, IV, ciphertext and tag, verified by decrypting first', async () => {
      for (const aad of [AAD, undefined]) {
        const e = await encryptWith(xks, 'foo', {
          plaintext: PLAINTEXT,
          cdiv: true,
          ...(aad ? { aad } : {}),
        })
        assert.equal(e.status, 200, e.text)
        const parts = [
          'ciphertextMetadata',
          'initializationVector',
          'ciphertext',
          'authenticationTag',
        ].map((k) => Buffer.from(String(e.json![k]), 'base64'))
        const expected = createHash('sha256')
          .update(Buffer.concat([aad ?? Buffer.alloc(0), ...parts]))
          .digest('base64')
        assert.equal(e.json!.ciphertextDataIntegrityValue, expected)
      }
    })

    it('an encrypt-only key cannot vouch for its ciphertext: InvalidKeyUsageException with a CDIV', async () => {
      const plain = await encryptWith(xks, 'enc', { plaintext: PLAINTEXT, aad: AAD })
      assert.equal(plain.status, 200)
      for (const aad of [AAD, undefined]) {
        const r = await encryptWith(xks, 'enc', {
          plaintext: PLAINTEXT,
          cdiv: true,
          ...(aad ? { aad } : {}),
        })
        expectXksError(
          r,
          400,
          'InvalidKeyUsageException',
          'External key enc does not permit decryption.',
        )
      }
    })
  })

  describe('key usages (400 InvalidKeyUsageException)', () => {
    it('an encrypt-only key encrypts but does not decrypt', async () => {
      const e = await encryptWith(xks, 'enc', { plaintext: PLAINTEXT })
      assert.equal(e.status, 200)
      const d = await xksRequest(xks, { path: 'keys/enc/decrypt', body: decryptBody(e.json!) })
      expectXksError(
        d,
        400,
        'InvalidKeyUsageException',
        'External key enc does not permit decryption.',
      )
    })

    it('a decrypt-only key and a key with no usage do not encrypt', async () => {
      for (const key of ['dec', 'none']) {
        for (const cdiv of [false, true]) {
          const r = await encryptWith(xks, key, { plaintext: PLAINTEXT, aad: AAD, cdiv })
          expectXksError(
            r,
            400,
            'InvalidKeyUsageException',
            `External key ${key} does not permit encryption.`,
          )
        }
      }
      const sealed = (await encryptWith(xks, 'foo', { plaintext: PLAINTEXT })).json!
      const d = await xksRequest(xks, { path: 'keys/none/decrypt', body: decryptBody(sealed) })
      expectXksError(
        d,
        400,
        'InvalidKeyUsageException',
        'External key none does not permit decryption.',
      )
    })
  })

  describe('tampering (400 InvalidCiphertextException, one message for every cause)', () => {
    it('refuses a changed ciphertext, IV, tag, AAD or ciphertextMetadata', async () => {
      const sealed = (await encryptWith(xks, 'foo', { plaintext: PLAINTEXT, aad: AAD })).json!
      const cases: Array<[string, { aad?: Buffer; changes?: Record<string, unknown> }]> = [
        ['ciphertext', { aad: AAD, changes: { ciphertext: flipFirstBit(sealed.ciphertext) } }],
        [
          'IV',
          {
            aad: AAD,
            changes: { initializationVector: flipFirstBit(sealed.initializationVector) },
          },
        ],
        [
          'tag',
          { aad: AAD, changes: { authenticationTag: flipFirstBit(sealed.authenticationTag) } },
        ],
        ['AAD changed', { aad: Buffer.from('project=blue,department=finance') }],
        ['AAD missing', {}],
        ['metadata changed', { aad: AAD, changes: { ciphertextMetadata: 'Ag==' } }],
        ['metadata missing', { aad: AAD, changes: { ciphertextMetadata: undefined } }],
        [
          'metadata moved into the AAD',
          {
            aad: Buffer.concat([AAD, Buffer.from([1])]),
            changes: { ciphertextMetadata: undefined },
          },
        ],
        ['other key', { aad: AAD }],
      ]
      for (const [name, options] of cases) {
        const key = name === 'other key' ? 'b-1' : 'foo'
        const r = await xksRequest(xks, {
          path: `keys/${key}/decrypt`,
          body: decryptBody(sealed, options),
        })
        expectXksError(r, 400, 'InvalidCiphertextException', BAD_CIPHERTEXT)
      }
    })

    it('does not let a ciphertext of no-AAD decrypt with the metadata passed as AAD', async () => {
      const sealed = (await encryptWith(xks, 'foo', { plaintext: PLAINTEXT })).json!
      const r = await xksRequest(xks, {
        path: 'keys/foo/decrypt',
        body: decryptBody(sealed, {
          aad: Buffer.from([1]),
          changes: { ciphertextMetadata: undefined },
        }),
      })
      expectXksError(r, 400, 'InvalidCiphertextException', BAD_CIPHERTEXT)
    })
  })

  describe('keys and their states', () => {
    it('an unknown key is 404 KeyNotFoundException for every key API', async () => {
      const sealed = (await encryptWith(xks, 'foo', { plaintext: PLAINTEXT })).json!
      const bodies: Record<string, unknown> = {
        metadata: { requestMetadata: metadata('DescribeKey') },
        encrypt: { requestMetadata: metadata(), plaintext: 'QQ==', encryptionAlgorithm: 'AES_GCM' },
        decrypt: decryptBody(sealed),
      }
      for (const [action, body] of Object.entries(bodies)) {
        const r = await xksRequest(xks, { path: `keys/non_existing_key/${action}`, body })
        expectXksError(r, 404, 'KeyNotFoundException', 'No external key with id non_existing_key.')
      }
      // The health-check key is not an external key id anybody can name.
      const health = await xksRequest(xks, {
        rawPath: `${xks.uriPath}/keys/keyward:xks-health-check/encrypt`,
        body: bodies.encrypt,
      })
      expectXksError(health, 404, 'InvalidUriPathException')
    })

    it('a disabled key says DISABLED, and Encrypt and Decrypt answer 400 InvalidStateException', async () => {
      await xks.createKey('temp')
      const sealed = (await encryptWith(xks, 'temp', { plaintext: PLAINTEXT })).json!
      await xks.disableKey('temp')
      const m = await xksRequest(xks, {
        path: 'keys/temp/metadata',
        body: { requestMetadata: metadata('DescribeKey') },
      })
      assert.equal(m.json!.keyStatus, 'DISABLED')
      expectXksError(
        await encryptWith(xks, 'temp', { plaintext: PLAINTEXT }),
        400,
        'InvalidStateException',
        'External key temp is disabled.',
      )
      const d = await xksRequest(xks, { path: 'keys/temp/decrypt', body: decryptBody(sealed) })
      expectXksError(d, 400, 'InvalidStateException', 'External key temp is disabled.')
      await xks.proxy.store.setDisabled('temp', false)
      const again = await xksRequest(xks, { path: 'keys/temp/decrypt', body: decryptBody(sealed) })
      assert.equal(again.status, 200)
      // A deleted key is gone for good: what it encrypted never decrypts again.
      await xks.deleteKey('temp')
      const gone = await xksRequest(xks, { path: 'keys/temp/decrypt', body: decryptBody(sealed) })
      expectXksError(gone, 404, 'KeyNotFoundException')
      await xks.createKey('temp')
      const recreated = await xksRequest(xks, {
        path: 'keys/temp/decrypt',
        body: decryptBody(sealed),
      })
      expectXksError(recreated, 400, 'InvalidCiphertextException', BAD_CIPHERTEXT)
    })

    it("a key outside the key store's keys list is not found there", async () => {
      const r = await xksRequest(other, {
        path: 'keys/foo/metadata',
        body: { requestMetadata: metadata('DescribeKey') },
      })
      expectXksError(r, 404, 'KeyNotFoundException', 'No external key with id foo.')
      const ok = await xksRequest(other, {
        path: 'keys/b-1/metadata',
        body: { requestMetadata: metadata('DescribeKey') },
      })
      assert.equal(ok.status, 200)
    })
  })

  describe('secondary authorization (403 AccessDeniedException)', () => {
    it('a Deny rule wins, and the log names it', async () => {
      const r = await xksRequest(other, {
        path: 'keys/b-1/encrypt',
        body: {
          requestMetadata: metadata('Encrypt', {
            awsPrincipalArn: 'arn:aws:iam::111122223333:user/Bob',
          }),
          plaintext: 'QQ==',
          encryptionAlgorithm: 'AES_GCM',
        },
      })
      expectXksError(r, 403, 'AccessDeniedException', /rule: no-bob/)
      const line = logger.lines.find((l) => l.includes('"status":403') && l.includes('no-bob'))
      assert.ok(line, 'the denial is logged with its rule')
      assert.match(line, /"awsPrincipalArn":"arn:aws:iam::111122223333:user\/Bob"/)
    })

    it('with Allow rules, a caller none of them matches is denied; health is never subject', async () => {
      const r = await xksRequest(other, {
        path: 'keys/b-1/metadata',
        body: {
          requestMetadata: metadata('DescribeKey', {
            awsPrincipalArn: 'arn:aws:iam::444455556666:root',
          }),
        },
      })
      expectXksError(r, 403, 'AccessDeniedException', /rule: no Allow rule matched/)
      const health = await xksRequest(other, { path: 'health', body: HEALTH })
      assert.equal(health.status, 200)
    })
  })

  describe('logging', () => {
    it('logs requestMetadata, kmsRequestId, latency and outcome, never plaintext or secrets', async () => {
      const secret = Buffer.from('canary plaintext 5f0e3c1d')
      const e = await encryptWith(xks, 'foo', { plaintext: secret, cdiv: true })
      assert.equal(e.status, 200)
      const d = await xksRequest(xks, { path: 'keys/foo/decrypt', body: decryptBody(e.json!) })
      assert.equal(d.status, 200)
      const all = logger.lines.join('\n')
      for (const forbidden of [
        secret.toString('base64'),
        secret.toString('utf8'),
        xks.credential.RawSecretAccessKey,
        otherCredential.secretAccessKey,
      ]) {
        assert.ok(!all.includes(forbidden), 'no plaintext or secret in the log')
      }
      const line = JSON.parse(
        logger.lines.filter((l) => l.includes('"operation":"Decrypt"')).at(-1)!,
      )
      assert.equal(line.status, 200)
      assert.equal(line.keyId, 'foo')
      assert.equal(line.accessKeyId, xks.credential.AccessKeyId)
      assert.equal(line.requestMetadata.kmsOperation, 'Decrypt')
      assert.match(line.requestMetadata.kmsRequestId, /^[0-9a-f-]{36}$/)
      assert.equal(typeof line.latencyMs, 'number')
    })
  })

  describe('500 InternalException', () => {
    it('a key manager failure is a generic answer with a request id, the cause only in the log', async () => {
      await xks.createKey('broken')
      // Corrupt the wrapped key behind the proxy's back (another connection, as the CLI is).
      const db = new BetterSqlite3(join(xks.dataDir, 'xks-proxy.db'))
      db.prepare("update xks_local_keys set wrapped = x'01' where id = 'broken'").run()
      db.close()
      // Another process's commit shows within XksProxyStore.RECHECK_MS.
      await new Promise((resolve) => setTimeout(resolve, XksProxyStore.RECHECK_MS + 10))
      const r = await encryptWith(xks, 'broken', { plaintext: PLAINTEXT })
      expectXksError(
        r,
        500,
        'InternalException',
        /^An internal error occurred\. Request ID: [0-9a-f-]{36}$/,
      )
      assert.ok(
        logger.lines.some(
          (l) =>
            l.includes('internal error') && l.includes('wrapped material has an unknown format'),
        ),
      )
    })
  })
})
