/**
 * The evaluator, one named row per documented AWS example (kms-authz.md §9) and per rule of the
 * algorithm (§3). Each row is a whole decision: allowed, reason, and the policy type AWS would
 * name in AccessDeniedException.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { defaultKeyPolicy } from '../../../src/domain/policy/default-policy.js'
import { parsePolicy } from '../../../src/domain/policy/document.js'
import {
  encryptionContextConditions,
  evaluate,
  type AuthorizationRequest,
  type Decision,
} from '../../../src/domain/policy/evaluate.js'
import {
  ACCOUNT,
  KEY,
  OTHER,
  OTHER_KEY,
  alice,
  bob,
  engineer,
  iam,
  iamPolicy,
  keyPolicy,
  kpAllow,
  otherRoot,
  root,
} from './fixtures.js'

const DEFAULT = parsePolicy(defaultKeyPolicy(ACCOUNT), { kind: 'key' })
const DEFAULT_OTHER = parsePolicy(defaultKeyPolicy(OTHER), { kind: 'key' })
const ONLY_BOB = keyPolicy(kpAllow(bob.arn, 'kms:*'))

/** A request on KEY by Alice with the default key policy, unless the row says otherwise. */
const request = (over: Partial<AuthorizationRequest>): AuthorizationRequest => ({
  principal: alice,
  action: 'kms:Encrypt',
  resource: KEY,
  keyAccount: ACCOUNT,
  keyPolicy: DEFAULT,
  identityPolicies: [],
  ...over,
})

/** Rows of §9's example with context: the key policy of "ec-require" and friends. */
const EC_APP = kpAllow(alice.arn, 'kms:GenerateDataKey', {
  Condition: { StringEquals: { 'kms:EncryptionContext:AppName': 'ExampleApp' } },
})
const ec = (context: Record<string, string>) => encryptionContextConditions(context)

/** Cross-account example 2 of the Developer Guide: key in OTHER, role Engineering in ACCOUNT. */
const XACCT_KP = keyPolicy(
  kpAllow(`arn:aws:iam::${OTHER}:root`, 'kms:*'),
  kpAllow(`arn:aws:iam::${ACCOUNT}:root`, [
    'kms:Encrypt',
    'kms:Decrypt',
    'kms:ReEncrypt*',
    'kms:GenerateDataKey*',
    'kms:DescribeKey',
    'kms:ScheduleKeyDeletion',
  ]),
)
const xacct = (over: Partial<AuthorizationRequest>) =>
  request({
    principal: engineer,
    resource: OTHER_KEY,
    keyAccount: OTHER,
    keyPolicy: XACCT_KP,
    ...over,
  })

interface Row {
  readonly name: string
  readonly source: string
  readonly request: AuthorizationRequest
  readonly expect: Pick<Decision, 'allowed' | 'reason'> & { policyType?: Decision['policyType'] }
}

type Ctx = Record<string, string>
type Case = { ctx: Ctx; expect: Row['expect']; what: string }

const allow = (reason: Decision['reason']) => ({ allowed: true, reason })
const deny = (reason: Decision['reason'], policyType: Decision['policyType']) => ({
  allowed: false,
  reason,
  policyType,
})

const GRANT_EQ = {
  grantId: 'g-equals',
  grantee: alice.arn,
  operations: ['Decrypt'],
  constraints: { EncryptionContextEquals: { Department: 'IT' } },
}
const GRANT_SUB = {
  grantId: 'g-subset',
  grantee: alice.arn,
  operations: ['Decrypt'],
  constraints: { EncryptionContextSubset: { Department: 'IT' } },
}
const PARENT = {
  grantId: 'g-parent',
  grantee: alice.arn,
  operations: ['GenerateDataKey', 'Decrypt', 'CreateGrant'],
  constraints: { EncryptionContextSubset: { Department: 'IT' } },
}

/** §9: the Developer Guide's and IAM User Guide's own examples. */
const DOCUMENTED: Row[] = [
  {
    name: 'default-policy-no-iam',
    source: 'DG policy-evaluation ex.1',
    request: request({}),
    expect: deny('no-allow', 'identity-based'),
  },
  {
    name: 'default-policy-iam-allow',
    source: 'DG iam-policies',
    request: request({ identityPolicies: [iamPolicy(iam('Allow', 'kms:Encrypt', KEY))] }),
    expect: allow('key-policy-and-identity'),
  },
  {
    name: 'iam-without-delegation',
    source: 'DG key-policies',
    request: request({ keyPolicy: ONLY_BOB, identityPolicies: [iamPolicy(iam('Allow', 'kms:*'))] }),
    expect: deny('no-allow', 'resource-based'),
  },
  {
    name: 'kp-direct-user',
    source: 'IAM evaluation-logic',
    request: request({ principal: bob, keyPolicy: keyPolicy(kpAllow(bob.arn, 'kms:Encrypt')) }),
    expect: allow('key-policy'),
  },
  {
    name: 'iam-explicit-deny',
    source: 'DG key-policies',
    request: request({
      principal: bob,
      keyPolicy: ONLY_BOB,
      identityPolicies: [iamPolicy(iam('Deny', 'kms:Encrypt'))],
    }),
    expect: deny('explicit-deny', 'identity-based'),
  },
  {
    name: 'xacct-allow',
    source: 'DG policy-evaluation ex.2',
    request: xacct({ identityPolicies: [iamPolicy(iam('Allow', ['kms:Encrypt'], OTHER_KEY))] }),
    expect: allow('key-policy-and-identity'),
  },
  {
    name: 'xacct-no-iam',
    source: 'DG key-policy-modifying-external-accounts',
    request: xacct({}),
    expect: deny('no-allow', 'identity-based'),
  },
  {
    name: 'xacct-not-capable',
    source: 'DG key-policy-modifying-external-accounts',
    request: xacct({
      action: 'kms:ScheduleKeyDeletion',
      identityPolicies: [iamPolicy(iam('Allow', 'kms:ScheduleKeyDeletion', OTHER_KEY))],
    }),
    expect: deny('not-cross-account', 'resource-based'),
  },
  {
    name: 'ec-require: context with AppName=ExampleApp',
    source: 'DG conditions-kms',
    request: request({
      action: 'kms:GenerateDataKey',
      keyPolicy: keyPolicy(EC_APP),
      conditions: ec({ AppName: 'ExampleApp', Project: 'Alpha' }),
    }),
    expect: allow('key-policy'),
  },
  {
    name: 'ec-require: no context',
    source: 'DG conditions-kms',
    request: request({
      action: 'kms:GenerateDataKey',
      keyPolicy: keyPolicy(EC_APP),
      conditions: ec({}),
    }),
    expect: deny('no-allow', 'resource-based'),
  },
  {
    name: 'ec-only-appname: an extra context key',
    source: 'DG conditions-kms',
    request: request({
      action: 'kms:GenerateDataKey',
      keyPolicy: keyPolicy({
        ...EC_APP,
        Condition: {
          StringEquals: { 'kms:EncryptionContext:AppName': 'ExampleApp' },
          'ForAllValues:StringEquals': { 'kms:EncryptionContextKeys': ['AppName'] },
        },
      }),
      conditions: ec({ AppName: 'ExampleApp', Project: 'Alpha' }),
    }),
    expect: deny('no-allow', 'resource-based'),
  },
  ...(
    [
      { ctx: {}, expect: deny('no-allow', 'resource-based'), what: 'no context' },
      {
        ctx: { AppName: 'Helper', Project: 'Alpha' },
        expect: allow('key-policy'),
        what: 'AppName present',
      },
    ] as Case[]
  ).map(({ ctx, expect, what }) => ({
    name: `ec-keys-anyvalue: ${what}`,
    source: 'DG conditions-kms',
    request: request({
      keyPolicy: keyPolicy(
        kpAllow(alice.arn, 'kms:Encrypt', {
          Condition: { 'ForAnyValue:StringEquals': { 'kms:EncryptionContextKeys': 'AppName' } },
        }),
      ),
      conditions: ec(ctx),
    }),
    expect,
  })),
  ...(
    [
      { ctx: {}, expect: deny('no-allow', 'resource-based'), what: 'no context' },
      { ctx: { Any: 'thing' }, expect: allow('key-policy'), what: 'any context' },
    ] as Case[]
  ).map(({ ctx, expect, what }) => ({
    name: `ec-required-null: ${what}`,
    source: 'DG conditions-kms',
    request: request({
      keyPolicy: keyPolicy(
        kpAllow(alice.arn, 'kms:Encrypt', {
          Condition: { Null: { 'kms:EncryptionContextKeys': 'false' } },
        }),
      ),
      conditions: ec(ctx),
    }),
    expect,
  })),
  ...[
    { ops: ['Encrypt'], expect: allow('key-policy') },
    { ops: ['Encrypt', 'Decrypt'], expect: deny('no-allow', 'resource-based') },
  ].map(({ ops, expect }) => ({
    name: `grantops-allvalues: Operations ${ops.join(', ')}`,
    source: 'DG conditions-kms',
    request: request({
      action: 'kms:CreateGrant',
      keyPolicy: keyPolicy(
        kpAllow(alice.arn, 'kms:CreateGrant', {
          Condition: {
            'ForAllValues:StringEquals': { 'kms:GrantOperations': ['Encrypt', 'ReEncryptTo'] },
          },
        }),
      ),
      conditions: { 'kms:GrantOperations': ops },
    }),
    expect,
  })),
  ...[undefined, 'false'].map((v) => ({
    name: `grant-for-aws-resource: direct CreateGrant (key ${v ?? 'absent'})`,
    source: 'DG conditions-kms',
    request: request({
      action: 'kms:CreateGrant',
      keyPolicy: keyPolicy(
        kpAllow(alice.arn, 'kms:CreateGrant', {
          Condition: { Bool: { 'kms:GrantIsForAWSResource': true } },
        }),
      ),
      conditions: v === undefined ? {} : { 'kms:GrantIsForAWSResource': v },
    }),
    expect: deny('no-allow', 'resource-based'),
  })),
  ...[
    { by: 'alias name', alias: 'alias/finance-key', expect: allow('key-policy') },
    { by: 'alias ARN', alias: 'alias/finance-key', expect: allow('key-policy') },
    { by: 'key ARN', alias: undefined, expect: deny('no-allow', 'resource-based') },
  ].map(({ by, alias, expect }) => ({
    name: `request-alias: KeyId is the ${by}`,
    source: 'DG conditions-kms',
    request: request({
      action: 'kms:GenerateDataKey',
      keyPolicy: keyPolicy(
        kpAllow(alice.arn, 'kms:GenerateDataKey', {
          Condition: { StringEquals: { 'kms:RequestAlias': 'alias/finance-key' } },
        }),
      ),
      conditions: alias === undefined ? {} : { 'kms:RequestAlias': alias },
    }),
    expect,
  })),
  {
    name: 'resource-aliases: the key has the alias',
    source: 'DG abac',
    request: request({
      action: 'kms:GenerateDataKey',
      identityPolicies: [
        iamPolicy(
          iam('Allow', 'kms:GenerateDataKey', '*', {
            Condition: {
              'ForAnyValue:StringEquals': { 'kms:ResourceAliases': 'alias/finance-key' },
            },
          }),
        ),
      ],
      conditions: { 'kms:ResourceAliases': ['alias/other', 'alias/finance-key'] },
    }),
    expect: allow('key-policy-and-identity'),
  },
  ...(
    [
      {
        tags: { 'aws:ResourceTag/Project': 'Alpha' },
        expect: allow('key-policy-and-identity'),
        what: 'tag present',
      },
      // Tag keys in condition keys are case-insensitive (IAM User Guide, Condition).
      {
        tags: { 'aws:resourcetag/project': 'Alpha' },
        expect: allow('key-policy-and-identity'),
        what: 'tag key in another case',
      },
      { tags: {}, expect: deny('no-allow', 'identity-based'), what: 'tag removed' },
    ] as Array<{ tags: Ctx; expect: Row['expect']; what: string }>
  ).map(({ tags, expect, what }) => ({
    name: `resource-tag: ${what}`,
    source: 'DG abac',
    request: request({
      action: 'kms:Decrypt',
      identityPolicies: [
        iamPolicy(
          iam('Allow', 'kms:Decrypt', '*', {
            Condition: { StringEquals: { 'aws:ResourceTag/Project': 'Alpha' } },
          }),
        ),
      ],
      conditions: tags,
    }),
    expect,
  })),
  {
    name: 'via-service: a direct call by a user of the account',
    source: 'DG conditions-kms',
    request: request({
      keyPolicy: keyPolicy({
        Effect: 'Allow',
        Principal: { AWS: '*' },
        Action: 'kms:Encrypt',
        Resource: '*',
        Condition: {
          StringEquals: {
            'kms:CallerAccount': ACCOUNT,
            'kms:ViaService': 'ec2.us-west-2.amazonaws.com',
          },
        },
      }),
    }),
    expect: deny('no-allow', 'resource-based'),
  },
  ...(
    [
      { grant: GRANT_EQ, ctx: { Department: 'IT' }, expect: allow('grant') },
      {
        grant: GRANT_EQ,
        ctx: { Department: 'IT', Purpose: 'Test' },
        expect: deny('no-allow', 'resource-based'),
      },
      { grant: GRANT_SUB, ctx: { Department: 'IT' }, expect: allow('grant') },
      { grant: GRANT_SUB, ctx: { Department: 'IT', Purpose: 'Test' }, expect: allow('grant') },
      { grant: GRANT_SUB, ctx: { department: 'IT' }, expect: deny('no-allow', 'resource-based') },
    ] as Array<{ grant: typeof GRANT_EQ; ctx: Ctx; expect: Row['expect'] }>
  ).map(({ grant, ctx, expect }) => ({
    name: `grant-equals-subset: ${grant.grantId} with ${JSON.stringify(ctx)}`,
    source: 'DG26 Creating grants',
    request: request({
      action: 'kms:Decrypt',
      keyPolicy: ONLY_BOB,
      grants: [grant],
      encryptionContext: ctx,
    }),
    expect,
  })),
  ...[
    {
      what: 'Equals with the same pair, fewer operations',
      child: {
        operations: ['CreateGrant', 'Decrypt'],
        constraints: { EncryptionContextEquals: { Department: 'IT' } },
      },
      expect: allow('grant'),
    },
    {
      what: 'an operation the parent lacks',
      child: {
        operations: ['ReEncryptFrom'],
        constraints: { EncryptionContextSubset: { Department: 'IT' } },
      },
      expect: deny('no-allow', 'resource-based'),
    },
    {
      what: 'no constraint',
      child: { operations: ['Decrypt'] },
      expect: deny('no-allow', 'resource-based'),
    },
  ].map(({ what, child, expect }) => ({
    name: `child-grant: ${what}`,
    source: 'DG26 Creating grants',
    request: request({
      action: 'kms:CreateGrant',
      keyPolicy: ONLY_BOB,
      grants: [PARENT],
      createGrant: child,
    }),
    expect,
  })),
]

/** §3: each rule of the algorithm on its own. */
const RULES: Row[] = [
  {
    name: 'a key policy Deny beats a key policy Allow naming the caller',
    source: '§3 step 3',
    request: request({
      keyPolicy: keyPolicy(kpAllow(alice.arn, 'kms:*'), {
        ...kpAllow(alice.arn, 'kms:Encrypt'),
        Effect: 'Deny',
      }),
    }),
    expect: deny('explicit-deny', 'resource-based'),
  },
  {
    name: 'a key policy Deny on the account principal covers its users',
    source: '§3 step 3',
    request: request({
      keyPolicy: keyPolicy(kpAllow(alice.arn, 'kms:*'), {
        ...kpAllow(ACCOUNT, 'kms:Encrypt'),
        Effect: 'Deny',
      }),
    }),
    expect: deny('explicit-deny', 'resource-based'),
  },
  {
    name: 'an IAM Deny works though the key policy does not delegate',
    source: '§3 step 3',
    request: request({
      keyPolicy: keyPolicy(kpAllow(alice.arn, 'kms:*')),
      identityPolicies: [iamPolicy(iam('Allow', 'kms:*')), iamPolicy(iam('Deny', 'kms:Enc*'))],
    }),
    expect: deny('explicit-deny', 'identity-based'),
  },
  {
    name: 'a Deny whose condition does not hold does not deny',
    source: '§3 step 3',
    request: request({
      keyPolicy: keyPolicy(kpAllow(alice.arn, 'kms:*'), {
        ...kpAllow('*', 'kms:*'),
        Effect: 'Deny',
        Condition: { Bool: { 'aws:SecureTransport': 'false' } },
      }),
      conditions: { 'aws:SecureTransport': 'true' },
    }),
    expect: allow('key-policy'),
  },
  {
    name: 'grants never override a Deny',
    source: '§6.4 rule 4',
    request: request({
      action: 'kms:Decrypt',
      keyPolicy: keyPolicy(kpAllow(bob.arn, 'kms:*'), {
        ...kpAllow(alice.arn, 'kms:Decrypt'),
        Effect: 'Deny',
      }),
      grants: [GRANT_SUB],
      encryptionContext: { Department: 'IT' },
    }),
    expect: deny('explicit-deny', 'resource-based'),
  },
  {
    name: 'the account root user needs no IAM policy when the key policy names the account',
    source: '§3 step 5a',
    request: request({ principal: root }),
    expect: allow('key-policy'),
  },
  {
    name: 'a key policy naming a role allows its sessions',
    source: '§3.1',
    request: request({
      principal: engineer,
      keyPolicy: keyPolicy(kpAllow(engineer.roleArn!, 'kms:Encrypt')),
    }),
    expect: allow('key-policy'),
  },
  {
    name: 'a key policy naming another session of the role does not allow this one',
    source: '§3.1',
    request: request({
      principal: engineer,
      keyPolicy: keyPolicy(
        kpAllow(`arn:aws:sts::${ACCOUNT}:assumed-role/Engineering/dave`, 'kms:Encrypt'),
      ),
    }),
    expect: deny('no-allow', 'resource-based'),
  },
  {
    name: 'a user ARN is case-sensitive',
    source: '§1.1',
    request: request({
      keyPolicy: keyPolicy(kpAllow(`arn:aws:iam::${ACCOUNT}:user/alice`, 'kms:Encrypt')),
    }),
    expect: deny('no-allow', 'resource-based'),
  },
  {
    name: 'Principal "*" with kms:CallerAccount allows every identity of the account',
    source: '§4.2 kms:CallerAccount',
    request: request({
      keyPolicy: keyPolicy({
        ...kpAllow('*', 'kms:Encrypt'),
        Condition: { StringEquals: { 'kms:CallerAccount': ACCOUNT } },
      }),
    }),
    expect: allow('key-policy'),
  },
  {
    name: 'the session policy must allow a delegated permission too',
    source: '§3 step 2 (session policies narrow)',
    request: request({
      principal: engineer,
      identityPolicies: [iamPolicy(iam('Allow', 'kms:*'))],
      sessionPolicy: iamPolicy(iam('Allow', 'kms:Decrypt')),
    }),
    expect: deny('no-allow', 'session'),
  },
  {
    name: 'the session policy narrows a key policy that names the role',
    source: 'IAM session policies',
    request: request({
      principal: engineer,
      keyPolicy: keyPolicy(kpAllow(engineer.roleArn!, 'kms:*')),
      sessionPolicy: iamPolicy(iam('Allow', 'kms:Decrypt')),
    }),
    expect: deny('no-allow', 'session'),
  },
  {
    name: 'a key policy naming the session itself is not narrowed by the session policy',
    source: 'IAM session policies',
    request: request({
      principal: engineer,
      keyPolicy: keyPolicy(kpAllow(engineer.arn, 'kms:*')),
      sessionPolicy: iamPolicy(iam('Allow', 'kms:Decrypt')),
    }),
    expect: allow('key-policy'),
  },
  {
    name: 'a session policy Deny is explicit',
    source: '§3 step 3',
    request: request({
      principal: engineer,
      identityPolicies: [iamPolicy(iam('Allow', 'kms:*'))],
      sessionPolicy: iamPolicy(iam('Allow', 'kms:*'), iam('Deny', 'kms:Encrypt')),
    }),
    expect: deny('explicit-deny', 'session'),
  },
  {
    name: 'session policy and identity policy both allowing: allowed',
    source: '§3 step 5b',
    request: request({
      principal: engineer,
      identityPolicies: [iamPolicy(iam('Allow', 'kms:*'))],
      sessionPolicy: iamPolicy(iam('Allow', 'kms:Encrypt')),
    }),
    expect: allow('key-policy-and-identity'),
  },
  {
    name: 'an IAM statement on another key does not match',
    source: '§3 step 2',
    request: request({ identityPolicies: [iamPolicy(iam('Allow', 'kms:*', OTHER_KEY))] }),
    expect: deny('no-allow', 'identity-based'),
  },
  {
    name: 'an IAM Resource with wildcards in segments matches the key',
    source: '§1.1 Resource',
    request: request({
      identityPolicies: [iamPolicy(iam('Allow', 'kms:*', `arn:aws:kms:*:${ACCOUNT}:key/*`))],
    }),
    expect: allow('key-policy-and-identity'),
  },
  {
    name: 'an IAM alias ARN Resource never covers the key',
    source: '§5 (alias ARN in Resource)',
    request: request({
      identityPolicies: [
        iamPolicy(iam('Allow', 'kms:*', `arn:aws:kms:us-west-2:${ACCOUNT}:alias/*`)),
      ],
    }),
    expect: deny('no-allow', 'identity-based'),
  },
  {
    name: 'NotAction allows what it does not list',
    source: 'IAM NotAction',
    request: request({
      identityPolicies: [
        iamPolicy({ Effect: 'Allow', NotAction: 'kms:ScheduleKeyDeletion', Resource: '*' }),
      ],
    }),
    expect: allow('key-policy-and-identity'),
  },
  {
    name: 'NotAction does not allow what it lists',
    source: 'IAM NotAction',
    request: request({
      action: 'kms:ScheduleKeyDeletion',
      identityPolicies: [
        iamPolicy({ Effect: 'Allow', NotAction: 'kms:ScheduleKeyDeletion', Resource: '*' }),
      ],
    }),
    expect: deny('no-allow', 'identity-based'),
  },
  {
    name: 'NotResource allows every other key',
    source: 'IAM NotResource',
    request: request({
      identityPolicies: [iamPolicy({ Effect: 'Allow', Action: 'kms:*', NotResource: OTHER_KEY })],
    }),
    expect: allow('key-policy-and-identity'),
  },
  {
    name: 'NotResource Deny covers every key but the listed one',
    source: 'IAM NotResource',
    request: request({
      identityPolicies: [
        iamPolicy(iam('Allow', 'kms:*'), {
          Effect: 'Deny',
          Action: 'kms:*',
          NotResource: OTHER_KEY,
        }),
      ],
    }),
    expect: deny('explicit-deny', 'identity-based'),
  },
  {
    name: 'actions match case-insensitively, with ? and *',
    source: '§1.1 Action',
    request: request({ identityPolicies: [iamPolicy(iam('Allow', 'KMS:?NCRYPT'))] }),
    expect: allow('key-policy-and-identity'),
  },
  {
    name: 'an action prefix of another service does not match',
    source: '§1.1 Action',
    request: request({ identityPolicies: [iamPolicy(iam('Allow', 's3:*'))] }),
    expect: deny('no-allow', 'identity-based'),
  },
  {
    name: 'NotPrincipal Deny denies everyone but the listed principal',
    source: 'IAM NotPrincipal',
    request: request({
      keyPolicy: keyPolicy(kpAllow(ACCOUNT, 'kms:*'), {
        Effect: 'Deny',
        NotPrincipal: { AWS: [bob.arn, `arn:aws:iam::${ACCOUNT}:root`] },
        Action: 'kms:*',
        Resource: '*',
      }),
      identityPolicies: [iamPolicy(iam('Allow', 'kms:*'))],
    }),
    expect: deny('explicit-deny', 'resource-based'),
  },
  {
    name: 'NotPrincipal Deny leaves out a principal listed with its account',
    source: 'IAM NotPrincipal',
    request: request({
      principal: bob,
      keyPolicy: keyPolicy(kpAllow(ACCOUNT, 'kms:*'), {
        Effect: 'Deny',
        NotPrincipal: { AWS: [bob.arn, `arn:aws:iam::${ACCOUNT}:root`] },
        Action: 'kms:*',
        Resource: '*',
      }),
      identityPolicies: [iamPolicy(iam('Allow', 'kms:*'))],
    }),
    expect: allow('key-policy-and-identity'),
  },
  {
    name: 'NotPrincipal Deny listing only the user still denies it (account not listed)',
    source: 'IAM NotPrincipal',
    request: request({
      principal: bob,
      keyPolicy: keyPolicy(kpAllow(ACCOUNT, 'kms:*'), {
        Effect: 'Deny',
        NotPrincipal: { AWS: bob.arn },
        Action: 'kms:*',
        Resource: '*',
      }),
      identityPolicies: [iamPolicy(iam('Allow', 'kms:*'))],
    }),
    expect: deny('explicit-deny', 'resource-based'),
  },
  {
    name: 'a grant allows its operation without any policy',
    source: '§3 step 5c',
    request: request({
      action: 'kms:DescribeKey',
      keyPolicy: ONLY_BOB,
      grants: [{ grantee: alice.arn, operations: ['DescribeKey'] }],
    }),
    expect: allow('grant'),
  },
  {
    name: 'a grant does not allow operations it does not list',
    source: '§6.4 rule 2',
    request: request({
      action: 'kms:Encrypt',
      keyPolicy: ONLY_BOB,
      grants: [{ grantee: alice.arn, operations: ['Decrypt'] }],
    }),
    expect: deny('no-allow', 'resource-based'),
  },
  {
    name: 'a grant for another principal does not apply',
    source: '§6.4 rule 1',
    request: request({
      action: 'kms:Decrypt',
      keyPolicy: ONLY_BOB,
      grants: [{ grantee: bob.arn, operations: ['Decrypt'] }],
    }),
    expect: deny('no-allow', 'resource-based'),
  },
  {
    name: 'a grant to a role covers its sessions',
    source: '§6.4 rule 1',
    request: request({
      principal: engineer,
      action: 'kms:Decrypt',
      keyPolicy: ONLY_BOB,
      grants: [{ grantee: engineer.roleArn!, operations: ['Decrypt'] }],
    }),
    expect: allow('grant'),
  },
  {
    name: 'context constraints are ignored for DescribeKey',
    source: '§6.4 rule 3',
    request: request({
      action: 'kms:DescribeKey',
      keyPolicy: ONLY_BOB,
      grants: [{ ...GRANT_EQ, operations: ['DescribeKey'] }],
    }),
    expect: allow('grant'),
  },
  {
    name: 'a grant to a principal of another account allows a cross-account use',
    source: '§3 step 6',
    request: xacct({
      action: 'kms:Decrypt',
      keyPolicy: DEFAULT_OTHER,
      grants: [{ grantee: engineer.arn, operations: ['Decrypt'] }],
    }),
    expect: allow('grant'),
  },
  {
    name: 'a key policy naming the external user still needs its IAM allow',
    source: '§3 step 6',
    request: xacct({ keyPolicy: keyPolicy(kpAllow(engineer.roleArn!, 'kms:Encrypt')) }),
    expect: deny('no-allow', 'identity-based'),
  },
  {
    name: 'the root user of another account the key policy names',
    source: '§3 step 6',
    request: xacct({
      principal: otherRoot,
      keyAccount: ACCOUNT,
      resource: KEY,
      keyPolicy: keyPolicy(kpAllow(OTHER, 'kms:Encrypt')),
    }),
    expect: allow('key-policy-and-identity'),
  },
  {
    name: 'ReEncryptFrom and ReEncryptTo are separate actions: kms:ReEncrypt* covers both',
    source: '§3 step 7',
    request: request({
      action: 'kms:ReEncryptTo',
      identityPolicies: [iamPolicy(iam('Allow', 'kms:ReEncrypt*'))],
    }),
    expect: allow('key-policy-and-identity'),
  },
  {
    name: 'kms:ReEncryptFrom alone does not give ReEncryptTo',
    source: '§3 step 7',
    request: request({
      action: 'kms:ReEncryptTo',
      identityPolicies: [iamPolicy(iam('Allow', 'kms:ReEncryptFrom'))],
    }),
    expect: deny('no-allow', 'identity-based'),
  },
  {
    name: 'TagResource on a key is a key permission (though IAM-only as part of CreateKey)',
    source: '§2 Key management',
    request: request({
      action: 'kms:TagResource',
      keyPolicy: keyPolicy(kpAllow(alice.arn, 'kms:TagResource')),
    }),
    expect: allow('key-policy'),
  },
  {
    name: 'TagResource for CreateKey (resource *) needs an identity policy',
    source: '§2 No key',
    request: request({
      action: 'kms:TagResource',
      resource: '*',
      keyPolicy: undefined,
      identityPolicies: [iamPolicy(iam('Allow', 'kms:TagResource'))],
    }),
    expect: allow('identity'),
  },
  {
    name: 'ListKeys is decided by identity policies alone',
    source: '§3 step 4',
    request: request({
      action: 'kms:ListKeys',
      resource: '*',
      keyPolicy: undefined,
      identityPolicies: [iamPolicy(iam('Allow', 'kms:List*'))],
    }),
    expect: allow('identity'),
  },
  {
    name: 'ListKeys without an identity policy',
    source: '§3 step 4',
    request: request({ action: 'kms:ListKeys', resource: '*', keyPolicy: undefined }),
    expect: deny('no-allow', 'identity-based'),
  },
  {
    name: 'CreateKey needs Resource "*": a key ARN pattern does not match it',
    source: '§2 No key',
    request: request({
      action: 'kms:CreateKey',
      resource: '*',
      identityPolicies: [
        iamPolicy(iam('Allow', 'kms:CreateKey', `arn:aws:kms:*:${ACCOUNT}:key/*`)),
      ],
    }),
    expect: deny('no-allow', 'identity-based'),
  },
  {
    name: 'a key policy cannot give an IAM-only action (GenerateRandom)',
    source: '§2 No key',
    request: request({
      action: 'kms:GenerateRandom',
      resource: '*',
      keyPolicy: keyPolicy(kpAllow('*', 'kms:*')),
    }),
    expect: deny('no-allow', 'identity-based'),
  },
  {
    name: 'an IAM Deny stops an IAM-only action',
    source: '§3 step 3',
    request: request({
      action: 'kms:ListAliases',
      resource: '*',
      identityPolicies: [iamPolicy(iam('Allow', 'kms:*'), iam('Deny', 'kms:ListAliases'))],
    }),
    expect: deny('explicit-deny', 'identity-based'),
  },
  {
    name: 'the alias half of CreateAlias, with a policy variable in the Resource',
    source: '§2 Aliases; IAM variables',
    request: request({
      action: 'kms:CreateAlias',
      resource: `arn:aws:kms:us-west-2:${ACCOUNT}:alias/Alice-key`,
      identityPolicies: [
        iamPolicy(
          iam(
            'Allow',
            'kms:CreateAlias',
            `arn:aws:kms:us-west-2:${ACCOUNT}:alias/\${aws:username}-*`,
          ),
        ),
      ],
    }),
    expect: allow('identity'),
  },
  {
    name: 'the alias variable resolves to another user: no match',
    source: 'IAM variables',
    request: request({
      principal: bob,
      action: 'kms:CreateAlias',
      resource: `arn:aws:kms:us-west-2:${ACCOUNT}:alias/Alice-key`,
      identityPolicies: [
        iamPolicy(
          iam(
            'Allow',
            'kms:CreateAlias',
            `arn:aws:kms:us-west-2:${ACCOUNT}:alias/\${aws:username}-*`,
          ),
        ),
      ],
    }),
    expect: deny('no-allow', 'identity-based'),
  },
  {
    name: 'an alias of another account is never allowed',
    source: '§2 Aliases (not cross-account)',
    request: request({
      action: 'kms:DeleteAlias',
      resource: `arn:aws:kms:us-west-2:${OTHER}:alias/x`,
      identityPolicies: [iamPolicy(iam('Allow', 'kms:*'))],
    }),
    expect: deny('no-allow', 'identity-based'),
  },
  {
    name: 'ABAC by principal tag: ${aws:PrincipalTag/Department} in an encryption context condition',
    source: 'DG conditions-kms (variables in kms:EncryptionContext values)',
    request: request({
      keyPolicy: keyPolicy({
        ...kpAllow(ACCOUNT, 'kms:Encrypt'),
        Principal: '*',
        Condition: {
          StringEquals: {
            'kms:CallerAccount': ACCOUNT,
            'kms:EncryptionContext:Department': '${aws:PrincipalTag/Department}',
          },
        },
      }),
      conditions: ec({ Department: 'IT' }),
    }),
    expect: allow('key-policy'),
  },
  {
    name: 'a principal tag the request tries to supply is ignored',
    source: 'IAM global keys (principal keys come from the principal)',
    request: request({
      principal: bob,
      keyPolicy: keyPolicy({
        ...kpAllow('*', 'kms:Encrypt'),
        Condition: { StringEquals: { 'aws:PrincipalTag/Department': 'IT' } },
      }),
      conditions: { 'aws:PrincipalTag/Department': 'IT' },
    }),
    expect: deny('no-allow', 'resource-based'),
  },
  {
    name: 'kms:RetireGrant in a key policy is ineffective',
    source: '§6.6',
    request: request({
      action: 'kms:RetireGrant',
      keyPolicy: keyPolicy(kpAllow(alice.arn, 'kms:RetireGrant')),
    }),
    expect: deny('no-allow', 'identity-based'),
  },
  {
    name: 'a Condition on a key the request lacks does not hold',
    source: '§4.4 missing key',
    request: request({
      keyPolicy: keyPolicy({
        ...kpAllow(alice.arn, 'kms:Encrypt'),
        Condition: { StringEquals: { 'kms:ViaService': 's3.us-west-2.amazonaws.com' } },
      }),
    }),
    expect: deny('no-allow', 'resource-based'),
  },
]

describe('policy evaluation: documented AWS examples (kms-authz.md §9)', () => {
  for (const row of DOCUMENTED) {
    it(`${row.name} [${row.source}]`, () => {
      const d = evaluate(row.request)
      assert.deepEqual(
        { allowed: d.allowed, reason: d.reason, policyType: d.policyType },
        { policyType: undefined, ...row.expect },
      )
    })
  }
})

describe('policy evaluation: rules of the algorithm (kms-authz.md §3)', () => {
  for (const row of RULES) {
    it(`${row.name} [${row.source}]`, () => {
      const d = evaluate(row.request)
      assert.deepEqual(
        { allowed: d.allowed, reason: d.reason, policyType: d.policyType },
        { policyType: undefined, ...row.expect },
      )
    })
  }
})

describe('policy evaluation: what a decision reports', () => {
  it('names the statements that allowed, with Sid', () => {
    const d = evaluate(
      request({
        keyPolicy: keyPolicy({ Sid: 'Enable IAM policies', ...kpAllow(ACCOUNT, 'kms:*') }),
        identityPolicies: [iamPolicy({ Sid: 'UseKeys', ...iam('Allow', 'kms:Encrypt') })],
      }),
    )
    assert.deepEqual(d.statements, [
      { policy: 'key', policyIndex: 0, statement: 0, sid: 'Enable IAM policies', effect: 'Allow' },
      { policy: 'identity', policyIndex: 0, statement: 0, sid: 'UseKeys', effect: 'Allow' },
    ])
  })

  it('names the Deny statement and the grant that allowed', () => {
    const denied = evaluate(
      request({
        identityPolicies: [
          iamPolicy(iam('Allow', 'kms:*')),
          iamPolicy(iam('Allow', 'kms:*'), { Sid: 'No', ...iam('Deny', 'kms:*') }),
        ],
      }),
    )
    assert.deepEqual(denied.statements, [
      { policy: 'identity', policyIndex: 1, statement: 1, sid: 'No', effect: 'Deny' },
    ])
    const granted = evaluate(
      request({
        action: 'kms:Decrypt',
        keyPolicy: ONLY_BOB,
        grants: [GRANT_SUB],
        encryptionContext: { Department: 'IT' },
      }),
    )
    assert.equal(granted.grantId, 'g-subset')
  })

  it('derives aws:username, aws:PrincipalArn and aws:PrincipalType from the principal', () => {
    const cond = (key: string, value: string) =>
      keyPolicy({ ...kpAllow('*', 'kms:Encrypt'), Condition: { StringEquals: { [key]: value } } })
    const yes = (principal: typeof alice, key: string, value: string) =>
      evaluate(request({ principal, keyPolicy: cond(key, value) })).allowed
    assert.equal(yes(alice, 'aws:username', 'Alice'), true)
    assert.equal(yes(engineer, 'aws:username', 'carol'), false)
    assert.equal(yes(engineer, 'aws:PrincipalArn', engineer.roleArn!), true)
    assert.equal(yes(engineer, 'aws:PrincipalType', 'AssumedRole'), true)
    assert.equal(yes(root, 'aws:PrincipalType', 'Account'), true)
    assert.equal(yes(alice, 'aws:PrincipalAccount', ACCOUNT), true)
    assert.equal(yes(engineer, 'aws:userid', 'AROAEXAMPLE:carol'), true)
  })

  it('builds the request conditions only when a statement that could apply reads them', () => {
    let built = 0
    const conditions = () => {
      built++
      return { 'kms:EncryptionContext:Department': 'IT' }
    }
    // The default key policy and an administrator policy have no conditions: never built.
    const plain = evaluate(
      request({ conditions, identityPolicies: [iamPolicy(iam('Allow', 'kms:*'))] }),
    )
    assert.equal(plain.allowed, true)
    assert.equal(built, 0)
    // A condition reads them: built once, however many statements read them.
    const conditioned = keyPolicy(
      {
        ...kpAllow(ACCOUNT, 'kms:*'),
        Condition: { StringEquals: { 'kms:EncryptionContext:Department': 'IT' } },
      },
      {
        ...kpAllow(alice.arn, 'kms:*'),
        Condition: { StringLike: { 'kms:EncryptionContext:Department': 'I*' } },
      },
    )
    assert.equal(evaluate(request({ conditions, keyPolicy: conditioned })).allowed, true)
    assert.equal(built, 1)
  })
})
