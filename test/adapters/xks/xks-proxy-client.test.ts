import assert from 'node:assert/strict'
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto'
import { createServer, type Server } from 'node:https'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { createServer as createTcpServer } from 'node:net'
import type { AddressInfo } from 'node:net'
import { after, before, describe, it } from 'node:test'
import {
  ciphertextDataIntegrityValue,
  XksProxyClient,
  XksProxyError,
  type XksProxyTarget,
} from '../../../src/adapters/xks/xks-proxy-client.js'
import { verifySigV4 } from '../../../src/sigv4/sigv4.js'
import { createTestPki } from '../../support/test-pki.js'

/**
 * The XKS client against a scripted HTTPS server: what it sends (SigV4 for kms-xks-proxy over
 * host;x-amz-date, the JSON the XKS spec defines) and how it classifies every way a proxy can
 * fail (xks.md §2.3 and §2.4).
 */

const pki = createTestPki()
after(() => pki.remove())
const CREDENTIAL = {
  accessKeyId: 'ABCDEFGHIJKLMNOPQRSTUVWXYZ',
  secretAccessKey: 'c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LTEyMzQ1Njc4OTA=',
}
const KEY = randomBytes(32)
const META = {
  kmsRequestId: 'r-1',
  kmsOperation: 'Encrypt',
  awsPrincipalArn: 'arn:aws:iam::111122223333:user/admin',
  kmsKeyArn: 'arn:aws:kms:us-east-1:111122223333:key/k',
}

type Script = (path: string, body: Record<string, unknown>, res: ServerResponse) => void
let script: Script
const seen: Array<{
  path: string
  body: Record<string, unknown>
  headers: IncomingMessage['headers']
}> = []

const json = (res: ServerResponse, status: number, body: unknown) => {
  res.writeHead(status, { 'content-type': 'application/json' })
  res.end(typeof body === 'string' ? body : JSON.stringify(body))
}

/** An honest proxy: AES-GCM under KEY, the CDIV the spec defines. */
const honest: Script = (path, body, res) => {
  if (path.endsWith('/health')) {
    return json(res, 200, {
      xksProxyFleetSize: 1,
      xksProxyVendor: 'test',
      xksProxyModel: 'scripted',
      ekmVendor: 'test',
      ekmFleetDetails: [{ id: 'e1', model: 'm', healthStatus: 'ACTIVE' }],
    })
  }
  if (path.endsWith('/metadata')) {
    return json(res, 200, {
      keySpec: 'AES_256',
      keyUsage: ['ENCRYPT', 'DECRYPT'],
      keyStatus: 'ENABLED',
    })
  }
  const aad = Buffer.from(body.additionalAuthenticatedData as string, 'base64')
  if (path.endsWith('/encrypt')) {
    const iv = randomBytes(12)
    const cipher = createCipheriv('aes-256-gcm', KEY, iv).setAAD(aad)
    const plaintext = Buffer.from(body.plaintext as string, 'base64')
    const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()])
    const tag = cipher.getAuthTag()
    return json(res, 200, {
      ciphertext: ciphertext.toString('base64'),
      initializationVector: iv.toString('base64'),
      authenticationTag: tag.toString('base64'),
      ciphertextDataIntegrityValue: ciphertextDataIntegrityValue({
        aad,
        iv,
        ciphertext,
        tag,
      }).toString('base64'),
    })
  }
  try {
    const decipher = createDecipheriv(
      'aes-256-gcm',
      KEY,
      Buffer.from(body.initializationVector as string, 'base64'),
    )
    decipher.setAAD(aad).setAuthTag(Buffer.from(body.authenticationTag as string, 'base64'))
    const plaintext = Buffer.concat([
      decipher.update(Buffer.from(body.ciphertext as string, 'base64')),
      decipher.final(),
    ])
    json(res, 200, { plaintext: plaintext.toString('base64') })
  } catch {
    json(res, 400, { errorName: 'InvalidCiphertextException' })
  }
}

let server: Server
let target: XksProxyTarget
before(async () => {
  server = createServer({ cert: pki.server.certPem, key: pki.server.keyPem }, (req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const raw = Buffer.concat(chunks)
      seen.push({ path: req.url!, body: JSON.parse(raw.toString()), headers: req.headers })
      script(req.url!, JSON.parse(raw.toString()), res)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  target = {
    uriEndpoint: `https://localhost:${port}`,
    uriPath: '/tenant/kms/xks/v1',
    accessKeyId: CREDENTIAL.accessKeyId,
    secretAccessKey: CREDENTIAL.secretAccessKey,
    region: 'eu-west-1',
  }
})
after(() => server.close())

const client = (overrides: Partial<XksProxyTarget> = {}, timeoutMs = 2000) =>
  new XksProxyClient({ ...target, ...overrides }, { caCertificates: pki.ca.certPem, timeoutMs })

async function failure(promise: Promise<unknown>) {
  const error = await promise.then(
    () => assert.fail('the call succeeded'),
    (e: unknown) => e,
  )
  assert.ok(error instanceof XksProxyError, String(error))
  return error.failure
}

describe('XksProxyClient', () => {
  it('signs with SigV4 for kms-xks-proxy over host;x-amz-date and sends the spec JSON', async () => {
    script = honest
    seen.length = 0
    const proxy = client()
    try {
      const sealed = await proxy.encrypt('key-1', {
        plaintext: Buffer.from('inner blob'),
        aad: Buffer.from('aad'),
        metadata: META,
      })
      const back = await proxy.decrypt('key-1', {
        ...sealed,
        aad: Buffer.from('aad'),
        metadata: META,
      })
      assert.equal(back.toString(), 'inner blob')
    } finally {
      proxy.close()
    }
    const [sent] = seen
    assert.equal(sent!.path, '/tenant/kms/xks/v1/keys/key-1/encrypt')
    assert.match(
      String(sent!.headers.authorization),
      /^AWS4-HMAC-SHA256 Credential=ABCDEFGHIJKLMNOPQRSTUVWXYZ\/\d{8}\/eu-west-1\/kms-xks-proxy\/aws4_request, SignedHeaders=host;x-amz-date, Signature=[0-9a-f]{64}$/,
    )
    assert.deepEqual(sent!.body, {
      requestMetadata: META,
      plaintext: Buffer.from('inner blob').toString('base64'),
      encryptionAlgorithm: 'AES_GCM',
      additionalAuthenticatedData: Buffer.from('aad').toString('base64'),
      ciphertextDataIntegrityValueAlgorithm: 'SHA_256',
    })
    const verified = verifySigV4(
      {
        method: 'POST',
        url: sent!.path,
        headers: sent!.headers,
        body: Buffer.from(JSON.stringify(sent!.body)),
      },
      {
        service: 'kms-xks-proxy',
        now: Date.now(),
        lookup: () => ({ secretAccessKey: CREDENTIAL.secretAccessKey, principal: 'kms' }),
      },
    )
    assert.equal(verified.region, 'eu-west-1')
  })

  it('computes the spec test vector of ciphertextDataIntegrityValue', () => {
    const b = (s: string) => Buffer.from(s, 'base64')
    const cdiv = ciphertextDataIntegrityValue({
      aad: b('cHJvamVjdD1uaWxlLGRlcGFydG1lbnQ9bWFya2V0aW5n'),
      ciphertextMetadata: b('a2V5X3ZlcnNpb249MQ=='),
      iv: b('HMrlRw85cAJUd5Ax'),
      ciphertext: b('ghxkK1txeDNn3q8Y'),
      tag: b('vBxN2ncH1oEkR8WVXpmyYQ=='),
    })
    assert.equal(cdiv.toString('base64'), 'qHA/ImC9h5HsLRXqCyPmWgYx7tzyoTplzILbP0fPXsc=')
  })

  it('reports an XKS error answer with its name and status', async () => {
    script = (_p, _b, res) =>
      json(res, 401, { errorName: 'AuthenticationFailedException', errorMessage: 'no' })
    const proxy = client()
    try {
      assert.deepEqual(await failure(proxy.health(META)), {
        kind: 'proxy',
        errorName: 'AuthenticationFailedException',
        status: 401,
      })
    } finally {
      proxy.close()
    }
  })

  it('calls garbage, unknown error names, bad Base64, wrong sizes and a wrong CDIV invalid responses', async () => {
    const cases: Script[] = [
      (_p, _b, res) => json(res, 200, 'not json at all'),
      (_p, _b, res) => json(res, 500, '<html>oops</html>'),
      (_p, _b, res) => json(res, 400, { errorName: 'SomethingElse' }),
      (_p, _b, res) =>
        json(res, 200, {
          xksProxyFleetSize: 0,
          xksProxyVendor: 'v',
          xksProxyModel: 'm',
          ekmVendor: 'e',
          ekmFleetDetails: [],
        }),
    ]
    const proxy = client()
    try {
      for (const s of cases) {
        script = s
        assert.deepEqual(await failure(proxy.health(META)), { kind: 'invalid-response' })
      }
      const tamper =
        (change: (body: Record<string, unknown>) => void): Script =>
        (path, body, res) => {
          const fake = {
            writeHead: () => fake,
            end: (text: string) => {
              const answer = JSON.parse(text) as Record<string, unknown>
              change(answer)
              json(res, 200, answer)
            },
          } as unknown as ServerResponse
          honest(path, body, fake)
        }
      for (const change of [
        (a: Record<string, unknown>) =>
          (a.ciphertextDataIntegrityValue = Buffer.alloc(32).toString('base64')),
        (a: Record<string, unknown>) => (a.authenticationTag = Buffer.alloc(15).toString('base64')),
        (a: Record<string, unknown>) =>
          (a.initializationVector = Buffer.alloc(8).toString('base64')),
        (a: Record<string, unknown>) =>
          (a.ciphertext = (a.ciphertext as string).replace(/[+/]/g, '-') + '_'),
        (a: Record<string, unknown>) => (a.ciphertext = Buffer.alloc(3).toString('base64')),
        (a: Record<string, unknown>) =>
          (a.ciphertextMetadata = Buffer.alloc(21).toString('base64')),
      ]) {
        script = tamper(change)
        const sealing = proxy.encrypt('k', {
          plaintext: Buffer.alloc(64, 1),
          aad: Buffer.alloc(0),
          metadata: META,
        })
        assert.deepEqual(await failure(sealing), { kind: 'invalid-response' })
      }
    } finally {
      proxy.close()
    }
  })

  it('treats a fleet that is all UNAVAILABLE as unreachable', async () => {
    script = (_p, _b, res) =>
      json(res, 200, {
        xksProxyFleetSize: 1,
        xksProxyVendor: 'v',
        xksProxyModel: 'm',
        ekmVendor: 'e',
        ekmFleetDetails: [{ id: 'a', model: 'm', healthStatus: 'UNAVAILABLE' }],
      })
    const proxy = client()
    try {
      assert.deepEqual(await failure(proxy.health(META)), { kind: 'unreachable' })
    } finally {
      proxy.close()
    }
  })

  it('times out a slow proxy at its deadline', async () => {
    script = (path, body, res) => setTimeout(() => honest(path, body, res), 3000)
    const proxy = client({}, 100)
    try {
      const started = performance.now()
      assert.deepEqual(await failure(proxy.health(META)), { kind: 'timeout' })
      assert.ok(performance.now() - started < 2000)
    } finally {
      proxy.close()
    }
  })

  it('tells a TLS failure (untrusted CA, wrong host name) from an unreachable proxy (no such host, closed)', async () => {
    script = honest
    const untrusted = new XksProxyClient(target, { caCertificates: pki.otherCa.certPem })
    const elsewhere = pki.issue({ commonName: 'elsewhere.test' })
    const misnamed = createServer({ cert: elsewhere.certPem, key: elsewhere.keyPem }, () => {})
    await new Promise<void>((resolve) => misnamed.listen(0, '127.0.0.1', resolve))
    const wrongName = client({
      uriEndpoint: `https://localhost:${(misnamed.address() as AddressInfo).port}`,
    })
    const noSuchHost = client({ uriEndpoint: 'https://no-such-host.invalid' })
    const tcp = createTcpServer((socket) => socket.destroy())
    await new Promise<void>((resolve) => tcp.listen(0, '127.0.0.1', resolve))
    const closed = client({
      uriEndpoint: `https://localhost:${(tcp.address() as AddressInfo).port}`,
    })
    try {
      assert.deepEqual(await failure(untrusted.health(META)), { kind: 'tls' })
      assert.deepEqual(await failure(wrongName.health(META)), { kind: 'tls' })
      assert.deepEqual(await failure(noSuchHost.health(META)), { kind: 'unreachable' })
      assert.deepEqual(await failure(closed.health(META)), { kind: 'unreachable' })
    } finally {
      untrusted.close()
      wrongName.close()
      noSuchHost.close()
      misnamed.close()
      closed.close()
      tcp.close()
    }
  })

  it('presents its client certificate to a proxy that requires mutual TLS', async () => {
    script = honest
    const mutual = createServer(
      {
        cert: pki.server.certPem,
        key: pki.server.keyPem,
        ca: pki.ca.certPem,
        requestCert: true,
        rejectUnauthorized: true,
      },
      (req, res) => {
        req.resume()
        req.on('end', () => honest(req.url!, {}, res))
      },
    )
    await new Promise<void>((resolve) => mutual.listen(0, '127.0.0.1', resolve))
    const uriEndpoint = `https://localhost:${(mutual.address() as AddressInfo).port}`
    const anonymous = client({ uriEndpoint })
    const identified = new XksProxyClient(
      { ...target, uriEndpoint },
      {
        caCertificates: pki.ca.certPem,
        clientCertificate: { cert: pki.client.certPem, key: pki.client.keyPem },
      },
    )
    try {
      assert.equal((await identified.health(META)).xksProxyModel, 'scripted')
      const refused = await failure(anonymous.health(META))
      assert.ok(refused.kind === 'tls' || refused.kind === 'unreachable', refused.kind)
    } finally {
      anonymous.close()
      identified.close()
      mutual.close()
    }
  })
})
