import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import {
  DecryptCommand,
  EncryptCommand,
  GenerateDataKeyCommand,
  GenerateDataKeyWithoutPlaintextCommand,
  ReEncryptCommand,
  type KMSClient,
} from '@aws-sdk/client-kms'
import { expectKmsError } from '../support/assertions.js'
import { startKeyward, type TestServer } from '../support/keyward-server.js'
import {
  b64,
  createSymmetricKey,
  expectBareWireError,
  NO_MESSAGE,
  sendRaw,
  type TestKey,
} from './crypto-fixtures.js'

/**
 * Every operation that produces a symmetric ciphertext must bind the encryption context the
 * same way (STYLE.md habit 8). Emulators shipped GenerateDataKey* variants that dropped it
 * while Encrypt honoured it (localstack#8503, #8505; fakecloud#1909), and joined the pairs
 * without delimiters so that {"a":"bc"} and {"ab":"c"} collide. This table runs each producer
 * against each context case and opens the result with each consumer.
 */
type Context = Record<string, string> | undefined

interface Env {
  kms: KMSClient
  key: TestKey
  /** A second key, for ReEncrypt's source ciphertext. */
  other: TestKey
}

const PRODUCERS: Record<string, (env: Env, context: Context) => Promise<Uint8Array>> = {
  Encrypt: async ({ kms, key }, context) =>
    (
      await kms.send(
        new EncryptCommand({
          KeyId: key.keyId,
          Plaintext: Buffer.from('context binding'),
          EncryptionContext: context,
        }),
      )
    ).CiphertextBlob!,
  GenerateDataKey: async ({ kms, key }, context) =>
    (
      await kms.send(
        new GenerateDataKeyCommand({
          KeyId: key.arn,
          KeySpec: 'AES_256',
          EncryptionContext: context,
        }),
      )
    ).CiphertextBlob!,
  GenerateDataKeyWithoutPlaintext: async ({ kms, key }, context) =>
    (
      await kms.send(
        new GenerateDataKeyWithoutPlaintextCommand({
          KeyId: key.keyId,
          NumberOfBytes: 24,
          EncryptionContext: context,
        }),
      )
    ).CiphertextBlob!,
  ReEncrypt: async ({ kms, key, other }, context) => {
    const first = await kms.send(
      new EncryptCommand({
        KeyId: other.keyId,
        Plaintext: Buffer.from('context binding'),
        EncryptionContext: { source: 'context' },
      }),
    )
    const out = await kms.send(
      new ReEncryptCommand({
        CiphertextBlob: first.CiphertextBlob,
        SourceEncryptionContext: { source: 'context' },
        DestinationKeyId: key.arn,
        DestinationEncryptionContext: context,
      }),
    )
    return out.CiphertextBlob!
  },
}

/** The operations that open a ciphertext, by the member that carries its context. */
const CONSUMERS: Record<
  string,
  {
    sdk: (env: Env, blob: Uint8Array, context: Context) => Promise<unknown>
    wireBody: (env: Env, blob: Uint8Array, context: Context) => Record<string, unknown>
  }
> = {
  Decrypt: {
    sdk: ({ kms }, blob, context) =>
      kms.send(new DecryptCommand({ CiphertextBlob: blob, EncryptionContext: context })),
    wireBody: (_env, blob, context) => ({
      CiphertextBlob: b64(blob),
      ...(context ? { EncryptionContext: context } : {}),
    }),
  },
  ReEncrypt: {
    sdk: ({ kms, other }, blob, context) =>
      kms.send(
        new ReEncryptCommand({
          CiphertextBlob: blob,
          SourceEncryptionContext: context,
          DestinationKeyId: other.keyId,
        }),
      ),
    wireBody: ({ other }, blob, context) => ({
      CiphertextBlob: b64(blob),
      DestinationKeyId: other.keyId,
      ...(context ? { SourceEncryptionContext: context } : {}),
    }),
  },
}

const NFC = 'caf\u00e9'
const NFD = 'cafe\u0301'

/** Named rows: sealed with one context, opened with another; `opens` says what must happen. */
const CASES: Array<{ name: string; sealed: Context; opened: Context; opens: boolean }> = [
  {
    name: 'the same context',
    sealed: { purpose: 'x', tenant: 'acme' },
    opened: { purpose: 'x', tenant: 'acme' },
    opens: true,
  },
  {
    name: 'the same context, pairs in another order',
    sealed: { purpose: 'x', tenant: 'acme' },
    opened: { tenant: 'acme', purpose: 'x' },
    opens: true,
  },
  { name: 'no context either time', sealed: undefined, opened: undefined, opens: true },
  { name: 'an empty context for none', sealed: undefined, opened: {}, opens: true },
  {
    name: 'unicode keys and values',
    sealed: { [NFC]: '\u{1F511}' },
    opened: { [NFC]: '\u{1F511}' },
    opens: true,
  },
  {
    name: 'a different value',
    sealed: { purpose: 'x' },
    opened: { purpose: 'y' },
    opens: false,
  },
  { name: 'a missing context', sealed: { purpose: 'x' }, opened: undefined, opens: false },
  { name: 'an empty context', sealed: { purpose: 'x' }, opened: {}, opens: false },
  {
    name: 'a context where none was bound',
    sealed: undefined,
    opened: { purpose: 'x' },
    opens: false,
  },
  {
    name: '{"a":"bc"} opened with {"ab":"c"}',
    sealed: { a: 'bc' },
    opened: { ab: 'c' },
    opens: false,
  },
  {
    name: '{"ab":"c"} opened with {"a":"bc"}',
    sealed: { ab: 'c' },
    opened: { a: 'bc' },
    opens: false,
  },
  {
    name: 'an extra pair',
    sealed: { purpose: 'x' },
    opened: { purpose: 'x', extra: 'y' },
    opens: false,
  },
  {
    name: 'a pair left out',
    sealed: { purpose: 'x', tenant: 'acme' },
    opened: { purpose: 'x' },
    opens: false,
  },
  {
    name: 'a key in another case',
    sealed: { purpose: 'x' },
    opened: { Purpose: 'x' },
    opens: false,
  },
  { name: 'an empty value for a missing pair', sealed: { a: '' }, opened: undefined, opens: false },
  {
    name: 'the key and value swapped',
    sealed: { purpose: 'x' },
    opened: { x: 'purpose' },
    opens: false,
  },
  { name: 'another unicode normalisation', sealed: { k: NFC }, opened: { k: NFD }, opens: false },
  {
    name: 'a lone surrogate for U+FFFD (what UTF-8 encoding would turn it into)',
    sealed: { k: '\ufffd' },
    opened: { k: '\ud800' },
    opens: false,
  },
  {
    name: 'a lone surrogate, opened with the same',
    sealed: { k: '\ud800' },
    opened: { k: '\ud800' },
    opens: true,
  },
]

describe('every ciphertext producer binds the encryption context', () => {
  let kw: TestServer
  const env = {} as Env
  before(async () => {
    kw = await startKeyward()
    env.kms = kw.client()
    env.key = await createSymmetricKey(env.kms)
    env.other = await createSymmetricKey(env.kms)
  })
  after(() => kw.close())

  for (const [producerName, produce] of Object.entries(PRODUCERS)) {
    describe(producerName, () => {
      for (const c of CASES) {
        it(`${c.opens ? 'opens' : 'refuses'}: ${c.name}`, async () => {
          const blob = await produce(env, c.sealed)
          for (const [consumerName, consumer] of Object.entries(CONSUMERS)) {
            if (c.opens) {
              await consumer.sdk(env, blob, c.opened)
              continue
            }
            await expectKmsError(
              consumer.sdk(env, blob, c.opened),
              'InvalidCiphertextException',
              NO_MESSAGE,
            )
            const r = await sendRaw(kw, consumerName, consumer.wireBody(env, blob, c.opened))
            expectBareWireError(r, 'InvalidCiphertextException')
          }
        })
      }
    })
  }

  describe('KeyMaterialId in the answers (kms-api.md: added 2025-06; on Encrypt for one day only)', () => {
    const rows: Array<{
      operation: string
      body: (env: Env) => Promise<Record<string, unknown>>
      members: string[]
    }> = [
      {
        operation: 'Encrypt',
        body: async ({ key }) => ({ KeyId: key.keyId, Plaintext: b64(Buffer.from('x')) }),
        members: [],
      },
      {
        operation: 'Decrypt',
        body: async (e) => ({ CiphertextBlob: b64(await PRODUCERS.Encrypt!(e, undefined)) }),
        members: ['KeyMaterialId'],
      },
      {
        operation: 'GenerateDataKey',
        body: async ({ key }) => ({ KeyId: key.keyId, KeySpec: 'AES_128' }),
        members: ['KeyMaterialId'],
      },
      {
        operation: 'GenerateDataKeyWithoutPlaintext',
        body: async ({ key }) => ({ KeyId: key.keyId, KeySpec: 'AES_128' }),
        members: ['KeyMaterialId'],
      },
      {
        operation: 'ReEncrypt',
        body: async (e) => ({
          CiphertextBlob: b64(await PRODUCERS.Encrypt!(e, undefined)),
          DestinationKeyId: e.other.arn,
        }),
        members: ['DestinationKeyMaterialId', 'SourceKeyMaterialId'],
      },
    ]
    for (const row of rows) {
      it(`${row.operation}: ${row.members.length ? row.members.join(', ') : 'none'}`, async () => {
        const r = await sendRaw(kw, row.operation, await row.body(env))
        assert.equal(r.status, 200, r.text)
        const present = Object.keys(r.json!).filter((k) => k.endsWith('KeyMaterialId'))
        assert.deepEqual(present.sort(), row.members)
        const expected: Record<string, string> = {
          KeyMaterialId: env.key.keyMaterialId,
          SourceKeyMaterialId: env.key.keyMaterialId,
          DestinationKeyMaterialId: env.other.keyMaterialId,
        }
        for (const m of present) assert.equal(r.json![m], expected[m], m)
      })
    }
  })

  describe('DryRun: 400 DryRunOperationException with AWS message, on every crypto operation', () => {
    const rows: Array<{ operation: string; body: (env: Env) => Promise<Record<string, unknown>> }> =
      [
        {
          operation: 'Encrypt',
          body: async ({ key }) => ({ KeyId: key.keyId, Plaintext: b64(Buffer.from('x')) }),
        },
        {
          operation: 'Decrypt',
          body: async (e) => ({ CiphertextBlob: b64(await PRODUCERS.Encrypt!(e, undefined)) }),
        },
        {
          operation: 'GenerateDataKey',
          body: async ({ key }) => ({ KeyId: key.keyId, KeySpec: 'AES_256' }),
        },
        {
          operation: 'GenerateDataKeyWithoutPlaintext',
          body: async ({ key }) => ({ KeyId: key.keyId, NumberOfBytes: 8 }),
        },
        {
          operation: 'ReEncrypt',
          body: async (e) => ({
            CiphertextBlob: b64(await PRODUCERS.Encrypt!(e, undefined)),
            DestinationKeyId: e.other.keyId,
          }),
        },
      ]
    for (const row of rows) {
      it(row.operation, async () => {
        const r = await sendRaw(kw, row.operation, { ...(await row.body(env)), DryRun: true })
        assert.equal(r.status, 400, r.text)
        assert.deepEqual(r.json, {
          __type: 'DryRunOperationException',
          message: 'The request would have succeeded, but the DryRun option is set.',
        })
      })
    }
  })

  it('the table has a row for every producer and both outcomes', () => {
    assert.deepEqual(Object.keys(PRODUCERS).sort(), [
      'Encrypt',
      'GenerateDataKey',
      'GenerateDataKeyWithoutPlaintext',
      'ReEncrypt',
    ])
    assert.ok(CASES.some((c) => c.opens) && CASES.some((c) => !c.opens))
  })
})
