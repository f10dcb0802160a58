/**
 * Fact tables of KMS authorization, as data: which permission each operation needs and on what
 * (Developer Guide, "AWS KMS permissions"; Service Authorization Reference, KMS), and which
 * condition keys each operation supplies (Developer Guide, "AWS KMS condition keys"). Source:
 * kms-authz.md §2 and §4.
 */

/** What a permission is checked against. */
export type ResourceKind =
  /** A KMS key: the key policy decides, directly or by delegating to IAM. */
  | 'key'
  /** An alias ARN: IAM policies only (Developer Guide, "Controlling access to aliases"). */
  | 'alias'
  /** No resource (`*`): IAM policies only. */
  | 'account'

/** One permission an operation needs. */
export interface PermissionCheck {
  /** IAM action, `kms:<Name>`. */
  readonly action: string
  /** Which resource of the request it is checked on. */
  readonly on: 'key' | 'sourceKey' | 'destinationKey' | 'alias' | 'targetKey' | 'account' | 'grant'
  /** True when a key policy can grant it (AWS "Key" policy type); false for "IAM" only. */
  readonly keyPolicy: boolean
  /** True when a principal of another account can be given it ("Cross-account use"). */
  readonly crossAccount: boolean
  /** True when it is needed only in some requests (e.g. kms:TagResource when Tags are given). */
  readonly conditional?: string
}

const key = (action: string, crossAccount = false): PermissionCheck => ({
  action: `kms:${action}`,
  on: 'key',
  keyPolicy: true,
  crossAccount,
})
const iam = (action: string, extra: Partial<PermissionCheck> = {}): PermissionCheck => ({
  action: `kms:${action}`,
  on: 'account',
  keyPolicy: false,
  crossAccount: false,
  ...extra,
})

const KEY_MANAGEMENT = [
  'CancelKeyDeletion',
  'DeleteImportedKeyMaterial',
  'DisableKey',
  'DisableKeyRotation',
  'EnableKey',
  'EnableKeyRotation',
  'GetKeyLastUsage',
  'GetKeyPolicy',
  'GetParametersForImport',
  'ImportKeyMaterial',
  'ListKeyPolicies',
  'ListKeyRotations',
  'ListResourceTags',
  'PutKeyPolicy',
  'RotateKeyOnDemand',
  'ScheduleKeyDeletion',
  'TagResource',
  'UntagResource',
  'UpdateKeyDescription',
] as const
const KEY_USE = [
  'Encrypt',
  'Decrypt',
  'GenerateDataKey',
  'GenerateDataKeyWithoutPlaintext',
  'GenerateDataKeyPair',
  'GenerateDataKeyPairWithoutPlaintext',
  'Sign',
  'Verify',
  'GenerateMac',
  'VerifyMac',
  'DeriveSharedSecret',
  'DescribeKey',
  'GetPublicKey',
  'GetKeyRotationStatus',
  'CreateGrant',
  'ListGrants',
  'RevokeGrant',
] as const
const CUSTOM_KEY_STORE = [
  'ConnectCustomKeyStore',
  'CreateCustomKeyStore',
  'DeleteCustomKeyStore',
  'DescribeCustomKeyStores',
  'DisconnectCustomKeyStore',
  'UpdateCustomKeyStore',
] as const

/**
 * The permissions each of the 54 KMS operations needs, in the order they are checked
 * (kms-authz.md §2). Every listed check must allow.
 *
 * @example
 *   OPERATION_PERMISSIONS.ReEncrypt.map((c) => c.action) // ['kms:ReEncryptFrom', 'kms:ReEncryptTo']
 */
export const OPERATION_PERMISSIONS: Readonly<Record<string, readonly PermissionCheck[]>> =
  Object.freeze({
    ...Object.fromEntries(KEY_MANAGEMENT.map((op) => [op, [key(op)]])),
    ...Object.fromEntries(KEY_USE.map((op) => [op, [key(op, true)]])),
    ...Object.fromEntries(CUSTOM_KEY_STORE.map((op) => [op, [iam(op)]])),
    ReEncrypt: [
      { ...key('ReEncryptFrom', true), on: 'sourceKey' },
      { ...key('ReEncryptTo', true), on: 'destinationKey' },
    ],
    // Decided by the grant (§6.6); an IAM permission only delegates the account's own right.
    RetireGrant: [iam('RetireGrant', { on: 'grant', crossAccount: true })],
    ListRetirableGrants: [iam('ListRetirableGrants')],
    CreateAlias: [iam('CreateAlias', { on: 'alias' }), { ...key('CreateAlias'), on: 'targetKey' }],
    DeleteAlias: [iam('DeleteAlias', { on: 'alias' }), { ...key('DeleteAlias'), on: 'targetKey' }],
    UpdateAlias: [
      iam('UpdateAlias', { on: 'alias' }),
      { ...key('UpdateAlias'), on: 'key' },
      { ...key('UpdateAlias'), on: 'targetKey' },
    ],
    ReplicateKey: [
      key('ReplicateKey'),
      iam('CreateKey'),
      iam('TagResource', { conditional: 'Tags' }),
    ],
    UpdatePrimaryRegion: [
      key('UpdatePrimaryRegion'),
      { ...key('UpdatePrimaryRegion'), on: 'targetKey' },
    ],
    CreateKey: [iam('CreateKey'), iam('TagResource', { conditional: 'Tags' })],
    ListKeys: [iam('ListKeys')],
    ListAliases: [iam('ListAliases')],
    GenerateRandom: [iam('GenerateRandom')],
  })

/**
 * Actions that only IAM policies can grant, because they have no key resource (§3 step 4).
 * `kms:RetireGrant` is here too: in a key policy it is ineffective (§6.6).
 */
export const IAM_ONLY_ACTIONS: ReadonlySet<string> = (() => {
  const checks = Object.values(OPERATION_PERMISSIONS).flat()
  // kms:TagResource is IAM-only as CreateKey's second check but a key permission for
  // TagResource itself: only actions that no key policy can ever grant are listed.
  const onKeys = new Set(checks.filter((c) => c.keyPolicy).map((c) => c.action.toLowerCase()))
  return new Set(
    checks
      .filter((c) => !c.keyPolicy && c.on !== 'alias')
      .map((c) => c.action.toLowerCase())
      .filter((a) => !onKeys.has(a)),
  )
})()

/** Actions whose key permission may be given to a principal of another account (§2 "X"). */
export const CROSS_ACCOUNT_ACTIONS: ReadonlySet<string> = new Set(
  Object.values(OPERATION_PERMISSIONS)
    .flat()
    .filter((c) => c.crossAccount)
    .map((c) => c.action.toLowerCase()),
)

/** Types of condition keys (Service Authorization Reference). */
export type ConditionKeyType =
  'String' | 'Bool' | 'Numeric' | 'Date' | 'ARN' | 'IPAddress' | 'Binary'

/** Where a condition key may appear and which requests supply it. */
export interface ConditionKeyInfo {
  readonly type: ConditionKeyType
  /** Multi-valued keys need ForAnyValue/ForAllValues (or Null). */
  readonly multiValued: boolean
  /** False when AWS refuses the key in a key policy (§5, §7.2). */
  readonly inKeyPolicy: boolean
  /**
   * Operations that supply the key; `'key-resource'` means every operation on a key resource,
   * `'all'` every request (global keys that are always present), `'some'` global keys present
   * only in some requests (§4.3).
   */
  readonly operations: readonly string[] | 'key-resource' | 'all' | 'some'
  /** Operations without a key resource that supply the key too (CreateKey, from its request). */
  readonly alsoOperations?: readonly string[]
}

const ENCRYPTION_CONTEXT_OPS = [
  'CreateGrant',
  'Encrypt',
  'Decrypt',
  'ReEncrypt',
  'GenerateDataKey',
  'GenerateDataKeyWithoutPlaintext',
  'GenerateDataKeyPair',
  'GenerateDataKeyPairWithoutPlaintext',
  'RetireGrant',
]
const s = (operations: ConditionKeyInfo['operations'], extra: Partial<ConditionKeyInfo> = {}) =>
  ({ type: 'String', multiValued: false, inKeyPolicy: true, operations, ...extra }) as const

/**
 * Condition keys KMS supplies, by lower-cased name; names ending in `:` or `/` are prefixes
 * (`kms:EncryptionContext:<k>`, `aws:ResourceTag/<k>`). Source: kms-authz.md §4.2, §4.3.
 *
 * @example
 *   CONDITION_KEYS['kms:encryptioncontextkeys'].multiValued // true
 */
export const CONDITION_KEYS: Readonly<Record<string, ConditionKeyInfo>> = Object.freeze({
  'kms:bypasspolicylockoutsafetycheck': s(['CreateKey', 'PutKeyPolicy'], { type: 'Bool' }),
  'kms:calleraccount': s('key-resource', { alsoOperations: CUSTOM_KEY_STORE }),
  'kms:datakeypairspec': s(['GenerateDataKeyPair', 'GenerateDataKeyPairWithoutPlaintext']),
  'kms:encryptionalgorithm': s([
    'Encrypt',
    'Decrypt',
    'ReEncrypt',
    'GenerateDataKey',
    'GenerateDataKeyWithoutPlaintext',
    'GenerateDataKeyPair',
    'GenerateDataKeyPairWithoutPlaintext',
  ]),
  'kms:encryptioncontext:': s(ENCRYPTION_CONTEXT_OPS),
  'kms:encryptioncontextkeys': s(ENCRYPTION_CONTEXT_OPS, { multiValued: true }),
  'kms:expirationmodel': s(['ImportKeyMaterial']),
  'kms:grantconstrainttype': s(['CreateGrant', 'RetireGrant']),
  'kms:grantconstraintsourcearn': s(['CreateGrant'], { type: 'ARN' }),
  'kms:grantisforawsresource': s(['CreateGrant', 'ListGrants', 'RevokeGrant'], { type: 'Bool' }),
  'kms:grantoperations': s(['CreateGrant'], { multiValued: true }),
  'kms:granteeprincipal': s(['CreateGrant']),
  'kms:retiringprincipal': s(['CreateGrant']),
  'kms:granteeserviceprincipal': s(['CreateGrant']),
  'kms:retiringserviceprincipal': s(['CreateGrant']),
  'kms:keyagreementalgorithm': s(['DeriveSharedSecret']),
  'kms:keyorigin': s('key-resource', { alsoOperations: ['CreateKey'] }),
  'kms:keyspec': s('key-resource', { alsoOperations: ['CreateKey'] }),
  'kms:keyusage': s('key-resource', { alsoOperations: ['CreateKey'] }),
  'kms:macalgorithm': s(['GenerateMac', 'VerifyMac']),
  'kms:messagetype': s(['Sign', 'Verify']),
  'kms:signingalgorithm': s(['Sign', 'Verify']),
  'kms:multiregion': s('key-resource', { type: 'Bool', alsoOperations: ['CreateKey'] }),
  'kms:multiregionkeytype': s('key-resource', { alsoOperations: ['CreateKey'] }),
  'kms:primaryregion': s(['UpdatePrimaryRegion']),
  'kms:replicaregion': s(['ReplicateKey']),
  'kms:reencryptonsamekey': s(['ReEncrypt'], { type: 'Bool' }),
  'kms:recipientattestation:': s([
    'Decrypt',
    'GenerateDataKey',
    'GenerateDataKeyPair',
    'DeriveSharedSecret',
    'GenerateRandom',
  ]),
  'kms:requestalias': s([
    'Encrypt',
    'Decrypt',
    'ReEncrypt',
    'GenerateDataKey',
    'GenerateDataKeyWithoutPlaintext',
    'GenerateDataKeyPair',
    'GenerateDataKeyPairWithoutPlaintext',
    'GenerateMac',
    'VerifyMac',
    'Sign',
    'Verify',
    'DeriveSharedSecret',
    'DescribeKey',
    'GetPublicKey',
  ]),
  'kms:resourcealiases': s('key-resource', { multiValued: true, inKeyPolicy: false }),
  'kms:resourcetag/': s('key-resource', { inKeyPolicy: false }),
  'kms:rotationperiodindays': s(['EnableKeyRotation'], { type: 'Numeric' }),
  'kms:schedulekeydeletionpendingwindowindays': s(['ScheduleKeyDeletion'], { type: 'Numeric' }),
  'kms:trailingdayswithoutkeyusage': s(['DisableKey', 'ScheduleKeyDeletion'], { type: 'Numeric' }),
  'kms:validto': s(['ImportKeyMaterial'], { type: 'Date' }),
  'kms:viaservice': s('key-resource'),
  'kms:wrappingalgorithm': s(['GetParametersForImport']),
  'kms:wrappingkeyspec': s(['GetParametersForImport']),
  // Global condition keys (§4.3).
  'aws:principalarn': s('all', { type: 'ARN' }),
  'aws:principalaccount': s('all'),
  'aws:principaltype': s('all'),
  'aws:userid': s('all'),
  'aws:currenttime': s('all', { type: 'Date' }),
  'aws:epochtime': s('all', { type: 'Numeric' }),
  'aws:securetransport': s('all', { type: 'Bool' }),
  'aws:useragent': s('all'),
  'aws:requestedregion': s('all'),
  'aws:viaawsservice': s('all', { type: 'Bool' }),
  'aws:username': s('some'),
  'aws:principaltag/': s('some'),
  'aws:principalorgid': s('some'),
  'aws:principalorgpaths': s('some', { multiValued: true }),
  'aws:sourceip': s('some', { type: 'IPAddress' }),
  'aws:sourcevpc': s('some'),
  'aws:sourcevpce': s('some'),
  'aws:vpcsourceip': s('some', { type: 'IPAddress' }),
  'aws:requesttag/': s(['CreateKey', 'TagResource', 'ReplicateKey']),
  'aws:tagkeys': s(['CreateKey', 'TagResource', 'UntagResource', 'ReplicateKey'], {
    multiValued: true,
  }),
  'aws:resourcetag/': s('key-resource', { inKeyPolicy: false }),
  'aws:sourcearn': s('some', { type: 'ARN' }),
  'aws:sourceaccount': s('some'),
  'aws:calledvia': s('some', { multiValued: true }),
  'aws:calledviafirst': s('some'),
  'aws:calledvialast': s('some'),
  'aws:multifactorauthpresent': s('some', { type: 'Bool' }),
  'aws:multifactorauthage': s('some', { type: 'Numeric' }),
  'aws:tokenissuetime': s('some', { type: 'Date' }),
})

/**
 * The entry of {@link CONDITION_KEYS} for a condition key name (any case), following prefixes.
 *
 * @example
 *   conditionKeyInfo('kms:EncryptionContext:Department')?.operations.includes('Encrypt') // true
 */
export function conditionKeyInfo(name: string): ConditionKeyInfo | undefined {
  const lower = name.toLowerCase()
  const exact = CONDITION_KEYS[lower]
  if (exact) return exact
  const cut = Math.max(
    lower.indexOf('/') + 1,
    lower.startsWith('kms:') ? lower.indexOf(':', 4) + 1 : 0,
  )
  return cut > 0 ? CONDITION_KEYS[lower.slice(0, cut)] : undefined
}

/**
 * The condition keys an operation supplies (named as in {@link CONDITION_KEYS}), for the wiring
 * that builds a request's condition context and for documentation.
 *
 * @example
 *   conditionKeysFor('GenerateDataKey').includes('kms:encryptioncontext:') // true
 */
export function conditionKeysFor(operation: string): string[] {
  const onKey =
    OPERATION_PERMISSIONS[operation]?.some(
      (c) => c.on !== 'account' && c.on !== 'alias' && c.on !== 'grant',
    ) ?? false
  return Object.entries(CONDITION_KEYS)
    .filter(([, info]) =>
      info.operations === 'all' || info.operations === 'some'
        ? true
        : info.operations === 'key-resource'
          ? onKey || (info.alsoOperations?.includes(operation) ?? false)
          : info.operations.includes(operation),
    )
    .map(([name]) => name)
}
