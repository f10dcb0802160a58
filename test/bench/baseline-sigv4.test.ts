import assert from 'node:assert/strict'
import { test } from 'node:test'
import { sigV4Verifier } from '../../bench/baseline-sigv4.js'
import { signKmsCall, type KmsCall } from '../../bench/signing.js'

const credentials = { accessKeyId: 'AKIABASELINE00000001', secretAccessKey: 'baseline-secret-1' }
const call: KmsCall = {
  endpoint: 'http://127.0.0.1:4000',
  target: 'TrentService.Encrypt',
  body: '{"KeyId":"k","Plaintext":"AA=="}',
  credentials,
}

/** Node's lower-cased header map of what the SDK's signer sends. */
async function signed(options: { body?: string; signingDate?: Date } = {}) {
  const headers = await signKmsCall(
    { ...call, body: options.body ?? call.body },
    options.signingDate ? { signingDate: options.signingDate } : {},
  )
  return Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]))
}

test('the SigV4 baseline accepts what @smithy/signature-v4 signs, and nothing altered', async () => {
  const verify = sigV4Verifier(credentials, 'kms')
  const request = (headers: Record<string, string>, body = call.body) => ({
    method: 'POST',
    url: '/',
    headers,
    body: Buffer.from(body),
  })
  const now = Date.now()
  assert.equal(verify(request(await signed()), now), true)
  // Another body than the signed one: the payload hash no longer matches.
  assert.equal(verify(request(await signed(), '{"KeyId":"x"}'), now), false)
  // Another secret.
  const other = sigV4Verifier({ ...credentials, secretAccessKey: 'other' }, 'kms')
  assert.equal(other(request(await signed()), now), false)
  // Another service in the scope.
  assert.equal(sigV4Verifier(credentials, 'sts')(request(await signed()), now), false)
  // Signed 6 minutes ago: outside the 5-minute window.
  const old = await signed({ signingDate: new Date(now - 6 * 60 * 1000) })
  assert.equal(verify(request(old), now), false)
  // A signed header changed after signing.
  const headers = await signed()
  assert.equal(verify(request({ ...headers, 'x-amz-target': 'TrentService.Decrypt' }), now), false)
})
