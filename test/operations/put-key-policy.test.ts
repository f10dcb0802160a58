import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import {
  CreateKeyCommand,
  GetKeyPolicyCommand,
  PutKeyPolicyCommand,
  ScheduleKeyDeletionCommand,
  type KMSClient,
} from '@aws-sdk/client-kms'
import { expectKmsError } from '../support/assertions.js'
import { startKeyward, type TestServer } from '../support/keyward-server.js'

const POLICY = JSON.stringify({
  Version: '2012-10-17',
  Id: 'custom',
  Statement: [
    {
      Sid: 'Root',
      Effect: 'Allow',
      Principal: { AWS: 'arn:aws:iam::111122223333:root' },
      Action: 'kms:*',
      Resource: '*',
    },
  ],
})

describe('PutKeyPolicy', () => {
  let kw: TestServer
  let kms: KMSClient
  const newKey = async () => (await kms.send(new CreateKeyCommand({}))).KeyMetadata!
  const policyOf = async (keyId: string) =>
    (await kms.send(new GetKeyPolicyCommand({ KeyId: keyId }))).Policy
  before(async () => {
    kw = await startKeyward()
    kms = kw.client()
  })
  after(() => kw.close())

  it('replaces the key policy, stored exactly as sent', async () => {
    const key = await newKey()
    await kms.send(new PutKeyPolicyCommand({ KeyId: key.KeyId, Policy: POLICY }))
    assert.equal(await policyOf(key.KeyId!), POLICY)
    const spaced = JSON.stringify(JSON.parse(POLICY), null, 2)
    await kms.send(
      new PutKeyPolicyCommand({ KeyId: key.Arn, PolicyName: 'default', Policy: spaced }),
    )
    assert.equal(await policyOf(key.KeyId!), spaced)
  })

  it('accepts BypassPolicyLockoutSafetyCheck', async () => {
    const key = await newKey()
    await kms.send(
      new PutKeyPolicyCommand({
        KeyId: key.KeyId,
        Policy: POLICY,
        BypassPolicyLockoutSafetyCheck: true,
      }),
    )
    assert.equal(await policyOf(key.KeyId!), POLICY)
  })

  it('works while the key is pending deletion', async () => {
    const key = await newKey()
    await kms.send(new ScheduleKeyDeletionCommand({ KeyId: key.KeyId }))
    await kms.send(new PutKeyPolicyCommand({ KeyId: key.KeyId, Policy: POLICY }))
    assert.equal(await policyOf(key.KeyId!), POLICY)
  })

  it('refuses a document that is not a key policy, changing nothing', async () => {
    const key = await newKey()
    const original = await policyOf(key.KeyId!)
    const cases: Array<[string, string]> = [
      ['{not json', 'The policy document is not valid JSON.'],
      ['[]', 'The policy document must be a JSON object.'],
      ['{"Version":"2012-10-17"}', 'The policy document has no Statement.'],
      [
        '{"Statement":[{"Effect":"Allow","Action":"kms:*","Resource":"*"}]}',
        'Statement 1: a key policy statement must have a Principal.',
      ],
    ]
    for (const [policy, message] of cases) {
      await expectKmsError(
        kms.send(new PutKeyPolicyCommand({ KeyId: key.KeyId, Policy: policy })),
        'MalformedPolicyDocumentException',
        message,
      )
    }
    assert.equal(await policyOf(key.KeyId!), original)
  })

  it('refuses a policy over the 32 KB quota with LimitExceededException', async () => {
    const key = await newKey()
    const big = JSON.stringify({ ...JSON.parse(POLICY), Id: 'x'.repeat(32_768) })
    await expectKmsError(
      kms.send(new PutKeyPolicyCommand({ KeyId: key.KeyId, Policy: big })),
      'LimitExceededException',
      'The key policy exceeds the maximum size of 32768 bytes.',
    )
  })

  it('refuses a policy name other than default', async () => {
    const key = await newKey()
    await expectKmsError(
      kms.send(new PutKeyPolicyCommand({ KeyId: key.KeyId, PolicyName: 'other', Policy: POLICY })),
      'NotFoundException',
      `No key policy named other exists for ${key.Arn}; the only key policy name is default.`,
    )
    assert.notEqual(await policyOf(key.KeyId!), POLICY)
  })

  it('takes a key ID or ARN, not an alias', async () => {
    await expectKmsError(
      kms.send(new PutKeyPolicyCommand({ KeyId: 'alias/x', Policy: POLICY })),
      'NotFoundException',
      "Invalid keyId 'alias/x'",
    )
  })
})
