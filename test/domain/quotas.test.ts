import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import {
  ASYMMETRIC_QUOTA,
  isRequestQuotaName,
  quotaOf,
  RequestRateLimiter,
  SYMMETRIC_QUOTA,
  THROTTLING_MESSAGE,
} from '../../src/domain/quotas.js'
import { ManualClock } from '../../src/ports/clock.js'

/**
 * AWS's request quotas (Developer Guide, "Request quotas"; kms-api.md §4.3) and the token
 * buckets that enforce them, on a manual clock.
 */

const ACCOUNT = '111122223333'

describe('quotaOf', () => {
  const ROWS: Array<[string, Parameters<typeof quotaOf>[0], ReturnType<typeof quotaOf>]> = [
    [
      'CreateKey: 5/s',
      { operation: 'CreateKey', region: 'eu-west-3' },
      { quota: 'CreateKey', defaultRate: 5 },
    ],
    [
      'DescribeKey: 2000/s',
      { operation: 'DescribeKey', region: 'eu-west-3' },
      { quota: 'DescribeKey', defaultRate: 2000 },
    ],
    [
      'GetParametersForImport: 1/s',
      { operation: 'GetParametersForImport', region: 'eu-west-3' },
      { quota: 'GetParametersForImport', defaultRate: 1 },
    ],
    [
      'Encrypt, most Regions: 10,000/s shared',
      { operation: 'Encrypt', region: 'eu-west-3' },
      { quota: SYMMETRIC_QUOTA, defaultRate: 10_000 },
    ],
    [
      'GenerateMac in eu-central-1: 20,000/s shared',
      { operation: 'GenerateMac', region: 'eu-central-1' },
      { quota: SYMMETRIC_QUOTA, defaultRate: 20_000 },
    ],
    [
      'Decrypt in us-east-1: 100,000/s shared',
      { operation: 'Decrypt', region: 'us-east-1' },
      { quota: SYMMETRIC_QUOTA, defaultRate: 100_000 },
    ],
    [
      'Sign: 1,000/s',
      { operation: 'Sign', region: 'us-east-1' },
      { quota: ASYMMETRIC_QUOTA, defaultRate: 1000 },
    ],
    [
      'GenerateDataKeyPair RSA_4096: 1/s',
      { operation: 'GenerateDataKeyPair', region: 'us-east-1', keyPairSpec: 'RSA_4096' },
      { quota: 'GenerateDataKeyPair:RSA_4096', defaultRate: 1 },
    ],
    [
      '…WithoutPlaintext shares it',
      {
        operation: 'GenerateDataKeyPairWithoutPlaintext',
        region: 'us-east-1',
        keyPairSpec: 'RSA_4096',
      },
      { quota: 'GenerateDataKeyPair:RSA_4096', defaultRate: 1 },
    ],
    [
      'GenerateDataKeyPair ECC_NIST_P256: 100/s',
      { operation: 'GenerateDataKeyPair', region: 'us-east-1', keyPairSpec: 'ECC_NIST_P256' },
      { quota: 'GenerateDataKeyPair:ECC_NIST_P256', defaultRate: 100 },
    ],
    [
      'GenerateDataKeyPair, unknown spec: none (validation refuses it)',
      { operation: 'GenerateDataKeyPair', region: 'us-east-1', keyPairSpec: 'X' },
      undefined,
    ],
  ]
  for (const [name, req, expected] of ROWS) {
    it(name, () => assert.deepEqual(quotaOf(req), expected))
  }

  it('names every quota it charges', () => {
    for (const name of [
      SYMMETRIC_QUOTA,
      ASYMMETRIC_QUOTA,
      'CreateKey',
      'GenerateDataKeyPair:SM2',
    ]) {
      assert.equal(isRequestQuotaName(name), true, name)
    }
    for (const name of ['Bogus', 'GenerateDataKeyPair:AES_256', 'createkey']) {
      assert.equal(isRequestQuotaName(name), false, name)
    }
  })
})

describe('RequestRateLimiter', () => {
  const expectThrottled = (call: () => void) =>
    assert.throws(call, { name: 'ThrottlingException', message: THROTTLING_MESSAGE })

  it('admits a second of the rate at once, then refills at the rate', () => {
    const clock = new ManualClock(0)
    const limiter = new RequestRateLimiter(clock)
    const createKey = () =>
      limiter.admit({ accountId: ACCOUNT, region: 'us-east-1', operation: 'CreateKey' })
    for (let i = 0; i < 5; i++) createKey()
    expectThrottled(createKey)
    clock.advance(199)
    expectThrottled(createKey)
    clock.advance(1)
    createKey()
    expectThrottled(createKey)
    // A full second refills the whole bucket, never more than one second's worth.
    clock.advance(10_000)
    for (let i = 0; i < 5; i++) createKey()
    expectThrottled(createKey)
  })

  it('counts per account, per Region and per quota', () => {
    const limiter = new RequestRateLimiter(new ManualClock(0), { overrides: { CreateKey: 1 } })
    const admit = (accountId: string, region: string, operation: string) =>
      limiter.admit({ accountId, region, operation })
    admit(ACCOUNT, 'us-east-1', 'CreateKey')
    expectThrottled(() => admit(ACCOUNT, 'us-east-1', 'CreateKey'))
    admit('444455556666', 'us-east-1', 'CreateKey')
    admit(ACCOUNT, 'eu-west-1', 'CreateKey')
    admit(ACCOUNT, 'us-east-1', 'DescribeKey')
  })

  it('takes configured rates in place of the defaults, fractions included', () => {
    const clock = new ManualClock(0)
    const limiter = new RequestRateLimiter(clock, { overrides: { [SYMMETRIC_QUOTA]: 0.5 } })
    const encrypt = () =>
      limiter.admit({ accountId: ACCOUNT, region: 'us-east-1', operation: 'Encrypt' })
    encrypt()
    expectThrottled(encrypt)
    clock.advance(1999)
    expectThrottled(encrypt)
    clock.advance(1)
    encrypt()
  })

  it('reads the KeyPairSpec of GenerateDataKeyPair* from the body', () => {
    const limiter = new RequestRateLimiter(new ManualClock(0))
    const pair = (spec: string) =>
      limiter.admit({
        accountId: ACCOUNT,
        region: 'us-east-1',
        operation: 'GenerateDataKeyPairWithoutPlaintext',
        body: Buffer.from(JSON.stringify({ KeyId: 'k', KeyPairSpec: spec })),
      })
    pair('RSA_4096')
    expectThrottled(() => pair('RSA_4096'))
    pair('RSA_2048')
    // A body that is not JSON is charged nothing here (parseJson refuses it next).
    limiter.admit({
      accountId: ACCOUNT,
      region: 'us-east-1',
      operation: 'GenerateDataKeyPair',
      body: Buffer.from('{'),
    })
  })

  it('does not count operations that have no quota', () => {
    const limiter = new RequestRateLimiter(new ManualClock(0))
    for (let i = 0; i < 100; i++) {
      limiter.admit({ accountId: ACCOUNT, region: 'us-east-1', operation: 'NoSuchOperation' })
    }
  })
})
