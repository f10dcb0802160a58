import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { CreateKeyCommand } from '@aws-sdk/client-kms'
import { checkJsonBytes, MAX_JSON_DEPTH } from '../../src/wire/json-body.js'
import { startKeyward, type TestServer } from '../support/keyward-server.js'
import { rawRequest } from '../support/raw-request.js'
import { expectWireError, expectWireSuccess } from '../support/wire-assertions.js'

/**
 * Issue 10, items 2 and 3: the bytes of a body are checked before JSON.parse. Invalid UTF-8
 * used to become U+FFFD (two contexts differing only in bad bytes collided), and about 2,000
 * levels of nesting overflowed the stack in validation (500 and a stack trace in the log).
 */

const NOT_UTF8 = 'The request body is not valid UTF-8.'
const TOO_DEEP = `The request body nests arrays and objects deeper than ${MAX_JSON_DEPTH} levels.`

const nested = (depth: number) => '['.repeat(depth) + ']'.repeat(depth)

describe('checkJsonBytes', () => {
  const cases: { name: string; body: Buffer; message?: string }[] = [
    { name: 'plain ASCII JSON', body: Buffer.from('{"KeyId":"alias/a"}') },
    { name: 'UTF-8 text (é, 鍵, 🔑)', body: Buffer.from('{"k":"é 鍵 🔑"}') },
    { name: `${MAX_JSON_DEPTH} levels`, body: Buffer.from(nested(MAX_JSON_DEPTH)) },
    {
      name: 'brackets inside strings do not count',
      body: Buffer.from(`{"k":"${'[{'.repeat(100)}"}`),
    },
    {
      name: 'an escaped quote does not end the string',
      body: Buffer.from(`{"k":"\\"${'['.repeat(100)}"}`),
    },
    {
      name: `${MAX_JSON_DEPTH + 1} levels`,
      body: Buffer.from(nested(MAX_JSON_DEPTH + 1)),
      message: TOO_DEEP,
    },
    {
      name: 'objects count like arrays',
      body: Buffer.from('{"a":'.repeat(MAX_JSON_DEPTH + 1) + '1' + '}'.repeat(MAX_JSON_DEPTH + 1)),
      message: TOO_DEEP,
    },
    {
      name: 'a lone continuation byte',
      body: Buffer.from([...Buffer.from('{"k":"'), 0x80, ...Buffer.from('"}')]),
      message: NOT_UTF8,
    },
    {
      name: 'an overlong encoding of "/"',
      body: Buffer.from([...Buffer.from('{"k":"'), 0xc0, 0xaf, ...Buffer.from('"}')]),
      message: NOT_UTF8,
    },
    {
      name: 'an encoded surrogate (CESU-8)',
      body: Buffer.from([...Buffer.from('{"k":"'), 0xed, 0xa0, 0x80, ...Buffer.from('"}')]),
      message: NOT_UTF8,
    },
    {
      name: 'a truncated sequence at the end',
      body: Buffer.from([...Buffer.from('{"k":"'), 0xe9, 0x8d]),
      message: NOT_UTF8,
    },
  ]
  for (const c of cases) {
    it(`${c.message ? 'refuses' : 'accepts'} ${c.name}`, () => {
      if (!c.message) return checkJsonBytes(c.body)
      assert.throws(() => checkJsonBytes(c.body), {
        name: 'SerializationException',
        message: c.message,
      })
    })
  }
})

describe('request bodies on the wire', () => {
  let kw: TestServer
  let keyId: string
  before(async () => {
    kw = await startKeyward()
    keyId = (await kw.client().send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!
  })
  after(() => kw.close())

  /** An Encrypt body whose encryption context value is `value` (raw bytes). */
  const encryptWithContextValue = (value: number[]) =>
    rawRequest(kw.endpoint, {
      target: 'TrentService.Encrypt',
      body: Buffer.concat([
        Buffer.from(`{"KeyId":"${keyId}","Plaintext":"AAAA","EncryptionContext":{"k":"`),
        Buffer.from(value),
        Buffer.from('"}}'),
      ]),
    })

  it('refuses both of two encryption contexts that differ only in invalid bytes', async () => {
    for (const bad of [[0xff], [0xfe]]) {
      expectWireError(await encryptWithContextValue(bad), 'SerializationException', NOT_UTF8)
    }
  })

  it('still encrypts under a context in valid UTF-8', async () => {
    expectWireSuccess(await encryptWithContextValue([...Buffer.from('鍵')]))
  })

  it('refuses 3,000 levels of nesting (6 KB) with SerializationException, and logs nothing', async () => {
    const r = await rawRequest(kw.endpoint, {
      target: 'TrentService.Encrypt',
      body: `{"KeyId":"${keyId}","Plaintext":"AAAA","EncryptionContext":${nested(3_000)}}`,
    })
    expectWireError(r, 'SerializationException', TOO_DEEP)
    assert.deepEqual(kw.logger.lines, [])
  })
})
