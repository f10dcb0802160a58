/**
 * The condition keys one request supplies to policy evaluation (kms-authz.md §4; Developer
 * Guide, "AWS KMS condition keys"; IAM User Guide, "AWS global condition context keys"). Each
 * key is supplied only by the operations AWS documents for it (CONDITION_KEYS in
 * src/domain/policy/tables.ts): a key a request does not supply is absent, so `Null` and
 * `…IfExists` see it as AWS would. Pure: the caller passes the clock's time.
 */
import type { KeyRecord } from './key.js'
import { conditionKeyInfo, encryptionContextConditions } from './policy/index.js'

/** A condition value: multi-valued keys take lists. */
export type ConditionValue = string | number | boolean | readonly string[]

/** Which half of a two-key operation a check is for (ReEncrypt: From on the source key). */
export type KeyRole = 'source' | 'destination'

/**
 * Where a request came from, as the front door saw it: the sources of the global condition
 * keys aws:SourceIp, aws:SecureTransport and aws:UserAgent (IAM User Guide, "AWS global
 * condition context keys").
 */
export interface RequestOrigin {
  /** The TCP peer's address (an IPv4 peer on a dual-stack socket as `a.b.c.d`). */
  readonly sourceIp?: string
  /** Whether TLS carried the call. */
  readonly secureTransport: boolean
  /** The request's User-Agent header, as the client sent it. */
  readonly userAgent?: string
}

/** What {@link requestConditions} reads. */
export interface ConditionRequest {
  /** The API operation, e.g. `Encrypt`. */
  readonly operation: string
  /** The validated input of the operation. */
  readonly input: unknown
  /** The key the check is on, for the key-resource keys; absent for `*`. */
  readonly key?: KeyRecord
  /** For ReEncrypt: which side the check is on (source: ReEncryptFrom). */
  readonly role?: KeyRole
  /** The key's alias names, when a policy reads `kms:ResourceAliases`. */
  readonly aliases?: readonly string[]
  readonly region: string
  /** Where the call came from (absent: neither global key is supplied). */
  readonly origin?: RequestOrigin
  /** Milliseconds since the epoch. */
  readonly now: number
}

type Input = Readonly<Record<string, unknown>>

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined)
const record = (v: unknown): Readonly<Record<string, string>> | undefined =>
  v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, string>) : undefined

/** `alias/x` for a KeyId that names an alias by name or by ARN; else undefined. */
export function requestAlias(keyId: unknown): string | undefined {
  if (typeof keyId !== 'string') return undefined
  if (keyId.startsWith('alias/')) return keyId
  const m = /^arn:[^:]+:kms:[^:]*:\d{12}:(alias\/.+)$/.exec(keyId)
  return m ? m[1] : undefined
}

/** Operations whose symmetric encryption algorithm is fixed (Developer Guide, kms:EncryptionAlgorithm). */
const SYMMETRIC_ONLY = new Set([
  'GenerateDataKey',
  'GenerateDataKeyWithoutPlaintext',
  'GenerateDataKeyPair',
  'GenerateDataKeyPairWithoutPlaintext',
])

/** The per-operation request keys, before filtering by which operations supply them. */
function fromInput(req: ConditionRequest): Record<string, ConditionValue> {
  const input = (req.input ?? {}) as Input
  const out: Record<string, ConditionValue> = {}
  const put = (name: string, value: ConditionValue | undefined) => {
    if (value !== undefined) out[name] = value
  }
  const source = req.role === 'source'
  const destination = req.role === 'destination'
  // kms:EncryptionContext:<k>, kms:EncryptionContextKeys: for ReEncrypt each half reads its
  // own context (undocumented, kms-authz.md §3 step 7); CreateGrant's come from its constraints.
  const constraints = record(input.Constraints) as
    | {
        EncryptionContextEquals?: Record<string, string>
        EncryptionContextSubset?: Record<string, string>
      }
    | undefined
  const context = source
    ? input.SourceEncryptionContext
    : destination
      ? input.DestinationEncryptionContext
      : req.operation === 'CreateGrant'
        ? (constraints?.EncryptionContextEquals ?? constraints?.EncryptionContextSubset)
        : input.EncryptionContext
  Object.assign(out, encryptionContextConditions(record(context)))
  put(
    'kms:EncryptionAlgorithm',
    SYMMETRIC_ONLY.has(req.operation)
      ? 'SYMMETRIC_DEFAULT'
      : (str(
          source
            ? input.SourceEncryptionAlgorithm
            : destination
              ? input.DestinationEncryptionAlgorithm
              : input.EncryptionAlgorithm,
        ) ?? 'SYMMETRIC_DEFAULT'),
  )
  put(
    'kms:RequestAlias',
    requestAlias(source ? input.SourceKeyId : destination ? input.DestinationKeyId : input.KeyId),
  )
  put('kms:ReEncryptOnSameKey', reEncryptOnSameKey(input))
  put('kms:DataKeyPairSpec', str(input.KeyPairSpec))
  put('kms:MacAlgorithm', str(input.MacAlgorithm))
  put('kms:SigningAlgorithm', str(input.SigningAlgorithm))
  put('kms:MessageType', str(input.MessageType) ?? (input.Message ? 'RAW' : undefined))
  put('kms:KeyAgreementAlgorithm', str(input.KeyAgreementAlgorithm))
  // The Region a ReplicateKey replicates to and the one UpdatePrimaryRegion promotes
  // (Developer Guide, "kms:ReplicaRegion", "kms:PrimaryRegion").
  put('kms:ReplicaRegion', str(input.ReplicaRegion))
  put('kms:PrimaryRegion', str(input.PrimaryRegion))
  put('kms:WrappingAlgorithm', str(input.WrappingAlgorithm))
  put('kms:WrappingKeySpec', str(input.WrappingKeySpec))
  put('kms:ExpirationModel', str(input.ExpirationModel))
  if (input.ValidTo instanceof Date) put('kms:ValidTo', String(input.ValidTo.getTime() / 1000))
  put('kms:ScheduleKeyDeletionPendingWindowInDays', num(input.PendingWindowInDays, 30))
  put('kms:RotationPeriodInDays', num(input.RotationPeriodInDays, 365))
  put('kms:BypassPolicyLockoutSafetyCheck', input.BypassPolicyLockoutSafetyCheck === true)
  if (Array.isArray(input.Operations)) put('kms:GrantOperations', input.Operations as string[])
  put('kms:GranteePrincipal', str(input.GranteePrincipal))
  put('kms:RetiringPrincipal', str(input.RetiringPrincipal))
  if (constraints) {
    put(
      'kms:GrantConstraintType',
      constraints.EncryptionContextEquals ? 'EncryptionContextEquals' : 'EncryptionContextSubset',
    )
  }
  // Tags of the request: aws:RequestTag/<k> and aws:TagKeys (Developer Guide, "ABAC").
  const tags = Array.isArray(input.Tags) ? (input.Tags as Array<Record<string, unknown>>) : []
  for (const t of tags) put(`aws:RequestTag/${String(t.TagKey)}`, String(t.TagValue))
  const tagKeys = Array.isArray(input.TagKeys)
    ? (input.TagKeys as string[])
    : tags.map((t) => String(t.TagKey))
  if (tagKeys.length > 0) put('aws:TagKeys', tagKeys)
  if (req.operation === 'CreateKey') Object.assign(out, createKeyProperties(input))
  return out
}

const num = (v: unknown, fallback: number): number | undefined =>
  typeof v === 'number' ? v : v === undefined ? fallback : undefined

function reEncryptOnSameKey(input: Input): boolean | undefined {
  const from = str(input.SourceKeyId)
  const to = str(input.DestinationKeyId)
  return from !== undefined && to !== undefined ? from === to : undefined
}

/** CreateKey's request supplies the key properties it asks for (kms:KeySpec, …). */
function createKeyProperties(input: Input): Record<string, ConditionValue> {
  return {
    'kms:KeySpec': str(input.KeySpec) ?? str(input.CustomerMasterKeySpec) ?? 'SYMMETRIC_DEFAULT',
    'kms:KeyUsage': str(input.KeyUsage) ?? 'ENCRYPT_DECRYPT',
    'kms:KeyOrigin': str(input.Origin) ?? 'AWS_KMS',
    'kms:MultiRegion': input.MultiRegion === true,
    // A multi-Region key is created as the primary of its set (Developer Guide,
    // "kms:MultiRegionKeyType"); a single-Region one has no type, so the key is absent.
    ...(input.MultiRegion === true ? { 'kms:MultiRegionKeyType': 'PRIMARY' } : {}),
  }
}

/** The properties of the key a check is on (kms-authz.md §4.1) and its tags and aliases (§5). */
function fromKey(key: KeyRecord, aliases: readonly string[] | undefined) {
  const out: Record<string, ConditionValue> = {
    'kms:KeySpec': key.keySpec,
    'kms:KeyUsage': key.keyUsage,
    'kms:KeyOrigin': key.origin,
    'kms:MultiRegion': key.multiRegion,
  }
  // The key's current role: it changes with UpdatePrimaryRegion (Developer Guide,
  // "kms:MultiRegionKeyType"), so it is read from the record of the key the check is on.
  if (key.multiRegionConfiguration) {
    out['kms:MultiRegionKeyType'] = key.multiRegionConfiguration.keyType
  }
  for (const t of key.tags) out[`aws:ResourceTag/${t.TagKey}`] = t.TagValue
  if (aliases && aliases.length > 0) out['kms:ResourceAliases'] = aliases
  return out
}

/**
 * Answers of {@link supplies} for fixed names (no tag or context key inside), by operation and
 * whether the check is on a key: the table is read once per name, not on every request.
 */
const supplied = new Map<string, Map<string, boolean>>()

/** True when `operation` supplies the condition key `name` (CONDITION_KEYS). */
function supplies(name: string, operation: string, onKey: boolean): boolean {
  // Prefix keys (kms:EncryptionContext:<k>, aws:ResourceTag/<k>, …) carry request data in
  // their names, so only the fixed names are remembered (a bounded set).
  const fixed = !name.includes('/') && !name.startsWith('kms:EncryptionContext:')
  if (!fixed) return suppliesByTable(name, operation, onKey)
  const scope = `${operation}:${onKey}`
  let answers = supplied.get(scope)
  if (!answers) supplied.set(scope, (answers = new Map()))
  let answer = answers.get(name)
  if (answer === undefined) answers.set(name, (answer = suppliesByTable(name, operation, onKey)))
  return answer
}

function suppliesByTable(name: string, operation: string, onKey: boolean): boolean {
  const info = conditionKeyInfo(name)
  if (!info) return false
  if (info.operations === 'all' || info.operations === 'some') return true
  if (info.operations === 'key-resource')
    return onKey || (info.alsoOperations?.includes(operation) ?? false)
  return info.operations.includes(operation)
}

/**
 * The condition keys of one permission check: request keys of the operation, the key's
 * properties, tags and aliases when the check is on a key, and the global time and Region keys.
 * Principal keys (`aws:PrincipalArn`, …, `kms:CallerAccount`) are added by the evaluator.
 *
 * @example
 *   requestConditions({ operation: 'Encrypt', input, key, region: 'us-east-1', now: clock.now() })
 *   // { 'kms:EncryptionContext:AppName': 'ExampleApp', 'kms:EncryptionAlgorithm': 'SYMMETRIC_DEFAULT', … }
 */
export function requestConditions(req: ConditionRequest): Record<string, ConditionValue> {
  const out: Record<string, ConditionValue> = {}
  const onKey = req.key !== undefined
  const keep = (all: Record<string, ConditionValue>) => {
    for (const name in all) if (supplies(name, req.operation, onKey)) out[name] = all[name]!
  }
  keep(fromInput(req))
  if (req.key) keep(fromKey(req.key, req.aliases))
  const seconds = Math.floor(req.now / 1000)
  out['aws:CurrentTime'] = isoSecond(seconds)
  out['aws:EpochTime'] = seconds
  out['aws:RequestedRegion'] = req.region
  // Global keys of every request (IAM User Guide, "AWS global condition context keys").
  // aws:SourceIp is the peer of the TCP connection; behind a proxy that is the proxy, as with
  // AWS's own endpoints, where it is the caller's public address.
  if (req.origin) {
    out['aws:SecureTransport'] = req.origin.secureTransport
    if (req.origin.sourceIp !== undefined) out['aws:SourceIp'] = req.origin.sourceIp
    if (req.origin.userAgent !== undefined) out['aws:UserAgent'] = req.origin.userAgent
  }
  // No AWS service calls Keyward on a caller's behalf: every request is a direct one.
  out['aws:ViaAWSService'] = false
  return out
}

/** aws:CurrentTime, formatted once per second rather than once per request. */
let lastSecond = -1
let lastIso = ''
function isoSecond(seconds: number): string {
  if (seconds !== lastSecond) {
    lastSecond = seconds
    lastIso = new Date(seconds * 1000).toISOString().replace('.000Z', 'Z')
  }
  return lastIso
}
