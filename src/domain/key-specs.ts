/**
 * The one key-spec capability table (AWS KMS Developer Guide, "Key spec reference";
 * ../shared/reference/kms-api.md §3.1). Validation, DescribeKey, GetPublicKey and every
 * operation read it; no handler switches on a key spec.
 */
export type KeySpec =
  | 'SYMMETRIC_DEFAULT'
  | 'RSA_2048'
  | 'RSA_3072'
  | 'RSA_4096'
  | 'ECC_NIST_P256'
  | 'ECC_NIST_P384'
  | 'ECC_NIST_P521'
  | 'ECC_SECG_P256K1'
  | 'ECC_NIST_EDWARDS25519'
  | 'HMAC_224'
  | 'HMAC_256'
  | 'HMAC_384'
  | 'HMAC_512'
  | 'SM2'
  | 'ML_DSA_44'
  | 'ML_DSA_65'
  | 'ML_DSA_87'

export type KeyUsage = 'ENCRYPT_DECRYPT' | 'SIGN_VERIFY' | 'GENERATE_VERIFY_MAC' | 'KEY_AGREEMENT'

/** What a key of one spec can do. */
export interface KeySpecCapabilities {
  /** KeyUsage values CreateKey accepts for this spec, the default (if any) first. */
  readonly keyUsages: readonly KeyUsage[]
  /** Whether CreateKey may omit KeyUsage (only symmetric encryption keys). */
  readonly defaultUsage?: KeyUsage
  readonly encryptionAlgorithms: readonly string[]
  readonly signingAlgorithms: readonly string[]
  readonly macAlgorithms: readonly string[]
  readonly keyAgreementAlgorithms: readonly string[]
  /** The deprecated CustomerMasterKeySpec that DescribeKey still reports, when there is one. */
  readonly customerMasterKeySpec?: KeySpec
  /** Whether Keyward can create keys of this spec today. */
  readonly implemented: boolean
}

const RSA_ENCRYPTION = ['RSAES_OAEP_SHA_1', 'RSAES_OAEP_SHA_256'] as const
const RSA_SIGNING = [
  'RSASSA_PSS_SHA_256',
  'RSASSA_PSS_SHA_384',
  'RSASSA_PSS_SHA_512',
  'RSASSA_PKCS1_V1_5_SHA_256',
  'RSASSA_PKCS1_V1_5_SHA_384',
  'RSASSA_PKCS1_V1_5_SHA_512',
] as const

const none: readonly string[] = []
const spec = (
  c: Partial<KeySpecCapabilities> & Pick<KeySpecCapabilities, 'keyUsages'>,
): KeySpecCapabilities => ({
  encryptionAlgorithms: none,
  signingAlgorithms: none,
  macAlgorithms: none,
  keyAgreementAlgorithms: none,
  implemented: false,
  ...c,
})

const rsa = (s: KeySpec) =>
  spec({
    keyUsages: ['ENCRYPT_DECRYPT', 'SIGN_VERIFY'],
    encryptionAlgorithms: RSA_ENCRYPTION,
    signingAlgorithms: RSA_SIGNING,
    customerMasterKeySpec: s,
  })
const nist = (s: KeySpec, alg: string) =>
  spec({
    keyUsages: ['SIGN_VERIFY', 'KEY_AGREEMENT'],
    signingAlgorithms: [alg],
    keyAgreementAlgorithms: ['ECDH'],
    customerMasterKeySpec: s,
  })
const hmac = (s: KeySpec, alg: string) =>
  spec({ keyUsages: ['GENERATE_VERIFY_MAC'], macAlgorithms: [alg], customerMasterKeySpec: s })
const mlDsa = () => spec({ keyUsages: ['SIGN_VERIFY'], signingAlgorithms: ['ML_DSA_SHAKE_256'] })

export const KEY_SPECS: Readonly<Record<KeySpec, KeySpecCapabilities>> = {
  SYMMETRIC_DEFAULT: spec({
    keyUsages: ['ENCRYPT_DECRYPT'],
    defaultUsage: 'ENCRYPT_DECRYPT',
    encryptionAlgorithms: ['SYMMETRIC_DEFAULT'],
    customerMasterKeySpec: 'SYMMETRIC_DEFAULT',
    implemented: true,
  }),
  RSA_2048: rsa('RSA_2048'),
  RSA_3072: rsa('RSA_3072'),
  RSA_4096: rsa('RSA_4096'),
  ECC_NIST_P256: nist('ECC_NIST_P256', 'ECDSA_SHA_256'),
  ECC_NIST_P384: nist('ECC_NIST_P384', 'ECDSA_SHA_384'),
  ECC_NIST_P521: nist('ECC_NIST_P521', 'ECDSA_SHA_512'),
  ECC_SECG_P256K1: spec({
    keyUsages: ['SIGN_VERIFY'],
    signingAlgorithms: ['ECDSA_SHA_256'],
    customerMasterKeySpec: 'ECC_SECG_P256K1',
  }),
  ECC_NIST_EDWARDS25519: spec({
    keyUsages: ['SIGN_VERIFY'],
    signingAlgorithms: ['ED25519_SHA_512', 'ED25519_PH_SHA_512'],
  }),
  HMAC_224: hmac('HMAC_224', 'HMAC_SHA_224'),
  HMAC_256: hmac('HMAC_256', 'HMAC_SHA_256'),
  HMAC_384: hmac('HMAC_384', 'HMAC_SHA_384'),
  HMAC_512: hmac('HMAC_512', 'HMAC_SHA_512'),
  SM2: spec({
    keyUsages: ['ENCRYPT_DECRYPT', 'SIGN_VERIFY', 'KEY_AGREEMENT'],
    encryptionAlgorithms: ['SM2PKE'],
    signingAlgorithms: ['SM2DSA'],
    keyAgreementAlgorithms: ['ECDH'],
    customerMasterKeySpec: 'SM2',
  }),
  ML_DSA_44: mlDsa(),
  ML_DSA_65: mlDsa(),
  ML_DSA_87: mlDsa(),
}

/**
 * The algorithm lists DescribeKey and GetPublicKey report for a key: only those of its usage.
 *
 * @example
 *   algorithmsFor('RSA_2048', 'SIGN_VERIFY').SigningAlgorithms // the six RSASSA_* algorithms
 */
export function algorithmsFor(keySpec: KeySpec, keyUsage: KeyUsage) {
  const c = KEY_SPECS[keySpec]
  return {
    EncryptionAlgorithms: keyUsage === 'ENCRYPT_DECRYPT' ? c.encryptionAlgorithms : undefined,
    SigningAlgorithms: keyUsage === 'SIGN_VERIFY' ? c.signingAlgorithms : undefined,
    MacAlgorithms: keyUsage === 'GENERATE_VERIFY_MAC' ? c.macAlgorithms : undefined,
    KeyAgreementAlgorithms: keyUsage === 'KEY_AGREEMENT' ? c.keyAgreementAlgorithms : undefined,
  }
}
