/** AccessDeniedException texts (kms-authz.md §8), byte for byte against the recorded ones. */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import {
  accessDeniedMessage,
  explicitDenyMessage,
  implicitDenyMessage,
} from '../../../src/domain/policy/access-denied.js'
import { defaultKeyPolicy } from '../../../src/domain/policy/default-policy.js'
import { parsePolicy } from '../../../src/domain/policy/document.js'
import { evaluate } from '../../../src/domain/policy/evaluate.js'
import { ACCOUNT, KEY, alice, iam, iamPolicy, keyPolicy, kpAllow } from './fixtures.js'

const SESSION = 'arn:aws:sts::123456789012:assumed-role/enclave_role/i-0abc'
const EU_KEY = 'arn:aws:kms:eu-central-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab'

describe('AccessDenied messages', () => {
  it('implicit, identity-based (recorded GH:trussworks/terraform-aws-s3-anti-virus#48)', () => {
    assert.equal(
      implicitDenyMessage(
        { principalArn: SESSION, action: 'kms:Decrypt', resource: EU_KEY },
        'identity-based',
      ),
      `User: ${SESSION} is not authorized to perform: kms:Decrypt on resource: ${EU_KEY} because no identity-based policy allows the kms:Decrypt action`,
    )
  })

  it('implicit, resource-based (recorded GH:jbrt/ec2cryptomatic#26)', () => {
    const user = 'arn:aws:iam::123456789012:user/EC2Cryptomatic'
    assert.equal(
      implicitDenyMessage(
        { principalArn: user, action: 'kms:DescribeKey', resource: EU_KEY },
        'resource-based',
      ),
      `User: ${user} is not authorized to perform: kms:DescribeKey on resource: ${EU_KEY} because no resource-based policy allows the kms:DescribeKey action`,
    )
  })

  it('explicit deny in a resource-based policy (recorded GH:aws/aws-nitro-enclaves-sdk-c#157)', () => {
    assert.equal(
      explicitDenyMessage(
        { principalArn: SESSION, action: 'kms:Decrypt', resource: EU_KEY },
        'resource-based',
      ),
      `User: ${SESSION} is not authorized to perform: kms:Decrypt on resource: ${EU_KEY} with an explicit deny in a resource-based policy`,
    )
  })

  const input = { principalArn: alice.arn, action: 'kms:Encrypt', resource: KEY }
  const ROWS = [
    {
      name: 'default key policy, no IAM allow → identity-based',
      decision: evaluate({
        principal: alice,
        action: 'kms:Encrypt',
        resource: KEY,
        keyAccount: ACCOUNT,
        keyPolicy: parsePolicy(defaultKeyPolicy(ACCOUNT), { kind: 'key' }),
      }),
      message: `User: ${alice.arn} is not authorized to perform: kms:Encrypt on resource: ${KEY} because no identity-based policy allows the kms:Encrypt action`,
    },
    {
      name: 'key policy neither names nor delegates → resource-based',
      decision: evaluate({
        principal: alice,
        action: 'kms:Encrypt',
        resource: KEY,
        keyAccount: ACCOUNT,
        keyPolicy: keyPolicy(kpAllow('arn:aws:iam::111122223333:user/Bob', 'kms:*')),
      }),
      message: `User: ${alice.arn} is not authorized to perform: kms:Encrypt on resource: ${KEY} because no resource-based policy allows the kms:Encrypt action`,
    },
    {
      name: 'IAM Deny → explicit deny in an identity-based policy',
      decision: evaluate({
        principal: alice,
        action: 'kms:Encrypt',
        resource: KEY,
        keyAccount: ACCOUNT,
        keyPolicy: keyPolicy(kpAllow(alice.arn, 'kms:*')),
        identityPolicies: [iamPolicy(iam('Deny', 'kms:*'))],
      }),
      message: `User: ${alice.arn} is not authorized to perform: kms:Encrypt on resource: ${KEY} with an explicit deny in an identity-based policy`,
    },
  ]
  for (const row of ROWS) {
    it(row.name, () => {
      assert.equal(row.decision.allowed, false)
      assert.equal(accessDeniedMessage(input, row.decision), row.message)
    })
  }

  it('account-wide operations name resource *', () => {
    const d = evaluate({ principal: alice, action: 'kms:ListKeys', resource: '*' })
    assert.equal(
      accessDeniedMessage({ principalArn: alice.arn, action: 'kms:ListKeys', resource: '*' }, d),
      `User: ${alice.arn} is not authorized to perform: kms:ListKeys on resource: * because no identity-based policy allows the kms:ListKeys action`,
    )
  })
})
