/**
 * The one key-spec capability table (AWS KMS Developer Guide, "Key spec reference";
 * ../shared/reference/kms-api.md §3.1). Validation, DescribeKey, GetPublicKey and every
 * operation read it; no handler switches on a key spec. Next to it, the facts of each
 * algorithm (hash, digest length, message types), which the operations and src/crypto/ read.
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

export type SigningAlgorithm =
  | 'RSASSA_PSS_SHA_256'
  | 'RSASSA_PSS_SHA_384'
  | 'RSASSA_PSS_SHA_512'
  | 'RSASSA_PKCS1_V1_5_SHA_256'
  | 'RSASSA_PKCS1_V1_5_SHA_384'
  | 'RSASSA_PKCS1_V1_5_SHA_512'
  | 'ECDSA_SHA_256'
  | 'ECDSA_SHA_384'
  | 'ECDSA_SHA_512'
  | 'SM2DSA'
  | 'ML_DSA_SHAKE_256'
  | 'ED25519_SHA_512'
  | 'ED25519_PH_SHA_512'

export type EncryptionAlgorithm =
  'SYMMETRIC_DEFAULT' | 'RSAES_OAEP_SHA_1' | 'RSAES_OAEP_SHA_256' | 'SM2PKE'

export type MacAlgorithm = 'HMAC_SHA_224' | 'HMAC_SHA_256' | 'HMAC_SHA_384' | 'HMAC_SHA_512'

/** Sign/Verify MessageType (API Reference, Sign). */
export type MessageType = 'RAW' | 'DIGEST' | 'EXTERNAL_MU'

/** node:crypto names of the hashes the algorithms use. */
export type HashName = 'sha1' | 'sha224' | 'sha256' | 'sha384' | 'sha512' | 'sm3' | 'shake256'

/**
 * What a key's material is and how it is made; src/crypto/ holds one implementation per
 * `kind`. Private keys are stored as PKCS #8 DER (RSA, EC, SM2, Ed25519) or as raw bytes (AES,
 * HMAC keys, ML-DSA seeds), always wrapped under the root key.
 */
export type KeyMaterialSpec =
  | { readonly kind: 'aes'; readonly bytes: number }
  | { readonly kind: 'hmac'; readonly bytes: number }
  | { readonly kind: 'rsa'; readonly modulusBits: number }
  /** A Weierstrass curve node:crypto knows, by its OpenSSL name. */
  | { readonly kind: 'ec'; readonly curve: 'prime256v1' | 'secp384r1' | 'secp521r1' | 'secp256k1' }
  | { readonly kind: 'sm2' }
  | { readonly kind: 'ed25519' }
  | { readonly kind: 'ml-dsa'; readonly parameterSet: 'ML-DSA-44' | 'ML-DSA-65' | 'ML-DSA-87' }

export type MaterialKind = KeyMaterialSpec['kind']

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
  /** The key material and how to make it. */
  readonly material: KeyMaterialSpec
  /** The Sign/Verify MessageTypes the spec accepts (empty for keys that do not sign). */
  readonly messageTypes: readonly MessageType[]
  /**
   * The largest plaintext Encrypt accepts, per encryption algorithm (Developer Guide, "Key spec
   * reference": RSA OAEP is k - 2·hLen - 2 bytes; SM2PKE 1024 bytes).
   */
  readonly plaintextLimits: Readonly<Partial<Record<EncryptionAlgorithm, number>>>
  /** Whether it is a DataKeyPairSpec of GenerateDataKeyPair (API Reference). */
  readonly dataKeyPair: boolean
  /** Whether Keyward can create keys of this spec today. */
  readonly implemented: boolean
  /**
   * What ImportKeyMaterial accepts for the spec (Developer Guide, "Requirements for imported
   * key material"): raw bytes of a length range (symmetric and HMAC keys) or the private key as
   * PKCS #8 DER (key pairs; KMS derives the public key). Absent: Keyward cannot import it.
   */
  readonly importable?: ImportableMaterial
}

/** The form of imported key material (see {@link KeySpecCapabilities.importable}). */
export type ImportableMaterial =
  | { readonly format: 'raw'; readonly minBytes: number; readonly maxBytes: number }
  | { readonly format: 'pkcs8' }

const PKCS8: ImportableMaterial = { format: 'pkcs8' }

const RSA_ENCRYPTION = ['RSAES_OAEP_SHA_1', 'RSAES_OAEP_SHA_256'] as const
const RSA_SIGNING = [
  'RSASSA_PSS_SHA_256',
  'RSASSA_PSS_SHA_384',
  'RSASSA_PSS_SHA_512',
  'RSASSA_PKCS1_V1_5_SHA_256',
  'RSASSA_PKCS1_V1_5_SHA_384',
  'RSASSA_PKCS1_V1_5_SHA_512',
] as const
const RAW_OR_DIGEST: readonly MessageType[] = ['RAW', 'DIGEST']

const none: readonly string[] = []
const spec = (
  c: Partial<KeySpecCapabilities> & Pick<KeySpecCapabilities, 'keyUsages' | 'material'>,
): KeySpecCapabilities => ({
  encryptionAlgorithms: none,
  signingAlgorithms: none,
  macAlgorithms: none,
  keyAgreementAlgorithms: none,
  messageTypes: [],
  plaintextLimits: {},
  dataKeyPair: false,
  implemented: true,
  ...c,
})

/** RSAES-OAEP's limit, k - 2·hLen - 2 (RFC 8017 §7.1.1): 214 / 190 bytes for RSA_2048. */
const oaepLimit = (modulusBits: number, hashBytes: number) => modulusBits / 8 - 2 * hashBytes - 2

const rsa = (s: KeySpec, modulusBits: number) =>
  spec({
    keyUsages: ['ENCRYPT_DECRYPT', 'SIGN_VERIFY'],
    encryptionAlgorithms: RSA_ENCRYPTION,
    signingAlgorithms: RSA_SIGNING,
    customerMasterKeySpec: s,
    material: { kind: 'rsa', modulusBits },
    messageTypes: RAW_OR_DIGEST,
    plaintextLimits: {
      RSAES_OAEP_SHA_1: oaepLimit(modulusBits, 20),
      RSAES_OAEP_SHA_256: oaepLimit(modulusBits, 32),
    },
    dataKeyPair: true,
    importable: PKCS8,
  })
const nist = (s: KeySpec, alg: SigningAlgorithm, curve: 'prime256v1' | 'secp384r1' | 'secp521r1') =>
  spec({
    keyUsages: ['SIGN_VERIFY', 'KEY_AGREEMENT'],
    signingAlgorithms: [alg],
    keyAgreementAlgorithms: ['ECDH'],
    customerMasterKeySpec: s,
    material: { kind: 'ec', curve },
    messageTypes: RAW_OR_DIGEST,
    dataKeyPair: true,
    importable: PKCS8,
  })
// Generated HMAC keys are as long as the hash output, as AWS's (the spec names the key length).
// Imported ones may be longer, up to the hash's block size (kms-api.md §3.1: 28–64 / 32–64 /
// 48–128 / 64–128 bytes).
const hmac = (s: KeySpec, alg: MacAlgorithm, bytes: number, maxImportBytes: number) =>
  spec({
    keyUsages: ['GENERATE_VERIFY_MAC'],
    macAlgorithms: [alg],
    customerMasterKeySpec: s,
    material: { kind: 'hmac', bytes },
    importable: { format: 'raw', minBytes: bytes, maxBytes: maxImportBytes },
  })
const mlDsa = (parameterSet: 'ML-DSA-44' | 'ML-DSA-65' | 'ML-DSA-87') =>
  spec({
    keyUsages: ['SIGN_VERIFY'],
    signingAlgorithms: ['ML_DSA_SHAKE_256'],
    material: { kind: 'ml-dsa', parameterSet },
    // DIGEST is refused: "Message type DIGEST is incompatible with key spec ML_DSA_44."
    messageTypes: ['RAW', 'EXTERNAL_MU'],
  })

export const KEY_SPECS: Readonly<Record<KeySpec, KeySpecCapabilities>> = {
  SYMMETRIC_DEFAULT: spec({
    keyUsages: ['ENCRYPT_DECRYPT'],
    defaultUsage: 'ENCRYPT_DECRYPT',
    encryptionAlgorithms: ['SYMMETRIC_DEFAULT'],
    customerMasterKeySpec: 'SYMMETRIC_DEFAULT',
    material: { kind: 'aes', bytes: 32 },
    plaintextLimits: { SYMMETRIC_DEFAULT: 4096 },
    importable: { format: 'raw', minBytes: 32, maxBytes: 32 },
  }),
  RSA_2048: rsa('RSA_2048', 2048),
  RSA_3072: rsa('RSA_3072', 3072),
  RSA_4096: rsa('RSA_4096', 4096),
  ECC_NIST_P256: nist('ECC_NIST_P256', 'ECDSA_SHA_256', 'prime256v1'),
  ECC_NIST_P384: nist('ECC_NIST_P384', 'ECDSA_SHA_384', 'secp384r1'),
  ECC_NIST_P521: nist('ECC_NIST_P521', 'ECDSA_SHA_512', 'secp521r1'),
  ECC_SECG_P256K1: spec({
    keyUsages: ['SIGN_VERIFY'],
    signingAlgorithms: ['ECDSA_SHA_256'],
    customerMasterKeySpec: 'ECC_SECG_P256K1',
    material: { kind: 'ec', curve: 'secp256k1' },
    messageTypes: RAW_OR_DIGEST,
    dataKeyPair: true,
    importable: PKCS8,
  }),
  ECC_NIST_EDWARDS25519: spec({
    keyUsages: ['SIGN_VERIFY'],
    signingAlgorithms: ['ED25519_SHA_512', 'ED25519_PH_SHA_512'],
    material: { kind: 'ed25519' },
    // Each algorithm then allows only one of them (SIGNING_ALGORITHMS).
    messageTypes: RAW_OR_DIGEST,
    dataKeyPair: true,
    importable: PKCS8,
  }),
  HMAC_224: hmac('HMAC_224', 'HMAC_SHA_224', 28, 64),
  HMAC_256: hmac('HMAC_256', 'HMAC_SHA_256', 32, 64),
  HMAC_384: hmac('HMAC_384', 'HMAC_SHA_384', 48, 128),
  HMAC_512: hmac('HMAC_512', 'HMAC_SHA_512', 64, 128),
  // AWS offers SM2 only in its China Regions; Keyward offers it in every Region.
  SM2: spec({
    keyUsages: ['ENCRYPT_DECRYPT', 'SIGN_VERIFY', 'KEY_AGREEMENT'],
    encryptionAlgorithms: ['SM2PKE'],
    signingAlgorithms: ['SM2DSA'],
    keyAgreementAlgorithms: ['ECDH'],
    customerMasterKeySpec: 'SM2',
    material: { kind: 'sm2' },
    messageTypes: RAW_OR_DIGEST,
    plaintextLimits: { SM2PKE: 1024 },
    dataKeyPair: true,
    importable: PKCS8,
  }),
  ML_DSA_44: mlDsa('ML-DSA-44'),
  ML_DSA_65: mlDsa('ML-DSA-65'),
  ML_DSA_87: mlDsa('ML-DSA-87'),
}

/** The facts of one signing algorithm (Developer Guide, "Key spec reference"). */
export interface SigningAlgorithmFacts {
  /** How src/crypto/ signs: the family implementation picks the scheme by this name. */
  readonly scheme: 'rsa-pss' | 'rsa-pkcs1' | 'ecdsa' | 'sm2dsa' | 'ed25519' | 'ed25519ph' | 'ml-dsa'
  /** The hash of a RAW message (SM3 for SM2DSA, over Z_A ‖ M; SHAKE256 for ML-DSA's μ). */
  readonly hash: HashName
  /** Length of a DIGEST message (or of an EXTERNAL_MU μ): "Digest is invalid length …" otherwise. */
  readonly digestBytes: number
  /** When the algorithm narrows the spec's message types (Ed25519). */
  readonly messageTypes?: readonly MessageType[]
}

export const SIGNING_ALGORITHMS: Readonly<Record<SigningAlgorithm, SigningAlgorithmFacts>> = {
  // PSS uses MGF1 with the same hash and a salt as long as the hash (Developer Guide).
  RSASSA_PSS_SHA_256: { scheme: 'rsa-pss', hash: 'sha256', digestBytes: 32 },
  RSASSA_PSS_SHA_384: { scheme: 'rsa-pss', hash: 'sha384', digestBytes: 48 },
  RSASSA_PSS_SHA_512: { scheme: 'rsa-pss', hash: 'sha512', digestBytes: 64 },
  RSASSA_PKCS1_V1_5_SHA_256: { scheme: 'rsa-pkcs1', hash: 'sha256', digestBytes: 32 },
  RSASSA_PKCS1_V1_5_SHA_384: { scheme: 'rsa-pkcs1', hash: 'sha384', digestBytes: 48 },
  RSASSA_PKCS1_V1_5_SHA_512: { scheme: 'rsa-pkcs1', hash: 'sha512', digestBytes: 64 },
  // ECDSA signatures are DER-encoded (RFC 3279), as AWS's.
  ECDSA_SHA_256: { scheme: 'ecdsa', hash: 'sha256', digestBytes: 32 },
  ECDSA_SHA_384: { scheme: 'ecdsa', hash: 'sha384', digestBytes: 48 },
  ECDSA_SHA_512: { scheme: 'ecdsa', hash: 'sha512', digestBytes: 64 },
  // GB/T 32918.2 with the default distinguishing ID; a DIGEST is e = SM3(Z_A ‖ M).
  SM2DSA: { scheme: 'sm2dsa', hash: 'sm3', digestBytes: 32 },
  // FIPS 204 ML-DSA with an empty context; EXTERNAL_MU is the 64-byte μ of FIPS 204 §6.2.
  ML_DSA_SHAKE_256: { scheme: 'ml-dsa', hash: 'shake256', digestBytes: 64 },
  // RFC 8032: PureEdDSA over a RAW message; Ed25519ph over a DIGEST, which KMS hashes again.
  ED25519_SHA_512: { scheme: 'ed25519', hash: 'sha512', digestBytes: 64, messageTypes: ['RAW'] },
  ED25519_PH_SHA_512: {
    scheme: 'ed25519ph',
    hash: 'sha512',
    digestBytes: 64,
    messageTypes: ['DIGEST'],
  },
}

/** The facts of one encryption algorithm. */
export interface EncryptionAlgorithmFacts {
  readonly scheme: 'aes-gcm' | 'rsa-oaep' | 'sm2pke'
  /** RSAES-OAEP's hash, also used by MGF1 (Developer Guide, "RSA key specs for encryption"). */
  readonly hash?: HashName
}

export const ENCRYPTION_ALGORITHMS: Readonly<
  Record<EncryptionAlgorithm, EncryptionAlgorithmFacts>
> = {
  SYMMETRIC_DEFAULT: { scheme: 'aes-gcm' },
  RSAES_OAEP_SHA_1: { scheme: 'rsa-oaep', hash: 'sha1' },
  RSAES_OAEP_SHA_256: { scheme: 'rsa-oaep', hash: 'sha256' },
  // GB/T 32918.4 with SM3; the ciphertext is GM/T 0009's DER SEQUENCE (C1, C3, C2).
  SM2PKE: { scheme: 'sm2pke' },
}

/** HMAC algorithms and their hashes (RFC 2104 with the SHA-2 hash the name gives). */
export const MAC_ALGORITHMS: Readonly<Record<MacAlgorithm, { readonly hash: HashName }>> = {
  HMAC_SHA_224: { hash: 'sha224' },
  HMAC_SHA_256: { hash: 'sha256' },
  HMAC_SHA_384: { hash: 'sha384' },
  HMAC_SHA_512: { hash: 'sha512' },
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

/**
 * Whether the key is an asymmetric key pair (it has a public key): everything but symmetric
 * encryption and HMAC keys.
 *
 * @example
 *   isKeyPair('ECC_NIST_P256') // true
 */
export function isKeyPair(keySpec: KeySpec): boolean {
  const kind = KEY_SPECS[keySpec].material.kind
  return kind !== 'aes' && kind !== 'hmac'
}
