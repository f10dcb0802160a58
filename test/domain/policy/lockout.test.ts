/** The policy lockout safety check (kms-authz.md §7.1; §9 row "lockout"). */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import {
  allowsFuturePutKeyPolicy,
  assertNoLockout,
  defaultKeyPolicy,
} from '../../../src/domain/policy/default-policy.js'
import { parsePolicy } from '../../../src/domain/policy/document.js'
import {
  ACCOUNT,
  KEY,
  alice,
  engineer,
  iam,
  iamPolicy,
  keyPolicy,
  kpAllow,
  root,
} from './fixtures.js'

const LOCKOUT = 'The new key policy will not allow you to update the key policy in the future.'
const base = { principal: alice, resource: KEY, keyAccount: ACCOUNT }
const ONLY_USE = keyPolicy(kpAllow(alice.arn, ['kms:Encrypt', 'kms:Decrypt']))

describe('lockout safety check', () => {
  const ROWS = [
    {
      name: 'a policy naming the caller for kms:PutKeyPolicy',
      policy: keyPolicy(kpAllow(alice.arn, 'kms:PutKeyPolicy')),
      input: base,
      expect: true,
    },
    {
      name: 'a policy naming the caller for kms:Put*',
      policy: keyPolicy(kpAllow(alice.arn, 'kms:Put*')),
      input: base,
      expect: true,
    },
    {
      name: 'a policy that only lets the caller use the key',
      policy: ONLY_USE,
      input: base,
      expect: false,
    },
    {
      name: 'the default policy when the caller has no IAM permission (§7.1 maintainer diagnosis)',
      policy: parsePolicy(defaultKeyPolicy(ACCOUNT), { kind: 'key' }),
      input: base,
      expect: false,
    },
    {
      name: 'the default policy when an IAM policy allows kms:PutKeyPolicy',
      policy: parsePolicy(defaultKeyPolicy(ACCOUNT), { kind: 'key' }),
      input: { ...base, identityPolicies: [iamPolicy(iam('Allow', 'kms:PutKeyPolicy'))] },
      expect: true,
    },
    {
      name: 'the default policy for the account root user',
      policy: parsePolicy(defaultKeyPolicy(ACCOUNT), { kind: 'key' }),
      input: { ...base, principal: root },
      expect: true,
    },
    {
      name: 'a policy that allows the caller but denies PutKeyPolicy to everyone',
      policy: keyPolicy(kpAllow(alice.arn, 'kms:*'), {
        ...kpAllow('*', 'kms:PutKeyPolicy'),
        Effect: 'Deny',
      }),
      input: base,
      expect: false,
    },
    {
      name: 'a Deny on the bypass flag does not count against the future request',
      policy: keyPolicy(kpAllow(alice.arn, 'kms:*'), {
        ...kpAllow('*', 'kms:PutKeyPolicy'),
        Effect: 'Deny',
        Condition: { Bool: { 'kms:BypassPolicyLockoutSafetyCheck': 'true' } },
      }),
      input: { ...base, conditions: { 'kms:BypassPolicyLockoutSafetyCheck': 'true' } },
      expect: true,
    },
    {
      name: 'a role session, policy naming its role',
      policy: keyPolicy(kpAllow(engineer.roleArn!, 'kms:*')),
      input: { ...base, principal: engineer },
      expect: true,
    },
  ]
  for (const row of ROWS) {
    it(row.name, () => assert.equal(allowsFuturePutKeyPolicy(row.policy, row.input), row.expect))
  }

  it("fails with AWS's text unless bypassed", () => {
    assert.throws(
      () => assertNoLockout(ONLY_USE, base),
      (e: unknown) => {
        assert.equal((e as { exception: string }).exception, 'MalformedPolicyDocumentException')
        assert.equal((e as Error).message, LOCKOUT)
        return true
      },
    )
    assert.throws(() => assertNoLockout(ONLY_USE, { ...base, bypass: false }), { message: LOCKOUT })
    assert.doesNotThrow(() => assertNoLockout(ONLY_USE, { ...base, bypass: true }))
  })
})
