import type { KmsInputs, KmsOperationName, OUTPUT_MEMBERS } from '../wire/generated/model.js'

/**
 * What the audit trail records of each operation's request and response: an allow-list per
 * operation, in one typed table (a new operation in the model does not compile until it has a
 * row). AWS's CloudTrail records for KMS log key IDs, algorithms, specs, encryption contexts,
 * policies and grant constraints, and never plaintexts, ciphertexts, data keys, key material,
 * messages, signatures, MACs, import tokens, passwords, proxy credentials or grant tokens
 * (Developer Guide, "Logging AWS KMS API calls with AWS CloudTrail", the example entries of
 * each operation). Listing what may be recorded, rather than what may not, means a member
 * added to the model stays out of the trail until someone decides it is safe.
 */
export interface AuditFields<Op extends KmsOperationName> {
  /** CloudTrail's `readOnly`: the operation changes nothing (Describe, Get, List, and the
   * cryptographic operations, which AWS records as read-only). */
  readonly readOnly: boolean
  readonly request: ReadonlyArray<keyof KmsInputs[Op] & string>
  /** Response members recorded on success; AWS records none for most operations. */
  readonly response: ReadonlyArray<(typeof OUTPUT_MEMBERS)[Op][number]>
}

const read = <Op extends KmsOperationName>(
  request: AuditFields<Op>['request'],
): AuditFields<Op> => ({ readOnly: true, request, response: [] })

const write = <Op extends KmsOperationName>(
  request: AuditFields<Op>['request'],
  response: AuditFields<Op>['response'] = [],
): AuditFields<Op> => ({ readOnly: false, request, response })

const LIST = ['Limit', 'Marker'] as const
const XKS_SETTINGS = [
  'XksProxyUriEndpoint',
  'XksProxyUriPath',
  'XksProxyVpcEndpointServiceName',
  'XksProxyVpcEndpointServiceOwner',
  'XksProxyConnectivity',
] as const

/**
 * The allow-list of every operation.
 *
 * @example
 *   AUDIT_FIELDS.Encrypt.request // ['KeyId', 'EncryptionContext', 'EncryptionAlgorithm', 'DryRun']
 */
export const AUDIT_FIELDS: { readonly [Op in KmsOperationName]: AuditFields<Op> } = {
  CancelKeyDeletion: write(['KeyId'], ['KeyId']),
  ConnectCustomKeyStore: write(['CustomKeyStoreId']),
  CreateAlias: write(['AliasName', 'TargetKeyId']),
  // KeyStorePassword and XksProxyAuthenticationCredential are secrets; the trust anchor is a
  // certificate, public but several KiB, and AWS does not echo it.
  CreateCustomKeyStore: write(
    ['CustomKeyStoreName', 'CloudHsmClusterId', 'CustomKeyStoreType', ...XKS_SETTINGS],
    ['CustomKeyStoreId'],
  ),
  // The grant token is a bearer credential: its ID is recorded, never the token.
  CreateGrant: write(
    [
      'KeyId',
      'GranteePrincipal',
      'RetiringPrincipal',
      'Operations',
      'Constraints',
      'Name',
      'DryRun',
      'GranteeServicePrincipal',
      'RetiringServicePrincipal',
    ],
    ['GrantId'],
  ),
  CreateKey: write(
    [
      'Policy',
      'Description',
      'KeyUsage',
      'CustomerMasterKeySpec',
      'KeySpec',
      'Origin',
      'CustomKeyStoreId',
      'BypassPolicyLockoutSafetyCheck',
      'Tags',
      'MultiRegion',
      'XksKeyId',
    ],
    ['KeyMetadata'],
  ),
  Decrypt: read(['KeyId', 'EncryptionContext', 'EncryptionAlgorithm', 'DryRun', 'DryRunModifiers']),
  DeleteAlias: write(['AliasName']),
  DeleteCustomKeyStore: write(['CustomKeyStoreId']),
  DeleteImportedKeyMaterial: write(['KeyId', 'KeyMaterialId'], ['KeyId', 'KeyMaterialId']),
  DeriveSharedSecret: read(['KeyId', 'KeyAgreementAlgorithm', 'DryRun']),
  DescribeCustomKeyStores: read(['CustomKeyStoreId', 'CustomKeyStoreName', ...LIST]),
  DescribeKey: read(['KeyId']),
  DisableKey: write(['KeyId']),
  DisableKeyRotation: write(['KeyId']),
  DisconnectCustomKeyStore: write(['CustomKeyStoreId']),
  EnableKey: write(['KeyId']),
  EnableKeyRotation: write(['KeyId', 'RotationPeriodInDays']),
  Encrypt: read(['KeyId', 'EncryptionContext', 'EncryptionAlgorithm', 'DryRun']),
  GenerateDataKey: read(['KeyId', 'EncryptionContext', 'NumberOfBytes', 'KeySpec', 'DryRun']),
  GenerateDataKeyPair: read(['KeyId', 'EncryptionContext', 'KeyPairSpec', 'DryRun']),
  GenerateDataKeyPairWithoutPlaintext: read([
    'KeyId',
    'EncryptionContext',
    'KeyPairSpec',
    'DryRun',
  ]),
  GenerateDataKeyWithoutPlaintext: read([
    'KeyId',
    'EncryptionContext',
    'NumberOfBytes',
    'KeySpec',
    'DryRun',
  ]),
  GenerateMac: read(['KeyId', 'MacAlgorithm', 'DryRun']),
  GenerateRandom: read(['NumberOfBytes', 'CustomKeyStoreId']),
  GetKeyLastUsage: read(['KeyId']),
  GetKeyPolicy: read(['KeyId', 'PolicyName']),
  GetKeyRotationStatus: read(['KeyId']),
  GetParametersForImport: read(['KeyId', 'WrappingAlgorithm', 'WrappingKeySpec']),
  GetPublicKey: read(['KeyId']),
  ImportKeyMaterial: write(
    [
      'KeyId',
      'ValidTo',
      'ExpirationModel',
      'ImportType',
      'KeyMaterialDescription',
      'KeyMaterialId',
    ],
    ['KeyId', 'KeyMaterialId'],
  ),
  ListAliases: read(['KeyId', ...LIST]),
  ListGrants: read(['KeyId', 'GrantId', 'GranteePrincipal', 'GranteeServicePrincipal', ...LIST]),
  ListKeyPolicies: read(['KeyId', ...LIST]),
  ListKeyRotations: read(['KeyId', 'IncludeKeyMaterial', ...LIST]),
  ListKeys: read([...LIST]),
  ListResourceTags: read(['KeyId', ...LIST]),
  ListRetirableGrants: read(['RetiringPrincipal', 'RetiringServicePrincipal', ...LIST]),
  PutKeyPolicy: write(['KeyId', 'PolicyName', 'Policy', 'BypassPolicyLockoutSafetyCheck']),
  ReEncrypt: read([
    'SourceKeyId',
    'DestinationKeyId',
    'SourceEncryptionContext',
    'DestinationEncryptionContext',
    'SourceEncryptionAlgorithm',
    'DestinationEncryptionAlgorithm',
    'DryRun',
    'DryRunModifiers',
  ]),
  ReplicateKey: write(
    ['KeyId', 'ReplicaRegion', 'Policy', 'BypassPolicyLockoutSafetyCheck', 'Description', 'Tags'],
    ['ReplicaKeyMetadata'],
  ),
  // The grant token again: RetireGrant records the key and grant IDs only.
  RetireGrant: write(['KeyId', 'GrantId', 'DryRun']),
  RevokeGrant: write(['KeyId', 'GrantId', 'DryRun']),
  RotateKeyOnDemand: write(['KeyId'], ['KeyId']),
  ScheduleKeyDeletion: write(
    ['KeyId', 'PendingWindowInDays'],
    ['KeyId', 'DeletionDate', 'KeyState', 'PendingWindowInDays'],
  ),
  Sign: read(['KeyId', 'MessageType', 'SigningAlgorithm', 'DryRun']),
  TagResource: write(['KeyId', 'Tags']),
  UntagResource: write(['KeyId', 'TagKeys']),
  UpdateAlias: write(['AliasName', 'TargetKeyId']),
  UpdateCustomKeyStore: write([
    'CustomKeyStoreId',
    'NewCustomKeyStoreName',
    'CloudHsmClusterId',
    ...XKS_SETTINGS,
  ]),
  UpdateKeyDescription: write(['KeyId', 'Description']),
  UpdatePrimaryRegion: write(['KeyId', 'PrimaryRegion']),
  Verify: read(['KeyId', 'MessageType', 'SigningAlgorithm', 'DryRun']),
  VerifyMac: read(['KeyId', 'MacAlgorithm', 'DryRun']),
}

/** `KeyId` → `keyId`: CloudTrail's member names start lower-case. */
const camel = (name: string) => name.charAt(0).toLowerCase() + name.slice(1)

/**
 * A value as CloudTrail shows it: structures with camelCase members, dates as ISO text.
 * Maps the caller owns (encryption contexts) keep their keys. Bytes are never recorded, even
 * nested (a defence should an allow-listed structure one day carry a blob).
 */
function auditValue(value: unknown, options: { verbatimKeys: boolean }): unknown {
  if (value === null || typeof value !== 'object') return value
  if (value instanceof Date) return value.toISOString()
  if (value instanceof Uint8Array) return undefined
  if (Array.isArray(value)) return value.map((item) => auditValue(item, { verbatimKeys: false }))
  const out: Record<string, unknown> = {}
  for (const [name, member] of Object.entries(value)) {
    const recorded = auditValue(member, { verbatimKeys: /EncryptionContext/.test(name) })
    if (recorded !== undefined) out[options.verbatimKeys ? name : camel(name)] = recorded
  }
  return out
}

/** One allow-listed member, prepared once: its CloudTrail name and whether its map keys stay. */
interface Member {
  readonly member: string
  readonly name: string
  readonly verbatimKeys: boolean
}

const prepare = (members: readonly string[]): readonly Member[] =>
  members.map((member) => ({
    member,
    name: camel(member),
    verbatimKeys: /EncryptionContext/.test(member),
  }))

/**
 * The table's lists prepared once: the names are camelCased at start, not on each of the
 * thousands of calls a second that the trail records.
 */
const PREPARED = new Map(
  Object.entries(AUDIT_FIELDS).map(([operation, fields]) => [
    operation,
    { request: prepare(fields.request), response: prepare(fields.response) },
  ]),
)

/** The allow-listed members of `source`, camelCase; null when none is present. */
function pick(
  source: unknown,
  members: readonly Member[],
): Readonly<Record<string, unknown>> | null {
  if (source === null || typeof source !== 'object') return null
  let out: Record<string, unknown> | null = null
  for (const { member, name, verbatimKeys } of members) {
    const value = (source as Record<string, unknown>)[member]
    if (value === undefined) continue
    const recorded = auditValue(value, { verbatimKeys })
    if (recorded !== undefined) (out ??= {})[name] = recorded
  }
  return out
}

/**
 * CloudTrail's `requestParameters` of a call: the allow-listed input members.
 *
 * @example
 *   requestParameters('Encrypt', { KeyId: 'alias/a', Plaintext: buf }) // { keyId: 'alias/a' }
 */
export function requestParameters(
  operation: KmsOperationName,
  input: unknown,
): Readonly<Record<string, unknown>> | null {
  return pick(input, PREPARED.get(operation)!.request)
}

/**
 * CloudTrail's `responseElements` of a successful call: the allow-listed output members
 * (null for most operations, as AWS records them).
 *
 * @example
 *   responseElements('CreateGrant', { GrantId: 'g', GrantToken: 't' }) // { grantId: 'g' }
 */
export function responseElements(
  operation: KmsOperationName,
  output: unknown,
): Readonly<Record<string, unknown>> | null {
  return pick(output, PREPARED.get(operation)!.response)
}
