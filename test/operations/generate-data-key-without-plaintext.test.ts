import assert from 'node:assert/strict'
import { it } from 'node:test'
import { GenerateDataKeyWithoutPlaintextCommand } from '@aws-sdk/client-kms'
import { describeDataKeyRules } from './data-key-suite.js'

describeDataKeyRules('GenerateDataKeyWithoutPlaintext', (env) => {
  it('never returns the plaintext data key', async () => {
    const { kms, key } = env()
    const out = await kms.send(
      new GenerateDataKeyWithoutPlaintextCommand({ KeyId: key.keyId, KeySpec: 'AES_256' }),
    )
    assert.equal((out as { Plaintext?: unknown }).Plaintext, undefined)
    assert.ok(out.CiphertextBlob!.length > 32)
  })
})
