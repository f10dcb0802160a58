/**
 * Parsing and validation of policy documents: the grammar of kms-authz.md §1, and each
 * malformed document with the exact exception name and message (§7.2).
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { defaultKeyPolicy } from '../../../src/domain/policy/default-policy.js'
import { parsePolicy, type PolicyKind } from '../../../src/domain/policy/document.js'
import { PolicyDocumentError } from '../../../src/domain/policy/errors.js'
import { ACCOUNT } from './fixtures.js'

const INVALID_PRINCIPALS = 'Policy contains a statement with one or more invalid principals.'

const stmt = (extra: object = {}) => ({
  Effect: 'Allow',
  Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` },
  Action: 'kms:*',
  Resource: '*',
  ...extra,
})
const doc = (...statements: object[]) =>
  JSON.stringify({ Version: '2012-10-17', Statement: statements })
const withPrincipal = (principal: unknown) => doc(stmt({ Principal: principal }))

/** Asserts that parsing throws `exception` with exactly `message`. */
function rejects(
  input: string | object,
  kind: PolicyKind,
  expected: { exception?: string; message: string },
) {
  assert.throws(
    () => parsePolicy(input, { kind }),
    (e: unknown) => {
      assert.ok(e instanceof PolicyDocumentError, `not a PolicyDocumentError: ${String(e)}`)
      assert.equal(e.exception, expected.exception ?? 'MalformedPolicyDocumentException')
      assert.equal(e.message, expected.message)
      return true
    },
  )
}

describe('policy documents: accepted', () => {
  const ACCEPTED: Array<{ name: string; kind: PolicyKind; input: string | object }> = [
    { name: 'the default key policy', kind: 'key', input: defaultKeyPolicy(ACCOUNT) },
    {
      name: 'one statement as an object, no Version (2008-10-17)',
      kind: 'key',
      input: { Statement: stmt() },
    },
    { name: 'Principal "*"', kind: 'key', input: withPrincipal('*') },
    { name: 'AWS account ID', kind: 'key', input: withPrincipal({ AWS: ACCOUNT }) },
    {
      name: 'user, role with a path, assumed-role session, account root',
      kind: 'key',
      input: withPrincipal({
        AWS: [
          `arn:aws:iam::${ACCOUNT}:user/Alice`,
          `arn:aws:iam::${ACCOUNT}:role/team/Engineering`,
          `arn:aws:sts::${ACCOUNT}:assumed-role/Engineering/carol`,
          `arn:aws:iam::${ACCOUNT}:root`,
        ],
      }),
    },
    {
      name: 'a Service principal',
      kind: 'key',
      input: withPrincipal({ Service: 'logs.us-west-2.amazonaws.com' }),
    },
    {
      name: 'NotPrincipal',
      kind: 'key',
      input: doc({ ...stmt(), Principal: undefined, NotPrincipal: { AWS: ACCOUNT } }),
    },
    {
      name: 'a key policy Sid with spaces',
      kind: 'key',
      input: doc(stmt({ Sid: 'Allow use of the key' })),
    },
    {
      name: 'every operator family, IfExists and set forms',
      kind: 'key',
      input: doc(
        stmt({
          Condition: {
            StringEquals: { 'kms:CallerAccount': ACCOUNT },
            StringNotEqualsIgnoreCase: { 'kms:ViaService': 'x' },
            StringLikeIfExists: { 'kms:RequestAlias': 'alias/*' },
            NumericLessThanEquals: { 'kms:ScheduleKeyDeletionPendingWindowInDays': '30' },
            DateGreaterThan: { 'aws:CurrentTime': '2024-01-01T00:00:00Z' },
            DateLessThan: { 'aws:EpochTime': '1700000000' },
            Bool: { 'aws:SecureTransport': true },
            BinaryEquals: { 'kms:RecipientAttestation:ImageSha384': 'AAEC' },
            IpAddress: { 'aws:SourceIp': ['203.0.113.0/24', '2001:db8::/32'] },
            NotIpAddress: { 'aws:SourceIp': '192.0.2.1' },
            ArnLike: { 'aws:PrincipalArn': `arn:aws:iam::${ACCOUNT}:role/*` },
            Null: { 'kms:EncryptionContextKeys': 'false' },
            'ForAnyValue:StringEquals': { 'kms:EncryptionContextKeys': ['a', 'b'] },
            'ForAllValues:StringLike': { 'kms:GrantOperations': ['Encrypt', 'Decrypt'] },
          },
        }),
      ),
    },
    {
      name: 'an identity policy with wildcard actions and ARNs, Sid alphanumeric',
      kind: 'identity',
      input: {
        Version: '2012-10-17',
        Statement: [
          {
            Sid: 'Use1',
            Effect: 'Allow',
            Action: ['kms:Gen*', 'kms:?ncrypt'],
            Resource: `arn:aws:kms:*:${ACCOUNT}:key/*`,
          },
          { Effect: 'Deny', NotAction: 'kms:Describe*', NotResource: '*' },
          {
            Effect: 'Allow',
            Action: 'kms:CreateAlias',
            Resource: `arn:aws:kms:us-west-2:${ACCOUNT}:alias/\${aws:username}`,
          },
        ],
      },
    },
    {
      name: 'a member named __proto__ in a condition block',
      kind: 'identity',
      input:
        '{"Statement":{"Effect":"Allow","Action":"kms:*","Resource":"*","Condition":{"StringEquals":{"aws:__proto__":"x"}}}}',
    },
  ]
  for (const row of ACCEPTED) {
    it(row.name, () => {
      const policy = parsePolicy(row.input, { kind: row.kind })
      assert.ok(policy.statements.length > 0)
    })
  }

  it('compiles the default policy: one statement delegating to the account', () => {
    const p = parsePolicy(defaultKeyPolicy(ACCOUNT), { kind: 'key' })
    assert.equal(p.version, '2012-10-17')
    assert.equal(p.id, 'key-default-1')
    assert.equal(p.statements[0]!.sid, 'Enable IAM User Permissions')
    assert.deepEqual([...p.statements[0]!.principal!.accounts], [ACCOUNT])
    assert.deepEqual(p.principals, [`arn:aws:iam::${ACCOUNT}:root`])
  })

  it('principalExists sees every named principal and can refuse one', () => {
    const seen: string[] = []
    const input = withPrincipal({ AWS: [ACCOUNT, `arn:aws:iam::${ACCOUNT}:user/Ghost`] })
    parsePolicy(input, { kind: 'key', principalExists: (arn) => (seen.push(arn), true) })
    assert.deepEqual(seen, [`arn:aws:iam::${ACCOUNT}:root`, `arn:aws:iam::${ACCOUNT}:user/Ghost`])
    assert.throws(
      () => parsePolicy(input, { kind: 'key', principalExists: (arn) => !arn.endsWith('Ghost') }),
      { name: 'PolicyDocumentError', message: INVALID_PRINCIPALS },
    )
  })
})

describe('policy documents: refused, with AWS exception and message', () => {
  const big = doc(...Array.from({ length: 400 }, (_, i) => stmt({ Sid: `Statement number ${i}` })))
  const ROWS: Array<{
    name: string
    kind?: PolicyKind
    input: string | object
    exception?: string
    message: string
  }> = [
    { name: 'not JSON', input: '{not json', message: 'The policy document is not valid JSON.' },
    {
      name: 'trailing text',
      input: `${doc(stmt())} x`,
      message: 'The policy document is not valid JSON.',
    },
    {
      name: 'a trailing comma',
      input: '{"Statement":[{"Effect":"Allow"},]}',
      message: 'The policy document is not valid JSON.',
    },
    { name: 'a JSON array', input: '[]', message: 'The policy document must be a JSON object.' },
    {
      name: 'a repeated member',
      input: '{"Version":"2012-10-17","Version":"2008-10-17","Statement":[]}',
      message: "The policy document repeats the member 'Version'.",
    },
    {
      name: 'a repeated Effect inside a statement',
      input:
        '{"Statement":{"Effect":"Deny","Effect":"Allow","Principal":"*","Action":"kms:*","Resource":"*"}}',
      message: "The policy document repeats the member 'Effect'.",
    },
    {
      name: 'an unknown top-level member',
      input: { Version: '2012-10-17', Statment: [] },
      message: "The policy document has an unknown member 'Statment'.",
    },
    {
      name: 'an unsupported Version',
      input: { Version: '2012-10-18', Statement: stmt() },
      message: 'Unsupported policy version: 2012-10-18',
    },
    {
      name: 'Id not a string',
      input: { Id: 1, Statement: stmt() },
      message: 'The policy Id must be a string.',
    },
    {
      name: 'no Statement',
      input: { Version: '2012-10-17' },
      message: 'The policy document has no Statement.',
    },
    {
      name: 'an empty Statement list',
      input: { Statement: [] },
      message: 'The policy document has no Statement.',
    },
    {
      name: 'a statement that is a string',
      input: { Statement: ['x'] },
      message: 'Statement 1: must be a JSON object.',
    },
    {
      name: 'an unknown statement element',
      input: doc(stmt({ Efect: 'Allow' })),
      message: "Statement 1: unknown element 'Efect'.",
    },
    {
      name: 'Effect in lower case',
      input: doc(stmt({ Effect: 'allow' })),
      message: "Statement 1: Effect must be 'Allow' or 'Deny'.",
    },
    {
      name: 'a key policy statement without Principal',
      input: doc(stmt({ Principal: undefined })),
      message: 'Statement 1: a key policy statement must have a Principal.',
    },
    {
      name: 'both Principal and NotPrincipal',
      input: doc(stmt({ NotPrincipal: { AWS: ACCOUNT } })),
      message: 'Statement 1: a key policy statement must have a Principal.',
    },
    {
      name: 'no Action',
      input: doc(stmt(), stmt({ Action: undefined })),
      message: 'Statement 2: must have an Action or NotAction (a string or a list of strings).',
    },
    {
      name: 'both Action and NotAction',
      input: doc(stmt({ NotAction: 'kms:Encrypt' })),
      message: 'Statement 1: must have an Action or NotAction (a string or a list of strings).',
    },
    {
      name: 'an empty Action list',
      input: doc(stmt({ Action: [] })),
      message: 'Statement 1: must have an Action or NotAction (a string or a list of strings).',
    },
    {
      name: 'a malformed action',
      input: doc(stmt({ Action: 'kms Encrypt' })),
      message: "Statement 1: invalid action 'kms Encrypt'.",
    },
    {
      name: 'a key policy without Resource (2025-08-18)',
      input: doc(stmt({ Resource: undefined })),
      message: 'Statement 1: must have a Resource or NotResource.',
    },
    {
      name: 'a key policy Resource other than "*"',
      input: doc(stmt({ Resource: 'arn:aws:kms:us-west-2:111122223333:key/x' })),
      message: "Statement 1: the Resource of a key policy statement must be '*'.",
    },
    {
      name: 'a key policy NotResource',
      input: doc(stmt({ Resource: undefined, NotResource: '*' })),
      message: "Statement 1: the Resource of a key policy statement must be '*'.",
    },
    {
      name: 'an identity policy Resource that is not an ARN',
      kind: 'identity',
      input: { Statement: { Effect: 'Allow', Action: 'kms:*', Resource: 'key/1' } },
      message: "Statement 1: invalid resource 'key/1'.",
    },
    {
      name: 'an identity policy with a Principal',
      kind: 'identity',
      input: { Statement: stmt() },
      message: 'Statement 1: an identity policy statement cannot have a Principal.',
    },
    {
      name: 'an identity policy Sid with spaces',
      kind: 'identity',
      input: { Statement: { Sid: 'a b', Effect: 'Allow', Action: 'kms:*', Resource: '*' } },
      message: 'Statement 1: Sid must be alphanumeric.',
    },
    // Principals (§1.1, §7.2)
    {
      name: 'a principal ARN without :iam',
      input: withPrincipal({ AWS: `arn:aws::${ACCOUNT}:root` }),
      message: INVALID_PRINCIPALS,
    },
    {
      name: 'a wildcard inside a principal ARN',
      input: withPrincipal({ AWS: `arn:aws:iam::${ACCOUNT}:user/*` }),
      message: INVALID_PRINCIPALS,
    },
    {
      name: 'an IAM group',
      input: withPrincipal({ AWS: `arn:aws:iam::${ACCOUNT}:group/Admins` }),
      message: INVALID_PRINCIPALS,
    },
    {
      name: 'an 11-digit account',
      input: withPrincipal({ AWS: '11112222333' }),
      message: INVALID_PRINCIPALS,
    },
    {
      name: 'an unknown principal type',
      input: withPrincipal({ IAM: ACCOUNT }),
      message: INVALID_PRINCIPALS,
    },
    { name: 'an empty principal map', input: withPrincipal({}), message: INVALID_PRINCIPALS },
    {
      name: 'a principal string other than "*"',
      input: withPrincipal(ACCOUNT),
      message: INVALID_PRINCIPALS,
    },
    {
      name: 'a malformed service principal',
      input: withPrincipal({ Service: 'logs' }),
      message: INVALID_PRINCIPALS,
    },
    {
      name: 'a principal number',
      input: withPrincipal({ AWS: 111122223333 }),
      message: INVALID_PRINCIPALS,
    },
    // Conditions (§4.4, §5, §7.2)
    {
      name: 'an unknown operator',
      input: doc(stmt({ Condition: { StringEqual: { 'kms:CallerAccount': ACCOUNT } } })),
      message: "Statement 1: unknown condition operator 'StringEqual'.",
    },
    {
      name: 'NullIfExists',
      input: doc(stmt({ Condition: { NullIfExists: { 'kms:ViaService': 'true' } } })),
      message: "Statement 1: unknown condition operator 'NullIfExists'.",
    },
    {
      name: 'an unknown set operator',
      input: doc(
        stmt({ Condition: { 'ForSomeValues:StringEquals': { 'kms:GrantOperations': 'Encrypt' } } }),
      ),
      message: "Statement 1: unknown condition operator 'ForSomeValues:StringEquals'.",
    },
    {
      name: 'a condition block that is not an object',
      input: doc(stmt({ Condition: { StringEquals: 'x' } })),
      message: 'Statement 1: the StringEquals condition must map condition keys to values.',
    },
    {
      name: 'an empty value list',
      input: doc(stmt({ Condition: { StringEquals: { 'kms:CallerAccount': [] } } })),
      message: "Statement 1: the condition key 'kms:CallerAccount' has no value.",
    },
    {
      name: 'a condition value that is an object',
      input: doc(stmt({ Condition: { StringEquals: { 'kms:CallerAccount': { a: 1 } } } })),
      message: "Statement 1: the values of condition key 'kms:CallerAccount' must be strings.",
    },
    {
      name: 'a condition key without a prefix',
      input: doc(stmt({ Condition: { StringEquals: { CallerAccount: ACCOUNT } } })),
      message: "Statement 1: invalid condition key 'CallerAccount'.",
    },
    {
      name: 'a number that is not one',
      input: doc(stmt({ Condition: { NumericLessThan: { 'kms:RotationPeriodInDays': '3O' } } })),
      message:
        "Statement 1: invalid value '3O' for the NumericLessThan condition on 'kms:RotationPeriodInDays'.",
    },
    {
      name: 'a date that is not ISO 8601',
      input: doc(stmt({ Condition: { DateLessThan: { 'aws:CurrentTime': '01/02/2024' } } })),
      message:
        "Statement 1: invalid value '01/02/2024' for the DateLessThan condition on 'aws:CurrentTime'.",
    },
    {
      name: 'a local time without a zone',
      input: doc(stmt({ Condition: { DateLessThan: { 'aws:CurrentTime': '2024-01-02T10:00' } } })),
      message:
        "Statement 1: invalid value '2024-01-02T10:00' for the DateLessThan condition on 'aws:CurrentTime'.",
    },
    {
      name: 'a Bool that is not true or false',
      input: doc(stmt({ Condition: { Bool: { 'aws:SecureTransport': 'yes' } } })),
      message: "Statement 1: invalid value 'yes' for the Bool condition on 'aws:SecureTransport'.",
    },
    {
      name: 'a CIDR with a prefix too long',
      input: doc(stmt({ Condition: { IpAddress: { 'aws:SourceIp': '10.0.0.0/33' } } })),
      message:
        "Statement 1: invalid value '10.0.0.0/33' for the IpAddress condition on 'aws:SourceIp'.",
    },
    {
      name: 'a malformed IPv6 address',
      input: doc(stmt({ Condition: { IpAddress: { 'aws:SourceIp': '2001:db8:::1' } } })),
      message:
        "Statement 1: invalid value '2001:db8:::1' for the IpAddress condition on 'aws:SourceIp'.",
    },
    {
      name: 'BinaryEquals not base64',
      input: doc(
        stmt({
          Condition: { BinaryEquals: { 'kms:RecipientAttestation:ImageSha384': 'not base64!' } },
        }),
      ),
      message:
        "Statement 1: invalid value 'not base64!' for the BinaryEquals condition on 'kms:RecipientAttestation:ImageSha384'.",
    },
    {
      name: 'aws:ResourceTag in a key policy',
      input: doc(stmt({ Condition: { StringEquals: { 'aws:ResourceTag/Project': 'Alpha' } } })),
      message:
        'These condition keys are not permitted in a key policy: aws:ResourceTag, kms:ResourceTag, kms:ResourceAliases',
    },
    {
      name: 'kms:ResourceAliases in a key policy',
      input: doc(
        stmt({ Condition: { 'ForAnyValue:StringLike': { 'kms:ResourceAliases': 'alias/x*' } } }),
      ),
      message:
        'These condition keys are not permitted in a key policy: aws:ResourceTag, kms:ResourceTag, kms:ResourceAliases',
    },
    {
      name: 'ForAllValues on kms:EncryptionContext:<k> in a key policy',
      input: doc(
        stmt({
          Condition: { 'ForAllValues:StringEquals': { 'kms:EncryptionContext:Dept': 'IT' } },
        }),
      ),
      message:
        'OverlyPermissiveCondition: Using the ForAllValues set operator with a single-valued condition key matches requests without the specified encryption context or with an unspecified encryption context. To fix, remove ForAllValues.',
    },
    {
      name: 'ForAllValues on aws:RequestTag/<k> in a key policy',
      input: doc(
        stmt({ Condition: { 'ForAllValues:StringEquals': { 'aws:RequestTag/Dept': 'IT' } } }),
      ),
      message:
        'OverlyPermissiveCondition: Using the ForAllValues set operator with a single-valued condition key matches requests without the specified tag or with an unspecified tag. To fix, remove ForAllValues.',
    },
    // Size and shape bounds
    {
      name: 'a key policy over 32 KB',
      input: big,
      exception: 'LimitExceededException',
      message: 'The key policy exceeds the maximum size of 32768 bytes.',
    },
    {
      name: 'a key policy object over 32 KB',
      input: JSON.parse(big) as object,
      exception: 'LimitExceededException',
      message: 'The key policy exceeds the maximum size of 32768 bytes.',
    },
    {
      name: 'deep nesting in text',
      input: `{"Statement":${'['.repeat(10_000)}`,
      message: 'The policy document is nested too deeply.',
    },
    {
      name: 'deep nesting in an object',
      input: {
        Statement: [stmt({ Condition: { StringEquals: { 'kms:x': [[[[[[[[['a']]]]]]]]] } } })],
      },
      message: 'The policy document is nested too deeply.',
    },
    {
      name: 'a control character in a string',
      input: '{"Statement":"\u0001"}',
      message: 'The policy document is not valid JSON.',
    },
  ]
  for (const row of ROWS) {
    it(row.name, () =>
      rejects(row.input, row.kind ?? 'key', {
        message: row.message,
        ...(row.exception ? { exception: row.exception } : {}),
      }),
    )
  }

  it('condition variables are literal text in a 2008-10-17 policy', () => {
    const p = parsePolicy(
      { Statement: stmt({ Condition: { StringEquals: { 'aws:username': '${aws:username}' } } }) },
      { kind: 'key' },
    )
    const value = p.statements[0]!.conditions[0]!.values[0]!
    assert.deepEqual(value, {
      kind: 'template',
      template: { parts: [{ text: '${aws:username}' }], hasVariables: false },
    })
  })

  it('an identity policy over its bound', () =>
    rejects(
      {
        Statement: Array.from({ length: 3000 }, () => ({
          Effect: 'Allow',
          Action: 'kms:Encrypt',
          Resource: '*',
        })),
      },
      'identity',
      {
        exception: 'LimitExceededException',
        message: 'The policy document exceeds the maximum size of 131072 bytes.',
      },
    ))

  it('thousands of statements in an identity policy parse in linear work', () => {
    const statements = Array.from({ length: 1500 }, (_, i) => ({
      Sid: `S${i}`,
      Effect: 'Allow',
      Action: 'kms:Encrypt',
      Resource: '*',
    }))
    const p = parsePolicy({ Version: '2012-10-17', Statement: statements }, { kind: 'identity' })
    assert.equal(p.statements.length, 1500)
  })
})
