import {
  InvalidArnException,
  LimitExceededException,
  ValidationException,
} from './errors/exceptions.js'
import type { KeyRecord } from './key.js'

/*
 * Grants (Developer Guide, "Grants in AWS KMS"; API Reference, CreateGrant; kms-authz.md §6):
 * the record as stored, and the pure rules CreateGrant checks before it stores one.
 */

/** An encryption context as a grant constraint names it (case-sensitive keys and values). */
export type ContextPairs = Readonly<Record<string, string>>

/** Grant constraints (API Reference, GrantConstraints): at most one of the two. */
export interface GrantConstraints {
  readonly encryptionContextEquals?: ContextPairs
  readonly encryptionContextSubset?: ContextPairs
}

/**
 * One grant, as stored. Its token is never stored: a token is a MAC over the grant ID
 * (src/domain/grant-token.ts), checked when presented.
 */
export interface GrantRecord {
  /** 64 lowercase hex characters, as AWS's. */
  readonly grantId: string
  readonly keyId: string
  readonly region: string
  /** The key's account. */
  readonly accountId: string
  readonly name?: string
  readonly granteePrincipal: string
  readonly retiringPrincipal?: string
  /** GrantOperation names, e.g. `Decrypt`, `ReEncryptFrom`. */
  readonly operations: readonly string[]
  readonly constraints?: GrantConstraints
  /** `arn:aws:iam::<key account>:root` (API Reference, GrantListEntry IssuingAccount). */
  readonly issuingAccount: string
  /** Epoch milliseconds. */
  readonly creationDate: number
}

/** What a caller asks of CreateGrant, once read from its input. */
export type GrantRequest = Pick<
  GrantRecord,
  'name' | 'granteePrincipal' | 'retiringPrincipal' | 'operations' | 'constraints'
>

/** Grant IDs are 64 lowercase hex characters (kms-api.md §5). */
export const isGrantId = (value: string): boolean => /^[0-9a-f]{64}$/.test(value)

const PARTITION = 'aws(?:-cn|-us-gov)?'
const NAME = '[\\w+=,.@-]+'
/**
 * The principals a grant may name (Developer Guide, "Grants in AWS KMS": "AWS accounts, IAM
 * users, IAM roles, federated users, and assumed role users", in any account; never an IAM
 * group, an organization or, as GranteePrincipal, a service principal), always as ARNs.
 */
const GRANT_PRINCIPAL = new RegExp(
  `^arn:${PARTITION}:(?:iam::\\d{12}:(?:root|(?:user|role)/(?:${NAME}/)*${NAME})` +
    `|sts::\\d{12}:(?:assumed-role/${NAME}/${NAME}|federated-user/${NAME}))$`,
)

/**
 * Whether `value` is a principal ARN a grant can name.
 *
 * @example
 *   isGrantPrincipal('arn:aws:iam::111122223333:role/app') // → true
 *   isGrantPrincipal('arn:aws:iam::111122223333:group/ops') // → false
 */
export const isGrantPrincipal = (value: string): boolean => GRANT_PRINCIPAL.test(value)

/** The account of a principal ARN. */
export const principalAccount = (arn: string): string | undefined =>
  /^arn:[^:]+:(?:iam|sts)::(\d{12}):/.exec(arn)?.[1]

/**
 * InvalidArnException for a principal member that names no principal a grant can hold (the
 * exception KMS models for "a specified ARN … is not valid"; its text is not recorded).
 */
export const invalidPrincipal = (member: string, value: string): InvalidArnException =>
  new InvalidArnException(`${member} ${value} is not a valid principal ARN.`)

/** Operations that take an encryption context, where context constraints can apply. */
const CONTEXT_OPERATIONS = new Set([
  'Decrypt',
  'Encrypt',
  'GenerateDataKey',
  'GenerateDataKeyWithoutPlaintext',
  'GenerateDataKeyPair',
  'GenerateDataKeyPairWithoutPlaintext',
  'ReEncryptFrom',
  'ReEncryptTo',
])

/** Every key may be granted these (kms-authz.md §6.1). */
const COMMON = ['DescribeKey', 'CreateGrant', 'RetireGrant']

/**
 * The grant operations each kind of key supports: those of the operations the key can perform
 * (kms-api.md §3.1; Developer Guide, "Grant operations"): symmetric keys get no Sign, Verify
 * or MAC operations, asymmetric keys no data-key operations.
 */
const OPERATIONS_BY_USAGE: Readonly<Record<string, ReadonlySet<string>>> = {
  SYMMETRIC: new Set([...CONTEXT_OPERATIONS, ...COMMON]),
  ENCRYPT_DECRYPT: new Set([
    'Encrypt',
    'Decrypt',
    'ReEncryptFrom',
    'ReEncryptTo',
    'GetPublicKey',
    ...COMMON,
  ]),
  SIGN_VERIFY: new Set(['Sign', 'Verify', 'GetPublicKey', ...COMMON]),
  GENERATE_VERIFY_MAC: new Set(['GenerateMac', 'VerifyMac', ...COMMON]),
  KEY_AGREEMENT: new Set(['DeriveSharedSecret', 'GetPublicKey', ...COMMON]),
}

const usageOf = (key: Pick<KeyRecord, 'keySpec' | 'keyUsage'>): string =>
  key.keySpec === 'SYMMETRIC_DEFAULT' ? 'SYMMETRIC' : key.keyUsage

/** Pairs per context constraint and characters per value (Developer Guide, "Grant constraints"). */
export const MAX_CONSTRAINT_PAIRS = 8
export const MAX_CONSTRAINT_VALUE_LENGTH = 384

/**
 * The operations list as a set in the model's order of first appearance: a repeated name adds
 * nothing. ValidationException for an empty list, and for `[CreateGrant]` alone (recorded:
 * "Grants must not contain only the CreateGrant operation.", ansible/ansible#31960).
 */
export function readGrantOperations(operations: readonly string[]): string[] {
  const unique = [...new Set(operations)]
  if (unique.length === 0) {
    throw new ValidationException(
      "1 validation error detected: Value '[]' at 'operations' failed to satisfy constraint: Member must have length greater than or equal to 1",
    )
  }
  if (unique.length === 1 && unique[0] === 'CreateGrant') {
    throw new ValidationException('Grants must not contain only the CreateGrant operation.')
  }
  return unique
}

/**
 * Reads the Constraints member: at most one of EncryptionContextEquals and
 * EncryptionContextSubset, each of at most 8 pairs with values of at most 384 characters.
 * An empty Constraints object is no constraint.
 */
export function readGrantConstraints(
  input:
    { EncryptionContextEquals?: ContextPairs; EncryptionContextSubset?: ContextPairs } | undefined,
): GrantConstraints | undefined {
  if (!input) return undefined
  const equals = input.EncryptionContextEquals
  const subset = input.EncryptionContextSubset
  if (equals && subset) {
    throw new ValidationException(
      'Grant constraints may contain EncryptionContextEquals or EncryptionContextSubset, not both.',
    )
  }
  const pairs = equals ?? subset
  if (!pairs) return undefined
  const entries = Object.entries(pairs)
  if (entries.length > MAX_CONSTRAINT_PAIRS) {
    throw new ValidationException(
      `A grant constraint may contain at most ${MAX_CONSTRAINT_PAIRS} encryption context pairs.`,
    )
  }
  for (const [, value] of entries) {
    if (value.length > MAX_CONSTRAINT_VALUE_LENGTH) {
      throw new ValidationException(
        `Encryption context values in a grant constraint must be at most ${MAX_CONSTRAINT_VALUE_LENGTH} characters.`,
      )
    }
  }
  return equals
    ? { encryptionContextEquals: { ...equals } }
    : { encryptionContextSubset: { ...pairs } }
}

/**
 * Checks a grant request against the key: every operation must be one the key supports, and
 * encryption context constraints are only for symmetric encryption keys (asymmetric and HMAC
 * keys take no context) and only with an operation that takes a context (Developer Guide,
 * "Grant constraints"). ValidationException otherwise.
 */
export function assertGrantFitsKey(
  key: Pick<KeyRecord, 'arn' | 'keySpec' | 'keyUsage'>,
  request: Pick<GrantRequest, 'operations' | 'constraints'>,
): void {
  const usage = usageOf(key)
  const allowed = OPERATIONS_BY_USAGE[usage] ?? new Set(COMMON)
  const refused = request.operations.filter((op) => !allowed.has(op))
  if (refused.length > 0) {
    throw new ValidationException(
      `Grant operations [${refused.join(', ')}] are not valid for ${key.arn}, a key with KeySpec ${key.keySpec} and KeyUsage ${key.keyUsage}.`,
    )
  }
  if (!request.constraints) return
  if (usage !== 'SYMMETRIC') {
    throw new ValidationException(
      `Encryption context grant constraints are valid only for symmetric encryption keys; ${key.arn} has KeySpec ${key.keySpec}.`,
    )
  }
  if (!request.operations.some((op) => CONTEXT_OPERATIONS.has(op))) {
    throw new ValidationException(
      'Encryption context grant constraints need at least one grant operation that takes an encryption context.',
    )
  }
}

const sameSet = (a: readonly string[], b: readonly string[]) =>
  a.length === b.length && a.every((x) => b.includes(x))

const samePairs = (a: ContextPairs | undefined, b: ContextPairs | undefined) => {
  if (!a || !b) return a === b
  const ka = Object.keys(a)
  return ka.length === Object.keys(b).length && ka.every((k) => b[k] === a[k])
}

/**
 * Whether `grant` was made by a CreateGrant with the same parameters as `request`: a retry
 * with the same Name then answers the existing grant's ID (API Reference, CreateGrant Name).
 * Operations compare as sets; constraints by kind and pairs.
 */
export function sameGrantParameters(grant: GrantRecord, request: GrantRequest): boolean {
  const a = grant.constraints
  const b = request.constraints
  return (
    grant.name === request.name &&
    grant.granteePrincipal === request.granteePrincipal &&
    grant.retiringPrincipal === request.retiringPrincipal &&
    sameSet(grant.operations, request.operations) &&
    samePairs(a?.encryptionContextEquals, b?.encryptionContextEquals) &&
    samePairs(a?.encryptionContextSubset, b?.encryptionContextSubset)
  )
}

/**
 * LimitExceededException over the grants-per-key quota (50,000 by default, Developer Guide,
 * "Resource quotas"; the text is not recorded).
 */
export const grantsQuotaExceeded = (keyArn: string, limit: number): LimitExceededException =>
  new LimitExceededException(`${keyArn} already has ${limit} grants, the maximum per KMS key.`)
