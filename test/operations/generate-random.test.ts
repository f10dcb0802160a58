import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import { GenerateRandomCommand, type KMSClient } from '@aws-sdk/client-kms'
import { expectKmsError } from '../support/assertions.js'
import { startKeyward, type TestServer } from '../support/keyward-server.js'
import { sendRaw } from './crypto-fixtures.js'

describe('GenerateRandom', () => {
  let kw: TestServer
  let kms: KMSClient
  before(async () => {
    kw = await startKeyward()
    kms = kw.client()
  })
  after(() => kw.close())

  for (const n of [1, 32, 1024]) {
    it(`returns exactly ${n} random byte(s)`, async () => {
      const out = await kms.send(new GenerateRandomCommand({ NumberOfBytes: n }))
      assert.equal(out.Plaintext!.length, n)
    })
  }

  it('returns different bytes each time', async () => {
    const [a, b] = await Promise.all([
      kms.send(new GenerateRandomCommand({ NumberOfBytes: 32 })),
      kms.send(new GenerateRandomCommand({ NumberOfBytes: 32 })),
    ])
    assert.notDeepEqual(Buffer.from(a.Plaintext!), Buffer.from(b.Plaintext!))
  })

  it('answers only Plaintext on the wire', async () => {
    const r = await sendRaw(kw, 'GenerateRandom', { NumberOfBytes: 8 })
    assert.equal(r.status, 200, r.text)
    assert.deepEqual(Object.keys(r.json!), ['Plaintext'])
    assert.equal(Buffer.from(String(r.json!.Plaintext), 'base64').length, 8)
  })

  describe('refuses, with the messages recorded against AWS', () => {
    const rows: Array<{ name: string; input: { NumberOfBytes?: number }; message: string }> = [
      { name: 'no NumberOfBytes', input: {}, message: 'NumberOfBytes is required.' },
      {
        name: 'NumberOfBytes 0',
        input: { NumberOfBytes: 0 },
        message:
          "1 validation error detected: Value '0' at 'numberOfBytes' failed to satisfy constraint: Member must have value greater than or equal to 1",
      },
      {
        name: 'NumberOfBytes 1025',
        input: { NumberOfBytes: 1025 },
        message:
          "1 validation error detected: Value '1025' at 'numberOfBytes' failed to satisfy constraint: Member must have value less than or equal to 1024",
      },
    ]
    for (const row of rows) {
      it(row.name, async () => {
        await expectKmsError(
          kms.send(new GenerateRandomCommand(row.input)),
          'ValidationException',
          row.message,
        )
      })
    }
  })

  it('refuses an unknown custom key store, and Recipient as unsupported', async () => {
    // Random bytes from a store's HSM: test/operations/hsm-keys.test.ts.
    await expectKmsError(
      kms.send(
        new GenerateRandomCommand({ NumberOfBytes: 8, CustomKeyStoreId: 'cks-1234567890abcdef0' }),
      ),
      'CustomKeyStoreNotFoundException',
      'The request was rejected because AWS KMS cannot find a custom key store with the specified key store name or ID.',
    )
    await expectKmsError(
      kms.send(
        new GenerateRandomCommand({
          NumberOfBytes: 8,
          Recipient: {
            KeyEncryptionAlgorithm: 'RSAES_OAEP_SHA_256',
            AttestationDocument: randomBytes(8),
          },
        }),
      ),
      'UnsupportedOperationException',
      'Recipient (AWS Nitro Enclaves attestation) is not supported by Keyward.',
    )
  })
})
