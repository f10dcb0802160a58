/**
 * Condition operators, one row per rule of kms-authz.md §4.4 (IAM User Guide, "Condition
 * operators" and "Multivalued context keys"), and policy variables.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { compileConditions, conditionsHold } from '../../../src/domain/policy/conditions.js'
import type { JsonValue } from '../../../src/domain/policy/json.js'

type Values = Record<string, string | string[]>

/** Evaluates one Condition element against request values (names in any case). */
function holds(condition: object, values: Values, options: { version?: string } = {}): boolean {
  const compiled = compileConditions(condition as JsonValue, {
    variables: (options.version ?? '2012-10-17') === '2012-10-17',
    statement: 1,
  })
  const map = new Map(
    Object.entries(values).map(([k, v]) => [k.toLowerCase(), Array.isArray(v) ? v : [v]]),
  )
  return conditionsHold(compiled, map)
}

interface Row {
  readonly name: string
  readonly condition: object
  readonly values: Values
  readonly expect: boolean
  readonly version?: string
}

const K = 'kms:ViaService'
const row = (name: string, condition: object, values: Values, expect: boolean): Row => ({
  name,
  condition,
  values,
  expect,
})

const ROWS: Row[] = [
  // String operators
  row('StringEquals: equal', { StringEquals: { [K]: 'a' } }, { [K]: 'a' }, true),
  row('StringEquals: case-sensitive', { StringEquals: { [K]: 'a' } }, { [K]: 'A' }, false),
  row('StringEquals: values OR', { StringEquals: { [K]: ['x', 'a'] } }, { [K]: 'a' }, true),
  row('StringEquals: * is literal', { StringEquals: { [K]: 'a*' } }, { [K]: 'abc' }, false),
  row('StringEquals: missing key', { StringEquals: { [K]: 'a' } }, {}, false),
  row(
    'StringEquals: the key name is case-insensitive',
    { StringEquals: { 'KMS:VIASERVICE': 'a' } },
    { [K]: 'a' },
    true,
  ),
  row('StringNotEquals: different', { StringNotEquals: { [K]: 'a' } }, { [K]: 'b' }, true),
  row(
    'StringNotEquals: values AND (none may match)',
    { StringNotEquals: { [K]: ['b', 'a'] } },
    { [K]: 'a' },
    false,
  ),
  row('StringNotEquals: missing key is true', { StringNotEquals: { [K]: 'a' } }, {}, true),
  row('StringEqualsIgnoreCase', { StringEqualsIgnoreCase: { [K]: 'ABC' } }, { [K]: 'abc' }, true),
  row(
    'StringNotEqualsIgnoreCase',
    { StringNotEqualsIgnoreCase: { [K]: 'ABC' } },
    { [K]: 'abc' },
    false,
  ),
  row('StringLike: *', { StringLike: { [K]: 'alias/fin*' } }, { [K]: 'alias/finance-key' }, true),
  row('StringLike: ? is one character', { StringLike: { [K]: 'a?c' } }, { [K]: 'abbc' }, false),
  row('StringLike: case-sensitive', { StringLike: { [K]: 'A*' } }, { [K]: 'abc' }, false),
  row('StringNotLike', { StringNotLike: { [K]: 'alias/fin*' } }, { [K]: 'alias/hr' }, true),
  row('StringNotLike: missing key is true', { StringNotLike: { [K]: 'x' } }, {}, true),
  row(
    'numbers in a String value compare as text',
    { StringEquals: { [K]: 12 } },
    { [K]: '12' },
    true,
  ),
  // Numeric
  row('NumericEquals: decimals', { NumericEquals: { 'kms:n': '7.0' } }, { 'kms:n': '7' }, true),
  row('NumericNotEquals', { NumericNotEquals: { 'kms:n': 7 } }, { 'kms:n': '8' }, true),
  row('NumericLessThan', { NumericLessThan: { 'kms:n': 30 } }, { 'kms:n': '30' }, false),
  row('NumericLessThanEquals', { NumericLessThanEquals: { 'kms:n': 30 } }, { 'kms:n': '30' }, true),
  row('NumericGreaterThan', { NumericGreaterThan: { 'kms:n': 7 } }, { 'kms:n': '10' }, true),
  row(
    'NumericGreaterThanEquals',
    { NumericGreaterThanEquals: { 'kms:n': 7 } },
    { 'kms:n': '6.5' },
    false,
  ),
  row(
    'Numeric: request value not a number',
    { NumericLessThan: { 'kms:n': 7 } },
    { 'kms:n': 'x' },
    false,
  ),
  // Date
  row(
    'DateLessThan: ISO 8601',
    { DateLessThan: { 'aws:CurrentTime': '2025-01-01T00:00:00Z' } },
    { 'aws:CurrentTime': '2024-12-31T23:59:59Z' },
    true,
  ),
  row(
    'DateGreaterThan: epoch seconds vs ISO',
    { DateGreaterThan: { 'aws:CurrentTime': '1700000000' } },
    { 'aws:CurrentTime': '2024-01-01T00:00:00Z' },
    true,
  ),
  row(
    'DateEquals: a day is its midnight UTC',
    { DateEquals: { 'aws:CurrentTime': '2024-03-01' } },
    { 'aws:CurrentTime': '2024-03-01T00:00:00Z' },
    true,
  ),
  row(
    'DateLessThanEquals: with a zone offset',
    { DateLessThanEquals: { 'aws:CurrentTime': '2024-03-01T02:00:00+02:00' } },
    { 'aws:CurrentTime': '2024-03-01T00:00:00Z' },
    true,
  ),
  row(
    'DateNotEquals',
    { DateNotEquals: { 'aws:CurrentTime': '2024-03-01' } },
    { 'aws:CurrentTime': '2024-03-02' },
    true,
  ),
  row(
    'DateGreaterThanEquals',
    { DateGreaterThanEquals: { 'aws:CurrentTime': '2024-01' } },
    { 'aws:CurrentTime': '2023-12-31T23:59:59Z' },
    false,
  ),
  row(
    'Date: all digits are epoch seconds, not a year',
    { DateLessThan: { 'aws:CurrentTime': '2024' } },
    { 'aws:CurrentTime': '1970-01-01T00:33:43Z' },
    true,
  ),
  // Bool, Null
  row(
    'Bool: JSON true',
    { Bool: { 'aws:SecureTransport': true } },
    { 'aws:SecureTransport': 'true' },
    true,
  ),
  row(
    'Bool: "false"',
    { Bool: { 'aws:SecureTransport': 'false' } },
    { 'aws:SecureTransport': 'true' },
    false,
  ),
  row('Bool: missing key', { Bool: { 'aws:SecureTransport': 'false' } }, {}, false),
  row('BoolIfExists: missing key', { BoolIfExists: { 'aws:SecureTransport': 'false' } }, {}, true),
  row(
    'BoolIfExists: present key is tested',
    { BoolIfExists: { 'aws:SecureTransport': 'false' } },
    { 'aws:SecureTransport': 'true' },
    false,
  ),
  row('Null true: absent', { Null: { [K]: 'true' } }, {}, true),
  row('Null true: present', { Null: { [K]: 'true' } }, { [K]: 'x' }, false),
  row('Null false: present', { Null: { [K]: false } }, { [K]: 'x' }, true),
  // Binary
  row('BinaryEquals: same bytes', { BinaryEquals: { 'kms:b': 'AAEC' } }, { 'kms:b': 'AAEC' }, true),
  row(
    'BinaryEquals: other bytes',
    { BinaryEquals: { 'kms:b': 'AAEC' } },
    { 'kms:b': 'AAED' },
    false,
  ),
  // IP
  row(
    'IpAddress: IPv4 in CIDR',
    { IpAddress: { 'aws:SourceIp': '203.0.113.0/24' } },
    { 'aws:SourceIp': '203.0.113.77' },
    true,
  ),
  row(
    'IpAddress: IPv4 outside',
    { IpAddress: { 'aws:SourceIp': '203.0.113.0/24' } },
    { 'aws:SourceIp': '203.0.114.1' },
    false,
  ),
  row(
    'IpAddress: bare address is /32',
    { IpAddress: { 'aws:SourceIp': '192.0.2.1' } },
    { 'aws:SourceIp': '192.0.2.1' },
    true,
  ),
  row(
    'IpAddress: IPv6 in CIDR',
    { IpAddress: { 'aws:SourceIp': '2001:db8::/32' } },
    { 'aws:SourceIp': '2001:db8:1:2::3' },
    true,
  ),
  row(
    'IpAddress: IPv6 outside',
    { IpAddress: { 'aws:SourceIp': '2001:db8::/32' } },
    { 'aws:SourceIp': '2001:db9::1' },
    false,
  ),
  row(
    'IpAddress: IPv4-mapped IPv6 request',
    { IpAddress: { 'aws:SourceIp': '127.0.0.0/8' } },
    { 'aws:SourceIp': '::ffff:127.0.0.1' },
    true,
  ),
  row(
    'IpAddress: families differ',
    { IpAddress: { 'aws:SourceIp': '::/0' } },
    { 'aws:SourceIp': '10.0.0.1' },
    false,
  ),
  row(
    'IpAddress: embedded IPv4 in the policy',
    { IpAddress: { 'aws:SourceIp': '64:ff9b::192.0.2.0/120' } },
    { 'aws:SourceIp': '64:ff9b::c000:280' },
    true,
  ),
  row(
    'NotIpAddress: outside',
    { NotIpAddress: { 'aws:SourceIp': '10.0.0.0/8' } },
    { 'aws:SourceIp': '11.0.0.1' },
    true,
  ),
  row(
    'NotIpAddress: missing key is true',
    { NotIpAddress: { 'aws:SourceIp': '10.0.0.0/8' } },
    {},
    true,
  ),
  // ARN
  row(
    'ArnLike: wildcard inside a segment',
    { ArnLike: { 'aws:PrincipalArn': 'arn:aws:iam::*:role/Eng*' } },
    { 'aws:PrincipalArn': 'arn:aws:iam::111122223333:role/Engineering' },
    true,
  ),
  row(
    'ArnEquals behaves as ArnLike',
    { ArnEquals: { 'aws:PrincipalArn': 'arn:aws:iam::*:role/*' } },
    { 'aws:PrincipalArn': 'arn:aws:iam::111122223333:role/x' },
    true,
  ),
  row(
    'ArnLike: * does not cross a colon',
    { ArnLike: { 'aws:SourceArn': 'arn:aws:s:*:1111:x/*' } },
    { 'aws:SourceArn': 'arn:aws:s:r:1111:x/a:b' },
    false,
  ),
  row(
    'StringLike: * crosses a colon',
    { StringLike: { 'aws:SourceArn': 'arn:aws:s:*:1111:x/*' } },
    { 'aws:SourceArn': 'arn:aws:s:r:1111:x/a:b' },
    true,
  ),
  row(
    'ArnNotLike',
    { ArnNotLike: { 'aws:PrincipalArn': 'arn:aws:iam::*:role/*' } },
    { 'aws:PrincipalArn': 'arn:aws:iam::111122223333:user/x' },
    true,
  ),
  // IfExists
  row('StringLikeIfExists: missing', { StringLikeIfExists: { [K]: 'x' } }, {}, true),
  row(
    'StringNotEqualsIfExists: present and equal',
    { StringNotEqualsIfExists: { [K]: 'x' } },
    { [K]: 'x' },
    false,
  ),
  // Sets
  row(
    'ForAnyValue: one value matches',
    { 'ForAnyValue:StringEquals': { 'kms:k': ['a', 'b'] } },
    { 'kms:k': ['c', 'b'] },
    true,
  ),
  row(
    'ForAnyValue: none matches',
    { 'ForAnyValue:StringEquals': { 'kms:k': ['a'] } },
    { 'kms:k': ['c', 'b'] },
    false,
  ),
  row(
    'ForAnyValue: missing set is false',
    { 'ForAnyValue:StringEquals': { 'kms:k': ['a'] } },
    {},
    false,
  ),
  row(
    'ForAllValues: every value in the list',
    { 'ForAllValues:StringEquals': { 'kms:k': ['a', 'b'] } },
    { 'kms:k': ['b', 'a'] },
    true,
  ),
  row(
    'ForAllValues: one value outside',
    { 'ForAllValues:StringEquals': { 'kms:k': ['a', 'b'] } },
    { 'kms:k': ['a', 'c'] },
    false,
  ),
  row(
    'ForAllValues: missing set is true',
    { 'ForAllValues:StringEquals': { 'kms:k': ['a'] } },
    {},
    true,
  ),
  row(
    'ForAnyValue:StringNotEquals: some value not listed',
    { 'ForAnyValue:StringNotEquals': { 'kms:k': ['a'] } },
    { 'kms:k': ['a', 'b'] },
    true,
  ),
  row(
    'ForAllValues:StringNotEquals: a listed value present',
    { 'ForAllValues:StringNotEquals': { 'kms:k': ['a'] } },
    { 'kms:k': ['a', 'b'] },
    false,
  ),
  row(
    'ForAllValues:StringLike',
    { 'ForAllValues:StringLike': { 'kms:k': ['Generate*'] } },
    { 'kms:k': ['GenerateDataKey', 'GenerateMac'] },
    true,
  ),
  row(
    'a plain operator on a multi-valued key: any value',
    { StringEquals: { 'kms:k': 'b' } },
    { 'kms:k': ['a', 'b'] },
    true,
  ),
  row(
    'a negated plain operator on a multi-valued key: none may match',
    { StringNotEquals: { 'kms:k': 'b' } },
    { 'kms:k': ['a', 'b'] },
    false,
  ),
  // AND across keys and operators
  row(
    'keys under one operator AND',
    { StringEquals: { 'kms:a': 'x', 'kms:b': 'y' } },
    { 'kms:a': 'x', 'kms:b': 'z' },
    false,
  ),
  row(
    'operators AND',
    { StringEquals: { 'kms:a': 'x' }, Null: { 'kms:b': 'true' } },
    { 'kms:a': 'x', 'kms:b': 'y' },
    false,
  ),
  row(
    'all hold',
    { StringEquals: { 'kms:a': 'x' }, Null: { 'kms:b': 'true' } },
    { 'kms:a': 'x' },
    true,
  ),
  // Policy variables (IAM User Guide, "Policy variables")
  row(
    '${aws:username}',
    { StringEquals: { 'kms:EncryptionContext:user': '${aws:username}' } },
    { 'kms:EncryptionContext:user': 'alice', 'aws:username': 'alice' },
    true,
  ),
  row(
    '${aws:PrincipalTag/Dept} with a tag key in another case',
    { StringEquals: { 'kms:x': 'team-${aws:PrincipalTag/DEPT}' } },
    { 'kms:x': 'team-IT', 'aws:principaltag/dept': 'IT' },
    true,
  ),
  row(
    'an unresolved variable: positive operator false',
    { StringEquals: { 'kms:x': '${aws:username}' } },
    { 'kms:x': '' },
    false,
  ),
  row(
    'an unresolved variable: negated operator true',
    { StringNotEquals: { 'kms:x': '${aws:username}' } },
    { 'kms:x': 'a' },
    true,
  ),
  row(
    "a default value: ${aws:username, 'anonymous'}",
    { StringEquals: { 'kms:x': "${aws:username, 'anonymous'}" } },
    { 'kms:x': 'anonymous' },
    true,
  ),
  row(
    '${*} is a literal star in StringLike',
    { StringLike: { 'kms:x': 'a${*}' } },
    { 'kms:x': 'abc' },
    false,
  ),
  row('${*} matches a literal star', { StringLike: { 'kms:x': 'a${*}' } }, { 'kms:x': 'a*' }, true),
  row('${?} and ${$}', { StringEquals: { 'kms:x': '${?}${$}' } }, { 'kms:x': '?$' }, true),
  row(
    'a substituted value is literal in StringLike',
    { StringLike: { 'kms:x': '${aws:username}' } },
    { 'kms:x': 'anything', 'aws:username': '*' },
    false,
  ),
  row(
    'a multi-valued key does not resolve as a variable',
    { StringEquals: { 'kms:x': '${kms:EncryptionContextKeys}' } },
    { 'kms:x': 'a', 'kms:EncryptionContextKeys': ['a', 'b'] },
    false,
  ),
  row(
    'variables in ArnLike',
    { ArnLike: { 'aws:SourceArn': 'arn:aws:iam::${aws:PrincipalAccount}:role/*' } },
    { 'aws:SourceArn': 'arn:aws:iam::111122223333:role/r', 'aws:PrincipalAccount': '111122223333' },
    true,
  ),
  {
    ...row(
      'variables are literal in Version 2008-10-17',
      { StringEquals: { 'kms:x': '${aws:username}' } },
      { 'kms:x': '${aws:username}', 'aws:username': 'alice' },
      true,
    ),
    version: '2008-10-17',
  },
]

describe('condition operators (kms-authz.md §4.4)', () => {
  for (const r of ROWS) {
    it(r.name, () => {
      assert.equal(holds(r.condition, r.values, r.version ? { version: r.version } : {}), r.expect)
    })
  }
})
