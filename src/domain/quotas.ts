import { LimitExceededException, ThrottlingException } from './errors/exceptions.js'

/**
 * AWS KMS's quotas, per account and Region: resource quotas (how many keys, aliases per key,
 * custom key stores) and request quotas (requests per second, per operation or shared by a
 * group of operations). Pure: no I/O, the clock is passed in.
 *
 * Sources: Developer Guide, "Resource quotas" and "Request quotas" (current pages, summarised in
 * ../shared/reference/kms-api.md §4.2 and §4.3).
 */

/** The resource quotas Keyward enforces. AWS's are adjustable; so are these (config). */
export interface ResourceQuotas {
  /** Customer managed keys per account and Region, in any state: 100,000. */
  readonly keys: number
  /** Aliases per KMS key: 50. */
  readonly aliasesPerKey: number
  /** Custom key stores per account and Region: 10. */
  readonly customKeyStores: number
  /** Grants per customer managed key: 50,000. */
  readonly grantsPerKey: number
}

/** AWS's defaults (Developer Guide, "Resource quotas"). */
export const DEFAULT_RESOURCE_QUOTAS: ResourceQuotas = {
  keys: 100_000,
  aliasesPerKey: 50,
  customKeyStores: 10,
  grantsPerKey: 50_000,
}

/**
 * CreateKey over the keys quota. The text is a real AWS answer, quoted in convox/rack#347
 * (2016): "Key quota for this account in this region is 101 but the current usage is 101."
 *
 * @example
 *   if (count >= quotas.keys) throw keysQuotaExceeded(quotas.keys, count)
 */
export const keysQuotaExceeded = (limit: number, usage: number): LimitExceededException =>
  new LimitExceededException(
    `Key quota for this account in this region is ${limit} but the current usage is ${usage}.`,
  )

/** AWS's ThrottlingException text (Developer Guide, "Request quotas"). */
export const THROTTLING_MESSAGE =
  'You have exceeded the rate at which you may call KMS. Reduce the frequency of your calls.'

/**
 * The request quotas, by quota name, in requests per second (Developer Guide, "Request
 * quotas", as of 2026; kms-api.md §4.3). Operations not listed share no quota with another.
 */
const MANAGEMENT_RATES: Readonly<Record<string, number>> = {
  CancelKeyDeletion: 5,
  ConnectCustomKeyStore: 5,
  CreateAlias: 5,
  CreateCustomKeyStore: 5,
  CreateGrant: 50,
  CreateKey: 5,
  DeleteAlias: 15,
  DeleteCustomKeyStore: 5,
  DeleteImportedKeyMaterial: 15,
  DescribeCustomKeyStores: 5,
  DescribeKey: 2000,
  DisableKey: 5,
  DisableKeyRotation: 5,
  DisconnectCustomKeyStore: 5,
  EnableKey: 5,
  EnableKeyRotation: 15,
  GetKeyLastUsage: 5,
  GetKeyPolicy: 1000,
  GetKeyRotationStatus: 1000,
  GetParametersForImport: 1,
  GetPublicKey: 2000,
  ImportKeyMaterial: 15,
  ListAliases: 500,
  ListGrants: 100,
  ListKeyPolicies: 100,
  ListKeys: 500,
  ListKeyRotations: 100,
  ListResourceTags: 2000,
  ListRetirableGrants: 100,
  PutKeyPolicy: 15,
  ReplicateKey: 5,
  RetireGrant: 50,
  RevokeGrant: 50,
  RotateKeyOnDemand: 5,
  ScheduleKeyDeletion: 15,
  TagResource: 10,
  UntagResource: 5,
  UpdateAlias: 5,
  UpdateCustomKeyStore: 5,
  UpdateKeyDescription: 5,
  UpdatePrimaryRegion: 5,
}

/** The shared quota of the symmetric (and HMAC) cryptographic operations. */
export const SYMMETRIC_QUOTA = 'CryptographicOperationsSymmetric'
/** Sign, Verify and DeriveSharedSecret (see {@link quotaOf}). */
export const ASYMMETRIC_QUOTA = 'CryptographicOperationsAsymmetric'

const SYMMETRIC_OPERATIONS = new Set([
  'Decrypt',
  'Encrypt',
  'GenerateDataKey',
  'GenerateDataKeyWithoutPlaintext',
  'GenerateMac',
  'GenerateRandom',
  'ReEncrypt',
  'VerifyMac',
])
const ASYMMETRIC_OPERATIONS = new Set(['Sign', 'Verify', 'DeriveSharedSecret'])

/** The symmetric quota varies by Region: 100,000 in three, 20,000 in six, 10,000 elsewhere. */
const SYMMETRIC_BY_REGION: Readonly<Record<string, number>> = {
  'us-east-1': 100_000,
  'us-west-2': 100_000,
  'eu-west-1': 100_000,
  'us-east-2': 20_000,
  'ap-southeast-1': 20_000,
  'ap-southeast-2': 20_000,
  'ap-northeast-1': 20_000,
  'eu-central-1': 20_000,
  'eu-west-2': 20_000,
}

/**
 * GenerateDataKeyPair and GenerateDataKeyPairWithoutPlaintext share one quota per KeyPairSpec
 * (requests per second; China Regions are slower for RSA, not modelled).
 */
const DATA_KEY_PAIR_RATES: Readonly<Record<string, number>> = {
  ECC_NIST_P256: 100,
  ECC_NIST_P384: 100,
  ECC_NIST_P521: 100,
  ECC_SECG_P256K1: 100,
  ECC_NIST_EDWARDS25519: 100,
  RSA_2048: 20,
  RSA_3072: 4,
  RSA_4096: 1,
  SM2: 25,
}

/** One request's place in the request quotas. */
export interface QuotaCharge {
  /** The quota's name, also the key of its configured override. */
  readonly quota: string
  /** AWS's default rate for it in this Region, requests per second. */
  readonly defaultRate: number
}

/**
 * Which request quota a request counts against, from what is known before its body is read
 * as JSON: the operation, the Region and, for GenerateDataKeyPair*, the KeyPairSpec.
 *
 * AWS splits the cryptographic operations by the type of the key used: a symmetric quota (HMAC
 * included), and RSA, ECC/SM2 and ML-DSA quotas (1,000/s each). Which applies to Encrypt or Sign
 * is only known once the key is found, after this check; so Encrypt, Decrypt and ReEncrypt
 * always count against the symmetric quota, and Sign, Verify and DeriveSharedSecret against one
 * asymmetric quota of 1,000/s (stricter than AWS's three). Undefined: no quota.
 *
 * @example
 *   quotaOf({ operation: 'CreateKey', region: 'eu-west-3' }) // → { quota: 'CreateKey', defaultRate: 5 }
 */
export function quotaOf(req: {
  operation: string
  region: string
  keyPairSpec?: string
}): QuotaCharge | undefined {
  const { operation } = req
  if (SYMMETRIC_OPERATIONS.has(operation)) {
    return { quota: SYMMETRIC_QUOTA, defaultRate: SYMMETRIC_BY_REGION[req.region] ?? 10_000 }
  }
  if (ASYMMETRIC_OPERATIONS.has(operation)) return { quota: ASYMMETRIC_QUOTA, defaultRate: 1000 }
  if (operation === 'GenerateDataKeyPair' || operation === 'GenerateDataKeyPairWithoutPlaintext') {
    const rate = DATA_KEY_PAIR_RATES[req.keyPairSpec ?? '']
    return rate === undefined
      ? undefined
      : { quota: `GenerateDataKeyPair:${req.keyPairSpec}`, defaultRate: rate }
  }
  const rate = MANAGEMENT_RATES[operation]
  return rate === undefined ? undefined : { quota: operation, defaultRate: rate }
}

/**
 * Whether `name` names a request quota (for the configuration's overrides).
 *
 * @example
 *   isRequestQuotaName('GenerateDataKeyPair:RSA_4096') // → true
 */
export function isRequestQuotaName(name: string): boolean {
  if (name === SYMMETRIC_QUOTA || name === ASYMMETRIC_QUOTA) return true
  if (name.startsWith('GenerateDataKeyPair:')) {
    return DATA_KEY_PAIR_RATES[name.slice('GenerateDataKeyPair:'.length)] !== undefined
  }
  return MANAGEMENT_RATES[name] !== undefined
}

/** How request quotas are enforced. */
export interface RequestRateSettings {
  /** Requests per second by quota name, replacing AWS's default (a "quota increase"). */
  readonly overrides?: Readonly<Record<string, number>>
}

interface Bucket {
  tokens: number
  at: number
}

/**
 * Token buckets per account, Region and quota: each holds up to one second of its rate
 * (at least one request) and refills continuously, so a quota of N/s admits N requests at once
 * and then N per second. The clock is injected: `now` in milliseconds.
 *
 * @example
 *   const limiter = new RequestRateLimiter({ now: () => Date.now() })
 *   limiter.admit({ accountId, region, operation: 'CreateKey' }) // throws ThrottlingException
 */
export class RequestRateLimiter {
  readonly #now: () => number
  readonly #overrides: Readonly<Record<string, number>>
  readonly #buckets = new Map<string, Bucket>()

  constructor(clock: { now(): number }, settings: RequestRateSettings = {}) {
    this.#now = () => clock.now()
    this.#overrides = settings.overrides ?? {}
  }

  /**
   * Counts one request against its quota, or refuses it with AWS's ThrottlingException when
   * the account has used up that quota's rate in the Region. `body` is the raw request body,
   * read here only for GenerateDataKeyPair* (their quota depends on KeyPairSpec).
   */
  admit(req: { accountId: string; region: string; operation: string; body?: Buffer }): void {
    const charge = quotaOf({ ...req, keyPairSpec: keyPairSpecOf(req.operation, req.body) })
    if (!charge) return
    const rate = this.#overrides[charge.quota] ?? charge.defaultRate
    if (!this.#take(`${req.accountId}/${req.region}/${charge.quota}`, rate)) {
      throw new ThrottlingException(THROTTLING_MESSAGE)
    }
  }

  #take(id: string, rate: number): boolean {
    const now = this.#now()
    const capacity = Math.max(rate, 1)
    const bucket = this.#buckets.get(id) ?? { tokens: capacity, at: now }
    bucket.tokens = Math.min(capacity, bucket.tokens + ((now - bucket.at) * rate) / 1000)
    bucket.at = now
    this.#buckets.set(id, bucket)
    if (bucket.tokens < 1) return false
    bucket.tokens -= 1
    return true
  }
}

/** The KeyPairSpec of a GenerateDataKeyPair* body; undefined for anything else. */
function keyPairSpecOf(operation: string, body: Buffer | undefined): string | undefined {
  if (!body || !operation.startsWith('GenerateDataKeyPair')) return undefined
  try {
    const spec = (JSON.parse(body.toString('utf8')) as { KeyPairSpec?: unknown }).KeyPairSpec
    return typeof spec === 'string' ? spec : undefined
  } catch {
    // Not JSON: the request fails its parseJson step right after this check.
    return undefined
  }
}
