import assert from 'node:assert/strict'
import { Agent, request as httpRequest } from 'node:http'
import { after, before, describe, it } from 'node:test'
import { CreateKeyCommand, DecryptCommand, EncryptCommand } from '@aws-sdk/client-kms'
import { OPERATIONS } from '../../src/operations/index.js'
import { OPERATION_NAMES } from '../../src/wire/generated/model.js'
import { MAX_BODY_BYTES } from '../../src/wire/kms-http-handler.js'
import { startKeyward, type TestServer } from '../support/keyward-server.js'
import { rawRequest, type RawResponse } from '../support/raw-request.js'
import { expectWireError, expectWireSuccess, REQUEST_ID } from '../support/wire-assertions.js'

/**
 * The AWS JSON 1.1 protocol (Smithy, "AWS JSON 1.1 protocol"): POST / with
 * `X-Amz-Target: TrentService.<Operation>`, JSON bodies, `{"__type", "message"}` errors,
 * blobs in base64 and timestamps in epoch seconds.
 */

/** Sends a raw HTTP request with node:http (fetch cannot send every malformed shape). */
function send(
  endpoint: string,
  req: {
    method?: string
    /** Path and query; '/' by default. */
    path?: string
    headers?: Record<string, string>
    body?: Buffer | string
    agent?: Agent
  },
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    let answered = false
    const r = httpRequest(
      endpoint + (req.path ?? '/'),
      { method: req.method ?? 'POST', headers: req.headers ?? {}, agent: req.agent ?? false },
      (res) => {
        answered = true
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8')
          let json: Record<string, unknown> | undefined
          try {
            json = JSON.parse(text) as Record<string, unknown>
          } catch {
            json = undefined
          }
          const headers = new Headers()
          for (const [k, v] of Object.entries(res.headers))
            if (typeof v === 'string') headers.set(k, v)
          resolve({ status: res.statusCode ?? 0, headers, text, json })
        })
      },
    )
    // The server may close the connection before reading a too-large body: only an error
    // before any answer counts.
    r.on('error', (e) => {
      if (!answered) reject(e)
    })
    r.end(req.body)
  })
}

describe('AWS JSON 1.1 protocol', () => {
  let kw: TestServer
  /** Every body the server sent in this suite, checked for stack traces at the end. */
  const bodies: string[] = []
  const raw = async (req: Parameters<typeof rawRequest>[1]) => {
    const r = await rawRequest(kw.endpoint, req)
    bodies.push(r.text)
    return r
  }
  before(async () => {
    kw = await startKeyward()
  })
  after(() => kw.close())

  describe('routing', () => {
    it('answers an unknown target with UnknownOperationException and no message', async () => {
      const r = await raw({ target: 'TrentService.MakeCoffee' })
      expectWireError(r, 'UnknownOperationException', undefined)
    })

    it('answers a target of another service with UnknownOperationException', async () => {
      const r = await raw({ target: 'DynamoDB_20120810.ListTables' })
      expectWireError(r, 'UnknownOperationException', undefined)
    })

    it('answers a request without X-Amz-Target with UnknownOperationException', async () => {
      const r = await raw({})
      expectWireError(r, 'UnknownOperationException', undefined)
    })

    // GET / alone answers a line of text (test/wire/aws-regions.test.ts); any other GET is no
    // KMS request.
    it('answers a GET other than / and /metrics with UnknownOperationException', async () => {
      const r = await send(kw.endpoint, { method: 'GET', path: '/?Action=ListKeys' })
      bodies.push(r.text)
      expectWireError(r, 'UnknownOperationException', undefined)
    })

    it('answers a Content-Type that is not AWS JSON with UnknownOperationException', async () => {
      const r = await raw({
        target: 'TrentService.GenerateRandom',
        body: '{"NumberOfBytes":8}',
        contentType: 'application/json',
      })
      expectWireError(r, 'UnknownOperationException', undefined)
    })

    it('accepts application/x-amz-json-1.0 as well', async () => {
      const r = await raw({
        target: 'TrentService.GenerateRandom',
        body: '{"NumberOfBytes":8}',
        contentType: 'application/x-amz-json-1.0',
      })
      expectWireSuccess(r)
    })

    it('implements every API operation of the model (none answers UnsupportedOperationException)', async () => {
      // ReplicateKey and UpdatePrimaryRegion were the last ones (issue 14). Should the model
      // gain an operation, the request core answers it UnsupportedOperationException naming
      // it (src/core/invoke.ts, findHandler) until it is built; this test then lists it.
      const missing = OPERATION_NAMES.filter((op) => !OPERATIONS[op])
      assert.deepEqual(missing, [])
    })
  })

  describe('request bodies', () => {
    it('refuses malformed JSON with SerializationException', async () => {
      const r = await raw({ target: 'TrentService.GenerateRandom', body: '{"NumberOfBytes":' })
      expectWireError(
        r,
        'SerializationException',
        'Unexpected token: the request body is not valid JSON.',
      )
    })

    it('refuses a JSON array with SerializationException', async () => {
      const r = await raw({ target: 'TrentService.GenerateRandom', body: '[1,2]' })
      expectWireError(
        r,
        'SerializationException',
        'Start of structure or map found where not expected.',
      )
    })

    it('refuses a JSON scalar with SerializationException', async () => {
      const r = await raw({ target: 'TrentService.GenerateRandom', body: '"x"' })
      expectWireError(
        r,
        'SerializationException',
        'Start of structure or map found where not expected.',
      )
    })

    it('refuses a "__proto__" member with SerializationException', async () => {
      const r = await raw({
        target: 'TrentService.GenerateRandom',
        body: '{"NumberOfBytes":8,"__proto__":{"polluted":true}}',
      })
      expectWireError(r, 'SerializationException', "Member name '__proto__' is not allowed.")
      assert.equal(({} as Record<string, unknown>).polluted, undefined)
    })

    it('refuses a "__proto__" key nested in a map', async () => {
      const r = await raw({
        target: 'TrentService.Encrypt',
        body: JSON.stringify({ KeyId: 'alias/x', Plaintext: 'AA==' }).replace(
          /}$/,
          ',"EncryptionContext":{"__proto__":"x"}}',
        ),
      })
      expectWireError(r, 'SerializationException', "Member name '__proto__' is not allowed.")
    })

    it('accepts "constructor" and "prototype" as encryption-context keys, as AWS does', async () => {
      const kms = kw.client()
      const { KeyMetadata } = await kms.send(new CreateKeyCommand({}))
      const context = { constructor: 'a', prototype: 'b' }
      const enc = await kms.send(
        new EncryptCommand({
          KeyId: KeyMetadata!.KeyId,
          Plaintext: Buffer.from('x'),
          EncryptionContext: context,
        }),
      )
      const dec = await kms.send(
        new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob, EncryptionContext: context }),
      )
      assert.equal(Buffer.from(dec.Plaintext!).toString(), 'x')
    })

    it('refuses a member of the wrong JSON type with SerializationException', async () => {
      const r = await raw({ target: 'TrentService.DescribeKey', body: '{"KeyId":5}' })
      expectWireError(
        r,
        'SerializationException',
        "Value at 'keyId' cannot be read as the member's type.",
      )
    })

    it('refuses a blob that is not base64 with SerializationException', async () => {
      const r = await raw({
        target: 'TrentService.Encrypt',
        body: '{"KeyId":"alias/x","Plaintext":"not base64!"}',
      })
      expectWireError(
        r,
        'SerializationException',
        "Value at 'plaintext' cannot be read as the member's type.",
      )
    })

    it('treats a JSON null member as absent', async () => {
      const r = await raw({ target: 'TrentService.DescribeKey', body: '{"KeyId":null}' })
      expectWireError(
        r,
        'ValidationException',
        "1 validation error detected: Value null at 'keyId' failed to satisfy constraint: Member must not be null",
      )
    })

    it('reads an empty body as an empty object', async () => {
      const r = await raw({ target: 'TrentService.DescribeKey', body: '' })
      expectWireError(
        r,
        'ValidationException',
        "1 validation error detected: Value null at 'keyId' failed to satisfy constraint: Member must not be null",
      )
    })

    it(`refuses a body over ${MAX_BODY_BYTES} bytes with 413 (declared length)`, async () => {
      const r = await send(kw.endpoint, {
        headers: {
          'content-type': 'application/x-amz-json-1.1',
          'x-amz-target': 'TrentService.GenerateRandom',
        },
        body: Buffer.alloc(MAX_BODY_BYTES + 1, 0x20),
      })
      bodies.push(r.text)
      expectWireError(
        r,
        'SerializationException',
        `The request body is larger than ${MAX_BODY_BYTES} bytes.`,
        { status: 413 },
      )
    })

    it(`refuses a chunked body over ${MAX_BODY_BYTES} bytes with 413`, async () => {
      const r = await send(kw.endpoint, {
        headers: {
          'content-type': 'application/x-amz-json-1.1',
          'x-amz-target': 'TrentService.GenerateRandom',
          'transfer-encoding': 'chunked',
        },
        body: Buffer.alloc(MAX_BODY_BYTES + 1, 0x20),
      })
      bodies.push(r.text)
      expectWireError(
        r,
        'SerializationException',
        `The request body is larger than ${MAX_BODY_BYTES} bytes.`,
        { status: 413 },
      )
    })

    it('closes the connection after a 413, so a keep-alive client can send again', async () => {
      const agent = new Agent({ keepAlive: true, maxSockets: 1 })
      try {
        const headers = {
          'content-type': 'application/x-amz-json-1.1',
          'x-amz-target': 'TrentService.GenerateRandom',
        }
        const big = await send(kw.endpoint, {
          headers,
          body: Buffer.alloc(MAX_BODY_BYTES + 1, 0x20),
          agent,
        })
        assert.equal(big.status, 413)
        assert.equal(big.headers.get('connection'), 'close')
        const next = await send(kw.endpoint, { headers, body: '{}', agent })
        expectWireError(next, 'MissingAuthenticationTokenException', 'Missing Authentication Token')
      } finally {
        agent.destroy()
      }
    })

    it('still serves requests after refusing a large body', async () => {
      expectWireSuccess(
        await raw({ target: 'TrentService.GenerateRandom', body: '{"NumberOfBytes":1}' }),
      )
    })
  })

  describe('answers', () => {
    it('sends timestamps as epoch seconds and blobs as base64', async () => {
      const before = Date.now() / 1000
      const created = expectWireSuccess(await raw({ target: 'TrentService.CreateKey', body: '{}' }))
      const metadata = created.KeyMetadata as Record<string, unknown>
      assert.equal(typeof metadata.CreationDate, 'number')
      assert.ok((metadata.CreationDate as number) >= Math.floor(before) - 1)
      assert.ok((metadata.CreationDate as number) <= Date.now() / 1000 + 1)

      const encrypted = expectWireSuccess(
        await raw({
          target: 'TrentService.Encrypt',
          body: JSON.stringify({
            KeyId: metadata.KeyId,
            Plaintext: Buffer.from('wire bytes').toString('base64'),
          }),
        }),
      )
      const blob = encrypted.CiphertextBlob
      assert.equal(typeof blob, 'string')
      assert.match(String(blob), /^[A-Za-z0-9+/]+={0,2}$/)
      assert.equal(Buffer.from(String(blob), 'base64').toString('base64'), blob)

      const decrypted = expectWireSuccess(
        await raw({
          target: 'TrentService.Decrypt',
          body: JSON.stringify({ CiphertextBlob: blob }),
        }),
      )
      assert.equal(Buffer.from(String(decrypted.Plaintext), 'base64').toString(), 'wire bytes')
    })

    it('answers an operation without output members with {}', async () => {
      const created = expectWireSuccess(await raw({ target: 'TrentService.CreateKey', body: '{}' }))
      const keyId = (created.KeyMetadata as Record<string, unknown>).KeyId
      const r = await raw({
        target: 'TrentService.DisableKey',
        body: JSON.stringify({ KeyId: keyId }),
      })
      expectWireSuccess(r)
      assert.equal(r.text, '{}')
      assert.equal(r.headers.get('content-type'), 'application/x-amz-json-1.1')
    })

    it('gives every answer its own request ID', async () => {
      const a = await raw({ target: 'TrentService.GenerateRandom', body: '{"NumberOfBytes":1}' })
      const b = await raw({ target: 'TrentService.GenerateRandom', body: '{"NumberOfBytes":1}' })
      assert.match(a.headers.get('x-amzn-requestid') ?? '', REQUEST_ID)
      assert.notEqual(a.headers.get('x-amzn-requestid'), b.headers.get('x-amzn-requestid'))
    })

    it('sends no stack trace or source path in any body of this suite', () => {
      assert.ok(bodies.length > 10)
      for (const body of bodies) {
        assert.doesNotMatch(body, /\n\s+at |\.[jt]s:\d+|node_modules|Error:/, body)
      }
    })
  })
})

describe('an internal failure', () => {
  let kw: TestServer
  before(async () => {
    kw = await startKeyward()
  })
  after(async () => {
    await kw.close().catch(() => undefined)
  })

  it('answers KMSInternalException 500 with the request ID, and logs the cause under it', async () => {
    // Closing the database under the running server makes the next store read fail.
    await kw.keyward.store.close()
    const r = await rawRequest(kw.endpoint, {
      target: 'TrentService.DescribeKey',
      body: '{"KeyId":"1234abcd-12ab-34cd-56ef-1234567890ab"}',
    })
    const requestId = r.headers.get('x-amzn-requestid')
    expectWireError(
      r,
      'KMSInternalException',
      `An internal error occurred. Request ID: ${requestId}`,
      { status: 500 },
    )
    const logged = kw.logger.lines.map((l) => JSON.parse(l) as Record<string, unknown>)
    const line = logged.find((l) => l.requestId === requestId)
    assert.ok(line, 'the cause is logged with the request ID')
    assert.equal(line.message, 'internal error')
    assert.match(String(line.cause), /\S/)
  })
})
