import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import {
  CreateKeyCommand,
  GetKeyPolicyCommand,
  ScheduleKeyDeletionCommand,
  type KMSClient,
} from '@aws-sdk/client-kms'
import { defaultKeyPolicy } from '../../src/domain/policy/index.js'
import { expectKmsError } from '../support/assertions.js'
import { OTHER, startKeyward, type TestServer } from '../support/keyward-server.js'

describe('GetKeyPolicy', () => {
  let kw: TestServer
  let kms: KMSClient
  let key: { KeyId?: string; Arn?: string }
  before(async () => {
    kw = await startKeyward()
    kms = kw.client()
    key = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!
  })
  after(() => kw.close())

  it("returns a new key's default policy and the name default", async () => {
    const out = await kms.send(new GetKeyPolicyCommand({ KeyId: key.KeyId }))
    assert.equal(out.Policy, defaultKeyPolicy('111122223333'))
    assert.equal(out.PolicyName, 'default')
    const named = await kms.send(new GetKeyPolicyCommand({ KeyId: key.Arn, PolicyName: 'default' }))
    assert.equal(named.Policy, out.Policy)
  })

  it('returns the policy given to CreateKey', async () => {
    const policy = JSON.stringify({
      Statement: [
        { Effect: 'Allow', Principal: '*', Action: 'kms:Describe*', Resource: '*' },
        { Effect: 'Allow', Principal: { AWS: '111122223333' }, Action: 'kms:*', Resource: '*' },
      ],
    })
    const { KeyMetadata } = await kms.send(new CreateKeyCommand({ Policy: policy }))
    const out = await kms.send(new GetKeyPolicyCommand({ KeyId: KeyMetadata!.KeyId }))
    assert.equal(out.Policy, policy)
  })

  it('works while the key is pending deletion', async () => {
    const { KeyMetadata } = await kms.send(new CreateKeyCommand({}))
    await kms.send(new ScheduleKeyDeletionCommand({ KeyId: KeyMetadata!.KeyId }))
    const out = await kms.send(new GetKeyPolicyCommand({ KeyId: KeyMetadata!.KeyId }))
    assert.equal(out.PolicyName, 'default')
  })

  it('refuses a policy name other than default', async () => {
    await expectKmsError(
      kms.send(new GetKeyPolicyCommand({ KeyId: key.KeyId, PolicyName: 'secondary' })),
      'NotFoundException',
      `No key policy named secondary exists for ${key.Arn}; the only key policy name is default.`,
    )
  })

  it("refuses an alias, an unknown key and another account's key", async () => {
    await expectKmsError(
      kms.send(new GetKeyPolicyCommand({ KeyId: 'alias/x' })),
      'NotFoundException',
      "Invalid keyId 'alias/x'",
    )
    const missing = '12121212-3434-4565-8787-909090909090'
    await expectKmsError(
      kms.send(new GetKeyPolicyCommand({ KeyId: missing })),
      'NotFoundException',
      `Key 'arn:aws:kms:us-east-1:111122223333:key/${missing}' does not exist`,
    )
    await expectKmsError(
      kw.client({ credentials: OTHER }).send(new GetKeyPolicyCommand({ KeyId: key.Arn })),
      'AccessDeniedException',
      `User: arn:aws:iam::444455556666:user/admin is not authorized to perform: kms:GetKeyPolicy on resource: ${key.Arn} because no resource-based policy allows the kms:GetKeyPolicy action`,
    )
  })
})
