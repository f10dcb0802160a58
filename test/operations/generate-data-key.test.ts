import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { it } from 'node:test'
import { DecryptCommand, GenerateDataKeyCommand } from '@aws-sdk/client-kms'
import { expectKmsError } from '../support/assertions.js'
import { describeDataKeyRules } from './data-key-suite.js'

describeDataKeyRules('GenerateDataKey', (env) => {
  it('returns the data key in plaintext, equal to what its ciphertext decrypts to', async () => {
    const { kms, key } = env()
    const out = await kms.send(new GenerateDataKeyCommand({ KeyId: key.arn, KeySpec: 'AES_128' }))
    assert.equal(out.Plaintext!.length, 16)
    const dec = await kms.send(new DecryptCommand({ CiphertextBlob: out.CiphertextBlob }))
    assert.deepEqual(Buffer.from(dec.Plaintext!), Buffer.from(out.Plaintext!))
  })

  it('refuses Recipient (Nitro Enclaves attestation) as unsupported', async () => {
    const { kms, key } = env()
    await expectKmsError(
      kms.send(
        new GenerateDataKeyCommand({
          KeyId: key.keyId,
          KeySpec: 'AES_256',
          Recipient: {
            KeyEncryptionAlgorithm: 'RSAES_OAEP_SHA_256',
            AttestationDocument: randomBytes(16),
          },
        }),
      ),
      'UnsupportedOperationException',
      'Recipient (AWS Nitro Enclaves attestation) is not supported by Keyward.',
    )
  })
})
