import assert from 'node:assert/strict'
import { createHash, createHmac } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import { CreateKeyCommand, DescribeKeyCommand, GenerateRandomCommand } from '@aws-sdk/client-kms'
import { ManualClock } from '../../src/ports/clock.js'
import { verifySigV4, type Credential, type SignedRequest } from '../../src/sigv4/sigv4.js'
import { expectKmsError } from '../support/assertions.js'
import { ADMIN, OTHER, startKeyward, type TestServer } from '../support/keyward-server.js'
import { rawRequest, type RawResponse } from '../support/raw-request.js'
import { expectWireError, expectWireSuccess, REQUEST_ID } from '../support/wire-assertions.js'

/**
 * SigV4 as clients really send it (AWS General Reference, "Signature Version 4 signing
 * process"): the JS SDK's signer (@smithy/signature-v4, about nine signed headers) through
 * rawRequest, and a botocore-style request signed by hand over only four headers. The hand
 * signer below is written from the specification, independently of src/sigv4/sigv4.ts.
 */

const MINUTE = 60_000
const GENERATE_RANDOM = { target: 'TrentService.GenerateRandom', body: '{"NumberOfBytes":8}' }
const BAD_SIGNATURE =
  'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.'
const BAD_TOKEN = 'The security token included in the request is invalid.'

/** '2026-01-01T12:00:00.000Z' → '20260101T120000Z' */
const amzDate = (ms: number) => new Date(ms).toISOString().replace(/[-:]|\.\d{3}/g, '')
const sha256Hex = (data: string) => createHash('sha256').update(data).digest('hex')
const hmac = (key: string | Buffer, data: string) => createHmac('sha256', key).update(data).digest()

interface HandSigned {
  readonly target: string
  readonly body: string
  /** The body actually sent, when it differs from the signed one. */
  readonly sentBody?: string
  readonly accessKeyId?: string
  readonly secretAccessKey?: string
  readonly region?: string
  readonly service?: string
  readonly date?: number
  /** The day in the credential scope, when it differs from X-Amz-Date's. */
  readonly scopeDay?: string
  readonly headers?: Record<string, string>
}

/**
 * Signs the way botocore does for a JSON 1.1 service, over content-type, host, x-amz-date and
 * x-amz-target only, and sends the request with fetch (which adds unsigned headers of its own).
 */
async function sendHandSigned(endpoint: string, req: HandSigned): Promise<RawResponse> {
  const url = new URL(endpoint)
  const date = amzDate(req.date ?? Date.now())
  const region = req.region ?? 'us-east-1'
  const service = req.service ?? 'kms'
  const headers: Record<string, string> = {
    'content-type': 'application/x-amz-json-1.1',
    host: url.host,
    'x-amz-date': date,
    'x-amz-target': req.target,
  }
  const names = Object.keys(headers).sort()
  const canonical = [
    'POST',
    '/',
    '',
    names.map((n) => `${n}:${headers[n]}\n`).join(''),
    names.join(';'),
    sha256Hex(req.body),
  ].join('\n')
  const day = req.scopeDay ?? date.slice(0, 8)
  const scope = `${day}/${region}/${service}/aws4_request`
  const toSign = `AWS4-HMAC-SHA256\n${date}\n${scope}\n${sha256Hex(canonical)}`
  const secret = req.secretAccessKey ?? ADMIN.secretAccessKey
  const key = hmac(hmac(hmac(hmac(`AWS4${secret}`, day), region), service), 'aws4_request')
  const signature = hmac(key, toSign).toString('hex')
  const { host: _host, ...sent } = headers
  const response = await fetch(endpoint + '/', {
    method: 'POST',
    headers: {
      ...sent,
      authorization: `AWS4-HMAC-SHA256 Credential=${req.accessKeyId ?? ADMIN.accessKeyId}/${scope}, SignedHeaders=${names.join(';')}, Signature=${signature}`,
      ...req.headers,
    },
    body: req.sentBody ?? req.body,
  })
  const text = await response.text()
  let json: Record<string, unknown> | undefined
  try {
    json = JSON.parse(text) as Record<string, unknown>
  } catch {
    json = undefined
  }
  return { status: response.status, headers: response.headers, text, json }
}

describe('SigV4 authentication', () => {
  let kw: TestServer
  // A clock that only moves when told, started on a whole second so that the expected
  // X-Amz-Date strings of the skew messages are exact.
  const clock = new ManualClock(Math.floor(Date.now() / 1000) * 1000)
  before(async () => {
    kw = await startKeyward({ clock })
  })
  after(() => kw.close())

  describe('the JS SDK signer (@smithy/signature-v4)', () => {
    it('accepts a valid request with 200 and a request ID', async () => {
      const r = await rawRequest(kw.endpoint, {
        ...GENERATE_RANDOM,
        signingDate: new Date(clock.now()),
      })
      const body = expectWireSuccess(r)
      assert.equal(Buffer.from(String(body.Plaintext), 'base64').length, 8)
    })

    it('refuses a wrong secret with InvalidSignatureException', async () => {
      const r = await rawRequest(kw.endpoint, {
        ...GENERATE_RANDOM,
        signingDate: new Date(clock.now()),
        credentials: { accessKeyId: ADMIN.accessKeyId, secretAccessKey: 'wrong-secret' },
      })
      expectWireError(r, 'InvalidSignatureException', BAD_SIGNATURE)
    })

    it('refuses an unknown access key with UnrecognizedClientException', async () => {
      const r = await rawRequest(kw.endpoint, {
        ...GENERATE_RANDOM,
        signingDate: new Date(clock.now()),
        credentials: { accessKeyId: 'AKIAUNKNOWNKEY000000', secretAccessKey: 'x' },
      })
      expectWireError(r, 'UnrecognizedClientException', BAD_TOKEN)
    })

    it('refuses an unsigned request with MissingAuthenticationTokenException', async () => {
      const r = await rawRequest(kw.endpoint, { ...GENERATE_RANDOM, sign: false })
      expectWireError(r, 'MissingAuthenticationTokenException', 'Missing Authentication Token')
    })

    it('refuses a request signed 6 minutes ago: "Signature expired"', async () => {
      const signed = clock.now() - 6 * MINUTE
      const r = await rawRequest(kw.endpoint, { ...GENERATE_RANDOM, signingDate: new Date(signed) })
      expectWireError(
        r,
        'InvalidSignatureException',
        `Signature expired: ${amzDate(signed)} is now earlier than ${amzDate(clock.now() - 5 * MINUTE)} (${amzDate(clock.now())} - 5 min.)`,
      )
    })

    it('refuses a request signed 6 minutes ahead: "Signature not yet current"', async () => {
      const signed = clock.now() + 6 * MINUTE
      const r = await rawRequest(kw.endpoint, { ...GENERATE_RANDOM, signingDate: new Date(signed) })
      expectWireError(
        r,
        'InvalidSignatureException',
        `Signature not yet current: ${amzDate(signed)} is still later than ${amzDate(clock.now() + 5 * MINUTE)} (${amzDate(clock.now())} + 5 min.)`,
      )
    })

    it('accepts 4 minutes of clock skew either way', async () => {
      for (const skew of [-4 * MINUTE, 4 * MINUTE]) {
        const r = await rawRequest(kw.endpoint, {
          ...GENERATE_RANDOM,
          signingDate: new Date(clock.now() + skew),
        })
        expectWireSuccess(r)
      }
    })

    it('refuses X-Amz-Security-Token for a credential that has none', async () => {
      const r = await rawRequest(kw.endpoint, {
        ...GENERATE_RANDOM,
        signingDate: new Date(clock.now()),
        headers: { 'x-amz-security-token': 'FwoGZXIvYXdzEXAMPLETOKEN' },
      })
      expectWireError(r, 'UnrecognizedClientException', BAD_TOKEN)
    })

    it('refuses a malformed Authorization header with IncompleteSignatureException', async () => {
      const header =
        'AWS4-HMAC-SHA256 Credential=AKIAADMINTESTKEY0001/20260101/us-east-1/kms/aws4_request'
      const r = await rawRequest(kw.endpoint, {
        ...GENERATE_RANDOM,
        sign: false,
        headers: { authorization: header, 'x-amz-date': amzDate(clock.now()) },
      })
      expectWireError(
        r,
        'IncompleteSignatureException',
        `Authorization header requires 'Signature' parameter. Authorization header requires 'SignedHeaders' parameter. Authorization=${header}`,
      )
    })

    it('refuses an Authorization header of another scheme', async () => {
      const r = await rawRequest(kw.endpoint, {
        ...GENERATE_RANDOM,
        sign: false,
        headers: { authorization: 'Basic YWRtaW46YWRtaW4=', 'x-amz-date': amzDate(clock.now()) },
      })
      expectWireError(r, 'IncompleteSignatureException', "Unsupported AWS 'algorithm': 'Basic'")
    })

    it('refuses a signed request without X-Amz-Date or Date', async () => {
      const header = `AWS4-HMAC-SHA256 Credential=${ADMIN.accessKeyId}/20260101/us-east-1/kms/aws4_request, SignedHeaders=host, Signature=00`
      const r = await rawRequest(kw.endpoint, {
        ...GENERATE_RANDOM,
        sign: false,
        headers: { authorization: header },
      })
      expectWireError(
        r,
        'IncompleteSignatureException',
        `Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. Authorization=${header}`,
      )
    })

    it('runs an SDK client with the second account, and refuses its key with the admin secret', async () => {
      const kms = kw.client({ credentials: OTHER })
      const out = await kms.send(new GenerateRandomCommand({ NumberOfBytes: 4 }))
      assert.equal(out.Plaintext?.length, 4)
      await expectKmsError(
        kw
          .client({
            credentials: { accessKeyId: OTHER.accessKeyId, secretAccessKey: ADMIN.secretAccessKey },
          })
          .send(new GenerateRandomCommand({ NumberOfBytes: 4 })),
        'InvalidSignatureException',
        BAD_SIGNATURE,
      )
    })
  })

  describe('a botocore-style request signed over four headers', () => {
    it('accepts a valid request', async () => {
      const r = await sendHandSigned(kw.endpoint, { ...GENERATE_RANDOM, date: clock.now() })
      expectWireSuccess(r)
    })

    it('refuses a wrong secret', async () => {
      const r = await sendHandSigned(kw.endpoint, {
        ...GENERATE_RANDOM,
        date: clock.now(),
        secretAccessKey: 'not-the-secret',
      })
      expectWireError(r, 'InvalidSignatureException', BAD_SIGNATURE)
    })

    it('refuses a body changed after signing', async () => {
      const r = await sendHandSigned(kw.endpoint, {
        ...GENERATE_RANDOM,
        sentBody: '{"NumberOfBytes":9}',
        date: clock.now(),
      })
      expectWireError(r, 'InvalidSignatureException', BAD_SIGNATURE)
    })

    it('refuses a signed header changed after signing (X-Amz-Target)', async () => {
      const r = await sendHandSigned(kw.endpoint, {
        target: 'TrentService.CreateKey',
        body: '{}',
        date: clock.now(),
        headers: { 'x-amz-target': 'TrentService.GenerateRandom' },
      })
      expectWireError(r, 'InvalidSignatureException', BAD_SIGNATURE)
    })

    it('refuses an x-amz-content-sha256 that does not match the body', async () => {
      const r = await sendHandSigned(kw.endpoint, {
        ...GENERATE_RANDOM,
        date: clock.now(),
        headers: { 'x-amz-content-sha256': sha256Hex('something else') },
      })
      expectWireError(
        r,
        'InvalidSignatureException',
        "The provided 'x-amz-content-sha256' header does not match what was computed.",
      )
    })

    it('refuses a credential scoped to another service', async () => {
      const r = await sendHandSigned(kw.endpoint, {
        ...GENERATE_RANDOM,
        date: clock.now(),
        service: 'ec2',
      })
      expectWireError(
        r,
        'InvalidSignatureException',
        "Credential should be scoped to correct service: 'kms'. ",
      )
    })

    it('refuses a credential scoped to something that is not a Region', async () => {
      const r = await sendHandSigned(kw.endpoint, {
        ...GENERATE_RANDOM,
        date: clock.now(),
        region: 'not_a_region',
      })
      expectWireError(
        r,
        'InvalidSignatureException',
        "Credential should be scoped to a valid region, not 'not_a_region'. ",
      )
    })

    it('refuses a credential scope whose day is not the X-Amz-Date day', async () => {
      const date = amzDate(clock.now())
      const r = await sendHandSigned(kw.endpoint, {
        ...GENERATE_RANDOM,
        date: clock.now(),
        scopeDay: '20200101',
      })
      expectWireError(
        r,
        'InvalidSignatureException',
        `Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '20200101' != '${date.slice(0, 8)}', from '${date}'.`,
      )
    })
  })

  describe('Region isolation', () => {
    it('does not find a us-east-1 key from eu-west-1', async () => {
      const east = kw.client({ region: 'us-east-1' })
      const west = kw.client({ region: 'eu-west-1' })
      const { KeyMetadata } = await east.send(new CreateKeyCommand({}))
      const keyId = KeyMetadata!.KeyId!
      const e = await expectKmsError(
        west.send(new DescribeKeyCommand({ KeyId: keyId })),
        'NotFoundException',
        `Key 'arn:aws:kms:eu-west-1:111122223333:key/${keyId}' does not exist`,
      )
      assert.equal(e.$metadata?.httpStatusCode, 400)
      assert.match(String((e.$metadata as { requestId?: string }).requestId), REQUEST_ID)
      // The same answer on the wire, with a bare key ID, signed for eu-west-1.
      const raw = await rawRequest(kw.endpoint, {
        target: 'TrentService.DescribeKey',
        body: JSON.stringify({ KeyId: keyId }),
        region: 'eu-west-1',
        signingDate: new Date(clock.now()),
      })
      expectWireError(
        raw,
        'NotFoundException',
        `Key 'arn:aws:kms:eu-west-1:111122223333:key/${keyId}' does not exist`,
      )
      await expectKmsError(
        west.send(new DescribeKeyCommand({ KeyId: KeyMetadata!.Arn! })),
        'NotFoundException',
        'Invalid arn us-east-1',
      )
      const found = await east.send(new DescribeKeyCommand({ KeyId: keyId }))
      assert.equal(found.KeyMetadata?.Arn, `arn:aws:kms:us-east-1:111122223333:key/${keyId}`)
    })
  })
})

describe('SigV4 with a configured list of Regions', () => {
  let kw: TestServer
  before(async () => {
    kw = await startKeyward({ regions: ['us-east-1', 'eu-west-1'] })
  })
  after(() => kw.close())

  it('serves a listed Region', async () => {
    expectWireSuccess(await rawRequest(kw.endpoint, { ...GENERATE_RANDOM, region: 'eu-west-1' }))
  })

  it('refuses a well-formed Region that is not listed', async () => {
    const r = await rawRequest(kw.endpoint, { ...GENERATE_RANDOM, region: 'ap-south-1' })
    expectWireError(
      r,
      'InvalidSignatureException',
      "Credential should be scoped to a valid region, not 'ap-south-1'. ",
    )
  })
})

describe('SigV4 in development mode', () => {
  let kw: TestServer
  before(async () => {
    kw = await startKeyward({ dev: true })
  })
  after(() => kw.close())

  it('accepts any secret and any access key ID', async () => {
    const r1 = await rawRequest(kw.endpoint, {
      ...GENERATE_RANDOM,
      credentials: { accessKeyId: ADMIN.accessKeyId, secretAccessKey: 'anything' },
    })
    expectWireSuccess(r1)
    const r2 = await sendHandSigned(kw.endpoint, {
      ...GENERATE_RANDOM,
      accessKeyId: 'AKIADEVMODEANYTHING0',
      secretAccessKey: 'whatever',
    })
    expectWireSuccess(r2)
  })

  it('acts as the admin of 111122223333', async () => {
    const kms = kw.client({ credentials: { accessKeyId: 'dev', secretAccessKey: 'dev' } })
    const { KeyMetadata } = await kms.send(new CreateKeyCommand({}))
    assert.equal(KeyMetadata?.AWSAccountId, '111122223333')
  })

  it('still refuses an expired date', async () => {
    const r = await rawRequest(kw.endpoint, {
      ...GENERATE_RANDOM,
      signingDate: new Date(Date.now() - 6 * MINUTE),
    })
    expectWireError(
      r,
      'InvalidSignatureException',
      /^Signature expired: \d{8}T\d{6}Z is now earlier than/,
    )
  })

  it('still refuses a request without a signature', async () => {
    const r = await rawRequest(kw.endpoint, { ...GENERATE_RANDOM, sign: false })
    expectWireError(r, 'MissingAuthenticationTokenException', 'Missing Authentication Token')
  })
})

describe('verifySigV4 (unit) with session tokens', () => {
  const now = Date.parse('2026-03-01T10:00:00Z')
  const date = amzDate(now)
  const scope = `${date.slice(0, 8)}/us-east-1/kms/aws4_request`
  const body = Buffer.from('{}')

  /** A request signed over host, x-amz-date and (when given) x-amz-security-token. */
  function signed(secret: string, token?: string): SignedRequest {
    const headers: Record<string, string> = {
      host: 'localhost:7878',
      'x-amz-date': date,
      ...(token ? { 'x-amz-security-token': token } : {}),
    }
    const names = Object.keys(headers).sort()
    const canonical = [
      'POST',
      '/',
      '',
      names.map((n) => `${n}:${headers[n]}\n`).join(''),
      names.join(';'),
      sha256Hex('{}'),
    ].join('\n')
    const toSign = `AWS4-HMAC-SHA256\n${date}\n${scope}\n${sha256Hex(canonical)}`
    const key = hmac(
      hmac(hmac(hmac(`AWS4${secret}`, date.slice(0, 8)), 'us-east-1'), 'kms'),
      'aws4_request',
    )
    headers.authorization = `AWS4-HMAC-SHA256 Credential=ASIATEMPORARY0000001/${scope}, SignedHeaders=${names.join(';')}, Signature=${hmac(key, toSign).toString('hex')}`
    return { method: 'POST', url: '/', headers, body }
  }

  const temporary: Credential<string> = {
    secretAccessKey: 'temporary-secret',
    sessionToken: 'the-session-token',
    principal: 'role-session',
  }
  const verify = (request: SignedRequest) =>
    verifySigV4(request, {
      service: 'kms',
      now,
      lookup: (id) => (id.startsWith('ASIA') ? temporary : undefined),
    })

  it('accepts a temporary credential with its session token', () => {
    const who = verify(signed('temporary-secret', 'the-session-token'))
    assert.deepEqual(who, {
      accessKeyId: 'ASIATEMPORARY0000001',
      region: 'us-east-1',
      principal: 'role-session',
    })
  })

  it('refuses a temporary credential whose session token is missing', () => {
    assert.throws(() => verify(signed('temporary-secret')), {
      name: 'UnrecognizedClientException',
      message: BAD_TOKEN,
    })
  })

  it('refuses a temporary credential with another session token', () => {
    assert.throws(() => verify(signed('temporary-secret', 'another-token')), {
      name: 'UnrecognizedClientException',
      message: BAD_TOKEN,
    })
  })

  it('refuses a signature that is not hex', () => {
    const request = signed('temporary-secret', 'the-session-token')
    const headers = {
      ...request.headers,
      authorization: String(request.headers.authorization).replace(/Signature=.*$/, 'Signature=zz'),
    }
    assert.throws(() => verify({ ...request, headers }), {
      name: 'InvalidSignatureException',
      message: BAD_SIGNATURE,
    })
  })
})
