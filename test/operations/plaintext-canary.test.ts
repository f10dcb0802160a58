import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import {
  DecryptCommand,
  DisableKeyCommand,
  EncryptCommand,
  GenerateDataKeyCommand,
  GenerateDataKeyWithoutPlaintextCommand,
  ReEncryptCommand,
  type KMSClient,
} from '@aws-sdk/client-kms'
import { startKeyward, type TestServer } from '../support/keyward-server.js'
import {
  b64,
  createSymmetricKey,
  flipBit,
  insertKey,
  sendRaw,
  type TestKey,
} from './crypto-fixtures.js'

/**
 * STYLE.md habits 4 and 13: plaintext never reaches a log line or an error message. A known
 * canary goes through every symmetric operation, on success and on each kind of failure
 * (validation, key state, wrong context, internal error after the plaintext was opened), and
 * neither the captured log nor any answer may contain it in any encoding it travels in.
 */
const CANARY = Buffer.from('KEYWARD-CANARY-plaintext-3f9c1e7b-do-not-log')

/** The forms a leak could take: raw, base64 (the wire), hex (a debug dump). */
const forms = (secret: Buffer) => [
  secret.toString('latin1'),
  secret.toString('base64'),
  secret.toString('hex'),
]

describe('plaintext canary: never in logs or error messages', () => {
  let kw: TestServer
  let kms: KMSClient
  let key: TestKey
  let other: TestKey
  let disabled: TestKey
  let brokenKeyId: string
  const context = { canary: 'context' }
  /** Every error message and every raw error body seen. */
  const answers: string[] = []
  /** Secrets beyond the canary: data keys KMS generated. */
  const secrets: Buffer[] = [CANARY]

  const settle = async (label: string, call: Promise<unknown>) => {
    try {
      return await call
    } catch (error) {
      answers.push(`${label}: ${(error as Error).name}: ${(error as Error).message}`)
      return undefined
    }
  }

  before(async () => {
    kw = await startKeyward()
    kms = kw.client()
    key = await createSymmetricKey(kms)
    other = await createSymmetricKey(kms)
    disabled = await createSymmetricKey(kms)
    await kms.send(new DisableKeyCommand({ KeyId: disabled.keyId }))
    // A key whose stored material the root key cannot unwrap: every check passes, then the
    // operation fails inside, which is the path that logs a cause.
    brokenKeyId = (await insertKey(kw, { material: 'broken' })).keyId

    const enc = await kms.send(
      new EncryptCommand({ KeyId: key.keyId, Plaintext: CANARY, EncryptionContext: context }),
    )
    const blob = enc.CiphertextBlob!
    const gdk = await kms.send(
      new GenerateDataKeyCommand({
        KeyId: key.keyId,
        KeySpec: 'AES_256',
        EncryptionContext: context,
      }),
    )
    secrets.push(Buffer.from(gdk.Plaintext!))

    const calls: Array<[string, Promise<unknown>]> = [
      [
        'Encrypt disabled',
        kms.send(new EncryptCommand({ KeyId: disabled.keyId, Plaintext: CANARY })),
      ],
      ['Encrypt broken', kms.send(new EncryptCommand({ KeyId: brokenKeyId, Plaintext: CANARY }))],
      [
        'Encrypt DryRun',
        kms.send(new EncryptCommand({ KeyId: key.keyId, Plaintext: CANARY, DryRun: true })),
      ],
      [
        'Encrypt too long',
        kms.send(
          new EncryptCommand({
            KeyId: key.keyId,
            Plaintext: Buffer.concat([CANARY, Buffer.alloc(4096)]),
          }),
        ),
      ],
      ['Encrypt no key', kms.send(new EncryptCommand({ KeyId: 'alias/none', Plaintext: CANARY }))],
      [
        'Decrypt ok',
        kms.send(new DecryptCommand({ CiphertextBlob: blob, EncryptionContext: context })),
      ],
      ['Decrypt no context', kms.send(new DecryptCommand({ CiphertextBlob: blob }))],
      [
        'Decrypt tampered',
        kms.send(
          new DecryptCommand({ CiphertextBlob: flipBit(blob, -1), EncryptionContext: context }),
        ),
      ],
      [
        'Decrypt wrong key',
        kms.send(
          new DecryptCommand({
            CiphertextBlob: blob,
            EncryptionContext: context,
            KeyId: other.keyId,
          }),
        ),
      ],
      [
        'Decrypt DryRun',
        kms.send(
          new DecryptCommand({ CiphertextBlob: blob, EncryptionContext: context, DryRun: true }),
        ),
      ],
      [
        'GenerateDataKey broken',
        kms.send(new GenerateDataKeyCommand({ KeyId: brokenKeyId, KeySpec: 'AES_256' })),
      ],
      [
        'GenerateDataKeyWithoutPlaintext ok',
        kms.send(
          new GenerateDataKeyWithoutPlaintextCommand({ KeyId: key.keyId, NumberOfBytes: 64 }),
        ),
      ],
      [
        'ReEncrypt ok',
        kms.send(
          new ReEncryptCommand({
            CiphertextBlob: blob,
            SourceEncryptionContext: context,
            DestinationKeyId: other.arn,
          }),
        ),
      ],
      [
        'ReEncrypt wrong context',
        kms.send(new ReEncryptCommand({ CiphertextBlob: blob, DestinationKeyId: other.arn })),
      ],
      [
        // The canary is opened, then sealing under the destination fails inside.
        'ReEncrypt to broken key',
        kms.send(
          new ReEncryptCommand({
            CiphertextBlob: blob,
            SourceEncryptionContext: context,
            DestinationKeyId: brokenKeyId,
          }),
        ),
      ],
      [
        'ReEncrypt to disabled key',
        kms.send(
          new ReEncryptCommand({
            CiphertextBlob: blob,
            SourceEncryptionContext: context,
            DestinationKeyId: disabled.keyId,
          }),
        ),
      ],
    ]
    for (const [label, call] of calls) await settle(label, call)

    for (const [operation, body] of [
      ['Encrypt', { KeyId: brokenKeyId, Plaintext: b64(CANARY) }],
      [
        'Encrypt',
        { KeyId: key.keyId, Plaintext: b64(Buffer.concat([CANARY, Buffer.alloc(4096)])) },
      ],
      // Sent as text instead of base64: the error must not echo it.
      ['Encrypt', { KeyId: key.keyId, Plaintext: CANARY.toString('latin1') }],
      ['Decrypt', { CiphertextBlob: b64(blob) }],
      [
        'ReEncrypt',
        {
          CiphertextBlob: b64(blob),
          SourceEncryptionContext: context,
          DestinationKeyId: brokenKeyId,
        },
      ],
    ] as const) {
      const r = await sendRaw(kw, operation, body)
      assert.notEqual(r.status, 200, `${operation} was expected to fail: ${r.text}`)
      answers.push(`${operation} (raw): ${r.text}`)
    }
  })
  after(() => kw.close())

  it('the failing calls did fail, and the internal errors were logged', () => {
    assert.ok(answers.length >= 15, answers.join('\n'))
    assert.ok(
      answers.some((a) => a.includes('KMSInternalException')),
      answers.join('\n'),
    )
    assert.ok(
      kw.logger.lines.filter((l) => l.includes('internal error')).length >= 4,
      kw.logger.lines.join('\n'),
    )
  })

  it('no log line contains the canary or a generated data key', () => {
    for (const line of kw.logger.lines) {
      for (const secret of secrets) {
        for (const form of forms(secret)) assert.ok(!line.includes(form), `leaked in log: ${line}`)
      }
    }
  })

  it('no error message or error body contains the canary or a generated data key', () => {
    for (const answer of answers) {
      for (const secret of secrets) {
        for (const form of forms(secret)) assert.ok(!answer.includes(form), `leaked: ${answer}`)
      }
    }
  })
})
