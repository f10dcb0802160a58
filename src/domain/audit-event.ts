import type { Caller } from './caller.js'

/**
 * The audit trail's events and the CloudTrail records made of them, as pure functions: the
 * record of a KMS call has the members of a CloudTrail event for KMS (CloudTrail User Guide,
 * "CloudTrail record contents"; Developer Guide, "Logging AWS KMS API calls with AWS
 * CloudTrail"), built from what the request core saw, never from the bodies.
 */

/** A key an operation used: resolved from a KeyId, an alias or a ciphertext's header. */
export interface UsedKey {
  readonly arn: string
  readonly region: string
  readonly keyId: string
}

/** What CloudTrail records of a call beyond who, what and when (src/core/audit-fields.ts). */
export interface AuditDetails {
  /** The peer's address (aws:SourceIp). */
  readonly sourceIp?: string
  /** The User-Agent header, as the client sent it (cut to 1 KiB). */
  readonly userAgent?: string
  /** Whether the operation only reads (CloudTrail's `readOnly`). */
  readonly readOnly: boolean
  /** The allow-listed request members, camelCase; never secrets (audit-fields.ts). */
  readonly requestParameters: Readonly<Record<string, unknown>> | null
  /** The allow-listed response members of a success, camelCase; null otherwise. */
  readonly responseElements: Readonly<Record<string, unknown>> | null
}

/**
 * One finished KMS call, as the request core saw it. It carries identifiers and the redacted
 * request parameters and response elements only: never plaintext, ciphertext, key material,
 * secrets or grant tokens, so any sink may store or ship it.
 */
export interface AuditEvent {
  /** The API operation, e.g. `Encrypt`. */
  readonly operation: string
  readonly requestId: string
  /**
   * Who called; absent when the call was refused before authentication succeeded (a bad
   * signature, an unknown access key): then only {@link AuditEvent.accessKeyId} may be known.
   */
  readonly caller?: Caller
  /** The access key ID a refused, unauthenticated request claimed (only when well-formed). */
  readonly accessKeyId?: string
  /** The account that access key belongs to, when Keyward knows it (CloudTrail's recipient). */
  readonly accountId?: string
  readonly region: string
  /** Milliseconds since the epoch, from the injected clock, when the call finished. */
  readonly at: number
  /**
   * The keys the operation resolved, in the order it resolved them, each once (ReEncrypt: the
   * source key from the ciphertext and the destination key). Empty for operations on no key.
   */
  readonly keys: readonly UsedKey[]
  /** `success`, or the exception the caller was answered with (e.g. `DisabledException`). */
  readonly outcome: 'success' | { readonly error: string; readonly message?: string }
  /** The CloudTrail eventID of this call's record (a UUID minted by the request core). */
  readonly eventId?: string
  /** What CloudTrail records of the call beyond the above. */
  readonly details?: AuditDetails
}

/**
 * Something the service did by itself, recorded as CloudTrail's `AwsServiceEvent`: a
 * scheduled deletion carried out (`DeleteKey`), an automatic rotation (`RotateKey`), imported
 * material that expired (`DeleteExpiredKeyMaterial`) (Developer Guide, "Logging AWS KMS API
 * calls", the service events), and a custom key store whose connection state changed.
 */
export interface ServiceEvent {
  readonly eventName:
    'DeleteKey' | 'RotateKey' | 'DeleteExpiredKeyMaterial' | 'CustomKeyStoreConnectionStateChange'
  readonly eventId: string
  readonly at: number
  readonly region: string
  readonly accountId: string
  readonly keys: readonly UsedKey[]
  /** CloudTrail's `serviceEventDetails`: identifiers and states only. */
  readonly details?: Readonly<Record<string, string | number | boolean>>
}

/** CloudTrail's `userIdentity` (CloudTrail User Guide, "CloudTrail userIdentity element"). */
export interface UserIdentity {
  readonly type: 'IAMUser' | 'AssumedRole' | 'Root' | 'Unknown' | 'AWSService'
  readonly principalId?: string
  readonly arn?: string
  readonly accountId?: string
  readonly accessKeyId?: string
  readonly userName?: string
  readonly invokedBy?: string
  readonly sessionContext?: {
    readonly sessionIssuer: {
      readonly type: 'Role'
      readonly principalId?: string
      readonly arn: string
      readonly accountId: string
      readonly userName: string
    }
    readonly attributes: { readonly mfaAuthenticated: 'false' }
  }
}

/** One CloudTrail record, as a line of the audit trail holds it. */
export interface CloudTrailRecord {
  readonly eventVersion: string
  readonly userIdentity: UserIdentity
  readonly eventTime: string
  readonly eventSource: 'kms.amazonaws.com'
  readonly eventName: string
  readonly awsRegion: string
  readonly sourceIPAddress: string
  readonly userAgent: string
  readonly errorCode?: string
  readonly errorMessage?: string
  readonly requestParameters: Readonly<Record<string, unknown>> | null
  readonly responseElements: Readonly<Record<string, unknown>> | null
  readonly requestID?: string
  readonly eventID: string
  readonly readOnly: boolean
  readonly resources: ReadonlyArray<{
    readonly accountId: string
    readonly type: 'AWS::KMS::Key'
    readonly ARN: string
  }>
  readonly eventType: 'AwsApiCall' | 'AwsServiceEvent'
  readonly managementEvent: true
  readonly recipientAccountId: string
  readonly eventCategory: 'Management'
  readonly serviceEventDetails?: Readonly<Record<string, string | number | boolean>>
}

/** The version of CloudTrail's record format these records follow. */
export const EVENT_VERSION = '1.11'
const KMS = 'kms.amazonaws.com' as const

/** `arn:aws:kms:<region>:<account>:key/<id>` → `<account>` (the fifth field; no array made). */
function accountOfArn(arn: string): string {
  let start = 0
  for (let field = 0; field < 4; field++) {
    start = arn.indexOf(':', start) + 1
    if (start === 0) return ''
  }
  const end = arn.indexOf(':', start)
  return end === -1 ? arn.slice(start) : arn.slice(start, end)
}

/** The kind of identity an ARN names, for callers that do not say (as policy-caller.ts reads it). */
const typeOfArn = (arn: string) =>
  /^arn:[^:]+:iam::\d{12}:root$/.test(arn)
    ? 'root'
    : /^arn:[^:]+:sts::\d{12}:assumed-role\//.test(arn)
      ? 'assumed-role'
      : 'user'

/** The name after the last `/` of an IAM ARN: the user, role or session name. */
const lastName = (arn: string) => arn.slice(arn.lastIndexOf('/') + 1)

/**
 * CloudTrail's `userIdentity` of a caller: IAMUser, AssumedRole (with its session issuer, the
 * role) or Root; `Unknown` with at most the claimed access key ID when authentication failed.
 *
 * @example
 *   userIdentityOf({ accountId: '111122223333', arn: 'arn:aws:iam::111122223333:user/admin' })
 *   // { type: 'IAMUser', arn: …, accountId: '111122223333', userName: 'admin' }
 */
export function userIdentityOf(
  caller: Caller | undefined,
  claimedAccessKeyId?: string,
): UserIdentity {
  if (!caller) {
    return claimedAccessKeyId
      ? { type: 'Unknown', accessKeyId: claimedAccessKeyId }
      : { type: 'Unknown' }
  }
  const common = {
    ...(caller.userId ? { principalId: caller.userId } : {}),
    arn: caller.arn,
    accountId: caller.accountId,
    ...(caller.accessKeyId ? { accessKeyId: caller.accessKeyId } : {}),
  }
  const type = caller.principalType ?? typeOfArn(caller.arn)
  if (type === 'root') return { type: 'Root', ...common, principalId: caller.accountId }
  if (type === 'user')
    return { type: 'IAMUser', ...common, userName: caller.userName ?? lastName(caller.arn) }
  const roleArn = caller.roleArn ?? ''
  const roleId = caller.userId?.split(':')[0]
  return {
    type: 'AssumedRole',
    ...common,
    sessionContext: {
      sessionIssuer: {
        type: 'Role',
        ...(roleId ? { principalId: roleId } : {}),
        arn: roleArn,
        accountId: caller.accountId,
        userName: lastName(roleArn),
      },
      attributes: { mfaAuthenticated: 'false' },
    },
  }
}

const resourcesOf = (keys: readonly UsedKey[]) =>
  keys.map((key) => ({
    accountId: accountOfArn(key.arn),
    type: 'AWS::KMS::Key' as const,
    ARN: key.arn,
  }))

/**
 * The CloudTrail record of a finished call (`AwsApiCall`).
 *
 * @example
 *   const record = callRecord(event)
 *   record.eventName // 'Encrypt'
 */
export function callRecord(event: AuditEvent): CloudTrailRecord {
  const details = event.details
  const failure = event.outcome === 'success' ? undefined : event.outcome
  const recipient =
    event.caller?.accountId ??
    event.accountId ??
    (event.keys[0] ? accountOfArn(event.keys[0].arn) : '')
  return {
    eventVersion: EVENT_VERSION,
    userIdentity: userIdentityOf(event.caller, event.accessKeyId),
    eventTime: isoSeconds(event.at),
    eventSource: KMS,
    eventName: event.operation,
    awsRegion: event.region,
    sourceIPAddress: details?.sourceIp ?? '',
    userAgent: details?.userAgent ?? '',
    // Undefined on success: JSON leaves them out, and every record keeps one object shape,
    // which V8 builds and serializes faster than shapes made by spreading.
    errorCode: failure?.error,
    errorMessage: failure?.message || undefined,
    requestParameters: details?.requestParameters ?? null,
    responseElements: failure ? null : (details?.responseElements ?? null),
    requestID: event.requestId,
    eventID: event.eventId ?? event.requestId,
    readOnly: details?.readOnly ?? false,
    resources: resourcesOf(event.keys),
    eventType: 'AwsApiCall',
    managementEvent: true,
    recipientAccountId: recipient,
    eventCategory: 'Management',
  }
}

/**
 * The CloudTrail record of a service event (`AwsServiceEvent`): the service is the actor,
 * as in AWS's records ("invokedBy": "kms.amazonaws.com"), and it has no request.
 *
 * @example
 *   serviceRecord({ eventName: 'RotateKey', eventId, at, region, accountId, keys })
 */
export function serviceRecord(event: ServiceEvent): CloudTrailRecord {
  return {
    eventVersion: EVENT_VERSION,
    userIdentity: { type: 'AWSService', accountId: event.accountId, invokedBy: KMS },
    eventTime: isoSeconds(event.at),
    eventSource: KMS,
    eventName: event.eventName,
    awsRegion: event.region,
    sourceIPAddress: KMS,
    userAgent: KMS,
    requestParameters: null,
    responseElements: null,
    eventID: event.eventId,
    readOnly: false,
    resources: resourcesOf(event.keys),
    eventType: 'AwsServiceEvent',
    managementEvent: true,
    recipientAccountId: event.accountId,
    eventCategory: 'Management',
    ...(event.details ? { serviceEventDetails: event.details } : {}),
  }
}

/** The last second formatted: a busy server records thousands of events in the same second. */
let lastSecond = Number.NaN
let lastSecondText = ''

/** CloudTrail writes eventTime to the second, in UTC: `2026-12-06T01:02:03Z`. */
function isoSeconds(ms: number): string {
  const second = Math.floor(ms / 1000)
  if (second !== lastSecond) {
    lastSecondText = new Date(second * 1000).toISOString().slice(0, 19) + 'Z'
    lastSecond = second
  }
  return lastSecondText
}
