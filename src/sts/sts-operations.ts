import { randomUUID } from 'node:crypto'
import type { Principals, Role } from '../config/principals.js'
import type { Caller } from '../domain/caller.js'
import { parsePolicy, PolicyDocumentError } from '../domain/policy/index.js'
import {
  newTemporaryAccessKeyId,
  newTemporarySecret,
  type SessionClaims,
  type SessionTokens,
} from './session-token.js'
import { STS_MESSAGES, StsError, xmlEscape } from './sts-errors.js'
import { trustAllows } from './trust.js'

/**
 * The three STS actions Keyward answers (STS API Reference, version 2011-06-15), each taking the
 * decoded form parameters and returning the `<…Result>` element's inner XML. Everything else is
 * `InvalidAction`. These never call a KMS operation.
 */

/** What an STS action needs. */
export interface StsContext {
  readonly caller: Caller
  readonly principals: Principals
  readonly tokens: SessionTokens
  readonly now: number
  readonly params: URLSearchParams
}

/** STS's parameter limits (API Reference, AssumeRole and GetSessionToken). */
const ROLE_SESSION_NAME = /^[\w+=,.@-]*$/
const EXTERNAL_ID = /^[\w+=,.@:/-]*$/
const TAG_KEY = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]+$/u
const TAG_VALUE = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u
const MAX_SESSION_TAGS = 50
/** Role chaining: a session that assumes a role gets at most one hour (IAM User Guide, "Role chaining"). */
const CHAINED_MAX_SECONDS = 3600
const ROLE_ARN = /^arn:aws:iam::(\d{12}):role\/(?:[\w+=,.@-]+\/)*([\w+=,.@-]{1,64})$/

/** Collects AWS's "N validation error(s) detected: …" for one request. */
class Problems {
  readonly list: string[] = []

  add(value: string | null, member: string, constraint: string): void {
    const shown = value === null ? 'null' : `'${value}'`
    this.list.push(`Value ${shown} at '${member}' failed to satisfy constraint: ${constraint}`)
  }

  throwIfAny(): void {
    const n = this.list.length
    if (n === 0) return
    throw new StsError(
      'ValidationError',
      `${n} validation error${n === 1 ? '' : 's'} detected: ${this.list.join('; ')}`,
    )
  }
}

function checkLength(
  problems: Problems,
  member: string,
  value: string | null,
  range: { min: number; max: number; required?: boolean },
): void {
  if (value === null) {
    if (range.required) problems.add(null, member, 'Member must not be null')
    return
  }
  if (value.length < range.min)
    problems.add(value, member, `Member must have length greater than or equal to ${range.min}`)
  else if (value.length > range.max)
    problems.add(value, member, `Member must have length less than or equal to ${range.max}`)
}

/** DurationSeconds in [min, max], or `fallback` when absent. */
function duration(
  problems: Problems,
  value: string | null,
  range: { min: number; max: number; fallback: number },
): number {
  if (value === null) return range.fallback
  const n = /^-?\d{1,12}$/.test(value) ? Number(value) : NaN
  if (Number.isNaN(n)) {
    throw new StsError('MalformedInput', `Invalid value for DurationSeconds: ${value}`)
  }
  if (n < range.min)
    problems.add(
      value,
      'durationSeconds',
      `Member must have value greater than or equal to ${range.min}`,
    )
  else if (n > range.max)
    problems.add(
      value,
      'durationSeconds',
      `Member must have value less than or equal to ${range.max}`,
    )
  return n
}

/** `Tags.member.N.Key` / `.Value` (Query protocol lists), checked as AWS checks session tags. */
function sessionTags(params: URLSearchParams, problems: Problems): Record<string, string> {
  const tags: Record<string, string> = {}
  const lower = new Set<string>()
  for (let i = 1; params.has(`Tags.member.${i}.Key`) || params.has(`Tags.member.${i}.Value`); i++) {
    if (i > MAX_SESSION_TAGS) {
      problems.add(
        null,
        'tags',
        `Member must have length less than or equal to ${MAX_SESSION_TAGS}`,
      )
      break
    }
    const key = params.get(`Tags.member.${i}.Key`)
    const value = params.get(`Tags.member.${i}.Value`)
    const at = `tags.${i}.member`
    if (key === null) problems.add(null, `${at}.key`, 'Member must not be null')
    else if (key.length < 1 || key.length > 128 || !TAG_KEY.test(key))
      problems.add(
        key,
        `${at}.key`,
        `Member must satisfy regular expression pattern: [\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]+`,
      )
    if (value === null) problems.add(null, `${at}.value`, 'Member must not be null')
    else if (value.length > 256 || !TAG_VALUE.test(value))
      problems.add(
        value,
        `${at}.value`,
        `Member must satisfy regular expression pattern: [\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*`,
      )
    if (key === null || value === null) continue
    // Tag keys are case-insensitive in a session (IAM User Guide, "Passing session tags in STS").
    if (lower.has(key.toLowerCase())) {
      throw new StsError(
        'InvalidParameterValue',
        'Duplicate tag keys found. Please note that Tag keys are case insensitive.',
      )
    }
    lower.add(key.toLowerCase())
    tags[key] = value
  }
  return tags
}

/** The session policy (`Policy`), parsed as an identity policy: it can only narrow. */
function sessionPolicy(text: string | null): unknown {
  if (text === null) return undefined
  try {
    parsePolicy(text, { kind: 'identity', maxBytes: 2048 })
  } catch (error) {
    if (!(error instanceof PolicyDocumentError)) throw error
    const code =
      error.exception === 'LimitExceededException'
        ? 'PackedPolicyTooLarge'
        : 'MalformedPolicyDocument'
    throw new StsError(code, error.message)
  }
  return JSON.parse(text) as unknown
}

/** ISO 8601 with seconds, as STS writes Expiration (e.g. 2026-01-01T12:00:00Z). */
const isoSeconds = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z')

function credentialsXml(accessKeyId: string, secret: string, token: string, expiresAt: number) {
  return (
    '    <Credentials>\n' +
    `      <AccessKeyId>${accessKeyId}</AccessKeyId>\n` +
    `      <SecretAccessKey>${xmlEscape(secret)}</SecretAccessKey>\n` +
    `      <SessionToken>${xmlEscape(token)}</SessionToken>\n` +
    `      <Expiration>${isoSeconds(expiresAt)}</Expiration>\n` +
    '    </Credentials>\n'
  )
}

/** GetCallerIdentity: who the credentials belong to. Needs no permission (STS API Reference). */
export function getCallerIdentity(ctx: StsContext): string {
  const { caller } = ctx
  const userId = caller.userId ?? caller.accountId
  return (
    `    <Arn>${xmlEscape(caller.arn)}</Arn>\n` +
    `    <UserId>${xmlEscape(userId)}</UserId>\n` +
    `    <Account>${caller.accountId}</Account>\n`
  )
}

function findRole(ctx: StsContext, roleArn: string): Role | undefined {
  const m = ROLE_ARN.exec(roleArn)
  if (!m) return undefined
  return ctx.principals.roles?.get(`arn:aws:iam::${m[1]}:role/${m[2]}`)
}

/**
 * AssumeRole: temporary credentials of a role session, when the role's trust policy (and, when
 * it delegates to an account or the caller is of another account, the caller's identity
 * policies) allow `sts:AssumeRole`, and `sts:TagSession` when Tags are passed.
 */
export function assumeRole(ctx: StsContext): string {
  const { params, caller } = ctx
  const problems = new Problems()
  const roleArn = params.get('RoleArn')
  const sessionName = params.get('RoleSessionName')
  const externalId = params.get('ExternalId')
  const policyText = params.get('Policy')
  checkLength(problems, 'roleArn', roleArn, { min: 20, max: 2048, required: true })
  checkLength(problems, 'roleSessionName', sessionName, { min: 2, max: 64, required: true })
  if (sessionName !== null && !ROLE_SESSION_NAME.test(sessionName))
    problems.add(
      sessionName,
      'roleSessionName',
      'Member must satisfy regular expression pattern: [\\w+=,.@-]*',
    )
  checkLength(problems, 'externalId', externalId, { min: 2, max: 1224 })
  if (externalId !== null && !EXTERNAL_ID.test(externalId))
    problems.add(
      externalId,
      'externalId',
      'Member must satisfy regular expression pattern: [\\w+=,.@:\\/-]*',
    )
  checkLength(problems, 'policy', policyText, { min: 1, max: 2048 })
  const seconds = duration(problems, params.get('DurationSeconds'), {
    min: 900,
    max: 43200,
    fallback: 3600,
  })
  const tags = sessionTags(params, problems)
  problems.throwIfAny()
  if ([...params.keys()].some((k) => k.startsWith('PolicyArns.'))) {
    throw new StsError(
      'InvalidParameterValue',
      'PolicyArns (managed session policies) are not supported by Keyward; pass the session policy in Policy.',
    )
  }
  const policy = sessionPolicy(policyText)
  const role = findRole(ctx, roleArn!)
  const tagKeys = Object.keys(tags)
  const conditions: Record<string, string | readonly string[]> = {
    'sts:RoleSessionName': sessionName!,
    ...(externalId !== null ? { 'sts:ExternalId': externalId } : {}),
    ...(tagKeys.length > 0 ? { 'aws:TagKeys': tagKeys } : {}),
  }
  for (const k of tagKeys) conditions[`aws:RequestTag/${k}`] = tags[k]!
  const allowed = (action: string) =>
    role !== undefined && trustAllows(caller, role, { action, conditions })
  // A role that does not exist answers as one the caller may not assume: no existence oracle.
  if (!allowed('sts:AssumeRole') || (tagKeys.length > 0 && !allowed('sts:TagSession'))) {
    const action = allowed('sts:AssumeRole') ? 'sts:TagSession' : 'sts:AssumeRole'
    throw new StsError(
      'AccessDenied',
      STS_MESSAGES.notAuthorized(caller.arn, action, roleArn!),
      403,
    )
  }
  const chained = caller.principalType === 'assumed-role'
  if (chained && seconds > CHAINED_MAX_SECONDS)
    throw new StsError('ValidationError', STS_MESSAGES.durationOverChainLimit)
  if (seconds > role!.maxSessionDuration)
    throw new StsError('ValidationError', STS_MESSAGES.durationOverRoleMax)
  const accessKeyId = newTemporaryAccessKeyId()
  const secretAccessKey = newTemporarySecret()
  const expiresAt = ctx.now + seconds * 1000
  const claims: SessionClaims = {
    kind: 'role',
    accountId: role!.accountId,
    principalArn: role!.arn,
    sessionName: sessionName!,
    issuedAt: ctx.now,
    expiresAt,
    ...(tagKeys.length > 0 ? { tags } : {}),
    ...(policy !== undefined ? { sessionPolicy: policy } : {}),
    ...(chained ? { chained: true } : {}),
    secretAccessKey,
  }
  const token = ctx.tokens.seal(accessKeyId, claims)
  const sessionArn = `arn:aws:sts::${role!.accountId}:assumed-role/${role!.name}/${sessionName}`
  return (
    '    <AssumedRoleUser>\n' +
    `      <AssumedRoleId>${role!.roleId}:${xmlEscape(sessionName!)}</AssumedRoleId>\n` +
    `      <Arn>${xmlEscape(sessionArn)}</Arn>\n` +
    '    </AssumedRoleUser>\n' +
    credentialsXml(accessKeyId, secretAccessKey, token, expiresAt) +
    (policy !== undefined || tagKeys.length > 0
      ? `    <PackedPolicySize>${packedPolicySize(policyText, tagKeys.length)}</PackedPolicySize>\n`
      : '')
  )
}

/**
 * A percentage of AWS's packed-size limit, which AWS does not define precisely; this is the
 * share of the 2,048-character policy limit plus the share of the 50-tag limit, rounded up.
 */
function packedPolicySize(policy: string | null, tags: number): number {
  return Math.ceil(((policy?.length ?? 0) / 2048) * 100 + (tags / MAX_SESSION_TAGS) * 100)
}

/**
 * GetSessionToken: temporary credentials of the calling IAM user (900 s to 36 h, 12 h by
 * default). Refused from session credentials, as AWS refuses it.
 */
export function getSessionToken(ctx: StsContext): string {
  const { caller, params } = ctx
  const problems = new Problems()
  const seconds = duration(problems, params.get('DurationSeconds'), {
    min: 900,
    max: 129600,
    fallback: 43200,
  })
  problems.throwIfAny()
  if (caller.principalType === 'assumed-role' || caller.accessKeyId?.startsWith('ASIA')) {
    throw new StsError('AccessDenied', STS_MESSAGES.sessionTokenFromSession, 403)
  }
  const accessKeyId = newTemporaryAccessKeyId()
  const secretAccessKey = newTemporarySecret()
  const expiresAt = ctx.now + seconds * 1000
  const token = ctx.tokens.seal(accessKeyId, {
    kind: 'user',
    accountId: caller.accountId,
    principalArn: caller.arn,
    issuedAt: ctx.now,
    expiresAt,
    secretAccessKey,
  })
  return credentialsXml(accessKeyId, secretAccessKey, token, expiresAt)
}

/** A fresh request ID in AWS's shape. */
export const newRequestId = (): string => randomUUID()
