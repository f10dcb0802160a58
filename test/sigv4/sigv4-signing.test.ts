import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { signSigV4, verifySigV4 } from '../../src/sigv4/sigv4.js'

/**
 * signSigV4, the signer of Keyward's calls to XKS proxies, checked against AWS's published
 * SigV4 test suite (aws-sig-v4-test-suite, "post-vanilla" and "get-vanilla": credentials
 * AKIDEXAMPLE, 2015-08-30T12:36:00Z, us-east-1, service "service") and against Keyward's own
 * verifier.
 */

const EXAMPLE = {
  accessKeyId: 'AKIDEXAMPLE',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
  region: 'us-east-1',
  service: 'service',
  now: Date.UTC(2015, 7, 30, 12, 36, 0),
}

describe('signSigV4', () => {
  it('gives the signature of the test suite for post-vanilla and get-vanilla', () => {
    const request = { url: '/', headers: { host: 'example.amazonaws.com' }, body: Buffer.alloc(0) }
    const post = signSigV4({ ...request, method: 'POST' }, EXAMPLE)
    assert.equal(post['x-amz-date'], '20150830T123600Z')
    assert.equal(
      post.authorization,
      'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b',
    )
    const get = signSigV4({ ...request, method: 'GET' }, EXAMPLE)
    assert.match(
      get.authorization,
      /Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31$/,
    )
  })

  it('is accepted by the verifier with service kms-xks-proxy, and not once the body changes', () => {
    const body = Buffer.from('{"requestMetadata":{"kmsRequestId":"1","kmsOperation":"Encrypt"}}')
    const options = { ...EXAMPLE, service: 'kms-xks-proxy', now: Date.now() }
    const sent = { method: 'POST', url: '/p/kms/xks/v1/health', body }
    const headers = { host: 'xks.example.com:8443' }
    const signed = signSigV4({ ...sent, headers }, options)
    const lookup = (id: string) =>
      id === EXAMPLE.accessKeyId
        ? { secretAccessKey: EXAMPLE.secretAccessKey, principal: 'kms' }
        : undefined
    const verify = (b: Buffer) =>
      verifySigV4(
        { ...sent, body: b, headers: { ...headers, ...signed } },
        { service: 'kms-xks-proxy', now: Date.now(), lookup },
      )
    assert.equal(verify(body).principal, 'kms')
    assert.throws(() => verify(Buffer.concat([body, Buffer.from(' ')])), {
      name: 'InvalidSignatureException',
    })
  })
})
