import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { authorize, type AuthorizationRequest } from '../../src/xks-proxy/authorize.js'
import type { XksRule } from '../../src/xks-proxy/config.js'
import { matchesAny } from '../../src/xks-proxy/patterns.js'
import { TokenBucket } from '../../src/xks-proxy/throttle.js'

const request = (
  over: Partial<AuthorizationRequest['requestMetadata']> = {},
  op: AuthorizationRequest['operation'] = 'Encrypt',
  keyId = 'foo',
): AuthorizationRequest => ({
  operation: op,
  keyId,
  requestMetadata: {
    kmsRequestId: 'r',
    kmsOperation: 'Encrypt',
    awsPrincipalArn: 'arn:aws:iam::111122223333:role/App',
    kmsKeyArn: 'arn:aws:kms:us-east-1:111122223333:key/k1',
    ...over,
  },
})

describe('secondary authorization', () => {
  const cases: Array<{
    name: string
    rules: XksRule[] | undefined
    req: AuthorizationRequest
    expect: ReturnType<typeof authorize>
  }> = [
    {
      name: 'no rules allow everything',
      rules: undefined,
      req: request(),
      expect: { allowed: true },
    },
    {
      name: 'an empty list allows everything',
      rules: [],
      req: request(),
      expect: { allowed: true },
    },
    {
      name: 'a matching Allow allows, named',
      rules: [{ name: 'app', effect: 'Allow', principals: ['arn:aws:iam::111122223333:role/*'] }],
      req: request(),
      expect: { allowed: true, rule: 'app' },
    },
    {
      name: 'Allow rules that do not match deny',
      rules: [{ effect: 'Allow', principals: ['arn:aws:iam::444455556666:*'] }],
      req: request(),
      expect: { allowed: false, rule: 'no Allow rule matched' },
    },
    {
      name: 'a Deny wins over an Allow, whatever the order',
      rules: [
        { effect: 'Allow', principals: ['*'] },
        { effect: 'Deny', operations: ['Decrypt'] },
      ],
      req: request({}, 'Decrypt'),
      expect: { allowed: false, rule: 'rules[1]' },
    },
    {
      name: 'Deny rules alone leave the rest allowed',
      rules: [{ effect: 'Deny', operations: ['Decrypt'] }],
      req: request(),
      expect: { allowed: true },
    },
    {
      name: 'a condition on a field the request lacks does not match (GetKeyMetadata for CreateKey)',
      rules: [{ effect: 'Allow', kmsKeyArns: ['arn:aws:kms:*:111122223333:key/*'] }],
      req: request({ kmsKeyArn: undefined }, 'GetKeyMetadata'),
      expect: { allowed: false, rule: 'no Allow rule matched' },
    },
    {
      name: 'every condition of a rule must match',
      rules: [{ effect: 'Allow', keys: ['foo'], kmsOperations: ['Decrypt'], viaServices: ['ebs'] }],
      req: request({ kmsViaService: 'ebs' }),
      expect: { allowed: false, rule: 'no Allow rule matched' },
    },
    {
      name: 'keys, VPC endpoints and via-services match by pattern',
      rules: [
        { effect: 'Allow', keys: ['f?o'], sourceVpces: ['vpce-1*'], viaServices: ['ebs', 's3'] },
      ],
      req: request({ awsSourceVpce: 'vpce-123', kmsViaService: 's3' }),
      expect: { allowed: true, rule: 'rules[0]' },
    },
  ]
  for (const c of cases) {
    it(c.name, () => assert.deepEqual(authorize(c.rules, c.req), c.expect))
  }

  it('patterns: * and ? are wildcards, everything else literal and case-sensitive', () => {
    assert.ok(matchesAny(['a*c'], 'abbbc'))
    assert.ok(matchesAny(['a?c'], 'abc'))
    assert.ok(!matchesAny(['a?c'], 'abbc'))
    assert.ok(!matchesAny(['a.c'], 'abc'), 'a dot is a dot')
    assert.ok(!matchesAny(['ABC'], 'abc'))
    assert.ok(matchesAny(['x', 'arn:aws:iam::*:user/(x)'], 'arn:aws:iam::1:user/(x)'))
  })
})

describe('TokenBucket', () => {
  it('gives a burst, then the rate', () => {
    const bucket = new TokenBucket({ requestsPerSecond: 10, burst: 3 }, 0)
    assert.deepEqual(
      [1, 2, 3, 4].map(() => bucket.take(0)),
      [true, true, true, false],
    )
    assert.equal(bucket.take(50), false, 'half a token after 50 ms')
    assert.equal(bucket.take(100), true)
    assert.equal(bucket.take(100), false)
    assert.equal(bucket.take(10_000), true, 'refilled, capped at the burst')
    assert.equal(bucket.take(10_000), true)
    assert.equal(bucket.take(10_000), true)
    assert.equal(bucket.take(10_000), false)
  })
})
