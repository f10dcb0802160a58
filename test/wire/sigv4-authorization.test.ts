import assert from 'node:assert/strict'
import { createHash, createHmac } from 'node:crypto'
import { connect } from 'node:net'
import { after, before, describe, it } from 'node:test'
import { verifySigV4, type Credential, type SignedRequest } from '../../src/sigv4/sigv4.js'
import { ADMIN, startKeyward, type TestServer } from '../support/keyward-server.js'

/**
 * Issue 10, item 5: the Signature parameter is exactly 64 lower-case hex digits, and a request
 * carries one Authorization header. Buffer.from(…, 'hex') used to forgive upper case, an odd
 * trailing nibble and junk after the digits, and node keeps only the first of two
 * Authorization headers.
 */

const BAD_SIGNATURE =
  'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.'
const REPEATED = 'The request must carry one Authorization header.'

const sha256Hex = (data: string) => createHash('sha256').update(data).digest('hex')
const hmac = (key: string | Buffer, data: string) => createHmac('sha256', key).update(data).digest()
const amzDate = (ms: number) => new Date(ms).toISOString().replace(/[-:]|\.\d{3}/g, '')

/** Signs POST / over host and x-amz-date, written from the specification. */
function sign(options: { secret: string; accessKeyId: string; now: number; host: string }) {
  const date = amzDate(options.now)
  const scope = `${date.slice(0, 8)}/us-east-1/kms/aws4_request`
  const canonical = [
    'POST',
    '/',
    '',
    `host:${options.host}\nx-amz-date:${date}\n`,
    'host;x-amz-date',
    sha256Hex('{}'),
  ].join('\n')
  const toSign = `AWS4-HMAC-SHA256\n${date}\n${scope}\n${sha256Hex(canonical)}`
  const key = hmac(
    hmac(hmac(hmac(`AWS4${options.secret}`, date.slice(0, 8)), 'us-east-1'), 'kms'),
    'aws4_request',
  )
  const signature = hmac(key, toSign).toString('hex')
  const prefix = `AWS4-HMAC-SHA256 Credential=${options.accessKeyId}/${scope}, SignedHeaders=host;x-amz-date, Signature=`
  return { date, signature, prefix }
}

describe('verifySigV4: the form of the Signature and of the Authorization header', () => {
  const now = Date.parse('2026-03-01T10:00:00Z')
  const { date, signature, prefix } = sign({
    secret: 'the-secret',
    accessKeyId: 'AKIAEXAMPLE000000001',
    now,
    host: 'localhost:7878',
  })
  const credential: Credential<string> = { secretAccessKey: 'the-secret', principal: 'user' }
  const request = (authorization: string, rawHeaders?: string[]): SignedRequest => ({
    method: 'POST',
    url: '/',
    headers: { host: 'localhost:7878', 'x-amz-date': date, authorization },
    body: Buffer.from('{}'),
    ...(rawHeaders ? { rawHeaders } : {}),
  })
  const verify = (r: SignedRequest, dev = false) =>
    verifySigV4(r, {
      service: 'kms',
      now,
      lookup: (id) => (id === 'AKIAEXAMPLE000000001' ? credential : undefined),
      ...(dev ? { devPrincipal: 'dev' } : {}),
    })
  const raw = (...authorizations: string[]) => [
    'Host',
    'localhost:7878',
    'X-Amz-Date',
    date,
    ...authorizations.flatMap((a) => ['Authorization', a]),
  ]

  const rows: {
    name: string
    authorization: string
    rawHeaders?: string[]
    dev?: boolean
    error?: { name: string; message: string }
  }[] = [
    { name: 'the exact signature', authorization: prefix + signature },
    {
      name: 'one Authorization header among the raw headers',
      authorization: prefix + signature,
      rawHeaders: raw(prefix + signature),
    },
    {
      name: 'the signature in upper case',
      authorization: prefix + signature.toUpperCase(),
      error: { name: 'InvalidSignatureException', message: BAD_SIGNATURE },
    },
    {
      name: 'the signature followed by junk',
      authorization: prefix + signature + 'zz',
      error: { name: 'InvalidSignatureException', message: BAD_SIGNATURE },
    },
    {
      name: 'the signature with an odd trailing nibble',
      authorization: prefix + signature + '0',
      error: { name: 'InvalidSignatureException', message: BAD_SIGNATURE },
    },
    {
      name: 'the signature one digit short',
      authorization: prefix + signature.slice(0, 63),
      error: { name: 'InvalidSignatureException', message: BAD_SIGNATURE },
    },
    {
      name: 'a signature that is not hex',
      authorization: prefix + 'zz',
      error: { name: 'InvalidSignatureException', message: BAD_SIGNATURE },
    },
    {
      name: 'a malformed signature in dev mode',
      authorization: prefix + signature + '0',
      dev: true,
      error: { name: 'InvalidSignatureException', message: BAD_SIGNATURE },
    },
    {
      name: 'a valid Authorization header followed by a second one',
      authorization: prefix + signature,
      rawHeaders: raw(prefix + signature, 'AWS4-HMAC-SHA256 junk'),
      error: { name: 'IncompleteSignatureException', message: REPEATED },
    },
    {
      name: 'the same Authorization header twice',
      authorization: prefix + signature,
      rawHeaders: raw(prefix + signature, prefix + signature),
      error: { name: 'IncompleteSignatureException', message: REPEATED },
    },
  ]
  for (const row of rows) {
    it(`${row.error ? 'refuses' : 'accepts'} ${row.name}`, () => {
      const r = request(row.authorization, row.rawHeaders)
      if (row.error) assert.throws(() => verify(r, row.dev), row.error)
      else assert.equal(verify(r, row.dev).principal, 'user')
    })
  }
})

describe('two Authorization headers on the wire', () => {
  let kw: TestServer
  before(async () => {
    kw = await startKeyward()
  })
  after(() => kw.close())

  /** Sends ListKeys `{}` with these Authorization headers (an empty one is the valid signature). */
  function send(authorizations: string[]): Promise<string> {
    const url = new URL(kw.endpoint)
    const { date, signature, prefix } = sign({
      secret: ADMIN.secretAccessKey,
      accessKeyId: ADMIN.accessKeyId,
      now: Date.now(),
      host: url.host,
    })
    return new Promise((resolve) => {
      const socket = connect(Number(url.port), url.hostname, () => {
        const auth = authorizations.map((a) => `Authorization: ${a || prefix + signature}\r\n`)
        socket.end(
          `POST / HTTP/1.1\r\nHost: ${url.host}\r\nX-Amz-Date: ${date}\r\n${auth.join('')}` +
            'Content-Type: application/x-amz-json-1.1\r\nX-Amz-Target: TrentService.ListKeys\r\n' +
            'Connection: close\r\nContent-Length: 2\r\n\r\n{}',
        )
      })
      const chunks: Buffer[] = []
      socket.on('data', (c: Buffer) => chunks.push(c))
      socket.on('close', () => resolve(Buffer.concat(chunks).toString('utf8')))
    })
  }

  it('accepts the signed request with one header', async () => {
    assert.match(await send(['']), /^HTTP\/1\.1 200 /)
  })

  it('refuses it when a second header follows, whatever the second says', async () => {
    const answer = await send(['', 'AWS4-HMAC-SHA256 junk'])
    assert.match(answer, /^HTTP\/1\.1 400 /)
    const body = answer.slice(answer.indexOf('\r\n\r\n') + 4)
    assert.deepEqual(JSON.parse(body), {
      __type: 'IncompleteSignatureException',
      message: REPEATED,
    })
  })
})
