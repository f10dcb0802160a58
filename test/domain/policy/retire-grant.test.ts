/** Who may retire a grant (kms-authz.md §6.6; §9 row "retire-by-grantee"). */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import {
  retireGrantDecision,
  type RetirableGrant,
} from '../../../src/domain/policy/retire-grant.js'
import { ACCOUNT, KEY, OTHER, alice, bob, iam, iamPolicy, otherRoot, root } from './fixtures.js'
import type { CallerPrincipal } from '../../../src/domain/policy/principal.js'

const carol: CallerPrincipal = {
  type: 'user',
  account: ACCOUNT,
  arn: `arn:aws:iam::${ACCOUNT}:user/Carol`,
}
const dave: CallerPrincipal = {
  type: 'user',
  account: OTHER,
  arn: `arn:aws:iam::${OTHER}:user/Dave`,
}
const GRANT: RetirableGrant = {
  grantId: 'g1',
  grantee: alice.arn,
  retiringPrincipal: bob.arn,
  operations: ['Decrypt'],
  keyAccount: ACCOUNT,
  keyArn: KEY,
}
const ALLOW_RETIRE = [iamPolicy(iam('Allow', 'kms:RetireGrant'))]

describe('RetireGrant', () => {
  const ROWS: Array<{
    name: string
    grant?: RetirableGrant
    principal: CallerPrincipal
    policies?: typeof ALLOW_RETIRE
    expect: boolean
  }> = [
    {
      name: 'retire-by-grantee: the grantee, grant without RetireGrant',
      principal: alice,
      expect: false,
    },
    { name: 'retire-by-grantee: the retiring principal', principal: bob, expect: true },
    { name: 'retire-by-grantee: the key account root', principal: root, expect: true },
    {
      name: 'the grantee when the grant includes RetireGrant',
      grant: { ...GRANT, operations: ['Decrypt', 'RetireGrant'] },
      principal: alice,
      expect: true,
    },
    {
      name: 'an IAM principal of the key account with kms:RetireGrant',
      principal: carol,
      policies: ALLOW_RETIRE,
      expect: true,
    },
    { name: 'an IAM principal of the key account without it', principal: carol, expect: false },
    {
      name: 'a principal of another account with kms:RetireGrant',
      principal: dave,
      policies: ALLOW_RETIRE,
      expect: false,
    },
    {
      name: "a principal of the retiring principal's account with kms:RetireGrant",
      grant: { ...GRANT, retiringPrincipal: `arn:aws:iam::${OTHER}:root` },
      principal: dave,
      policies: ALLOW_RETIRE,
      expect: true,
    },
    { name: 'the root user of another account', principal: otherRoot, expect: false },
    {
      name: 'an IAM Deny on kms:RetireGrant blocks the retiring principal',
      principal: bob,
      policies: [iamPolicy(iam('Deny', 'kms:RetireGrant'))],
      expect: false,
    },
  ]
  for (const row of ROWS) {
    it(row.name, () => {
      const d = retireGrantDecision(row.grant ?? GRANT, {
        principal: row.principal,
        ...(row.policies ? { identityPolicies: row.policies } : {}),
      })
      assert.equal(d.allowed, row.expect)
    })
  }
})
