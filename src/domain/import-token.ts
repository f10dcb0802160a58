/**
 * What an ImportToken carries (API Reference, GetParametersForImport: "The public key and its
 * import token are permanently linked and must be used together"). Keyward keeps no table of
 * outstanding imports: the token itself holds the wrapping private key, the key it is for, the
 * parameters and the expiry, and KeyService seals it under the root key with the key ARN as
 * authenticated data, so it cannot be read, altered, or used for another key.
 */

/** "Each public key and import token set is valid for 24 hours" (API Reference). */
export const IMPORT_TOKEN_VALIDITY_MS = 24 * 3_600_000

/** The wrapping algorithms GetParametersForImport hands out (RSAES_PKCS1_V1_5 is refused). */
export type WrappingAlgorithm =
  | 'RSAES_OAEP_SHA_1'
  | 'RSAES_OAEP_SHA_256'
  | 'RSA_AES_KEY_WRAP_SHA_1'
  | 'RSA_AES_KEY_WRAP_SHA_256'
  | 'SM2PKE'

export type WrappingKeySpec = 'RSA_2048' | 'RSA_3072' | 'RSA_4096' | 'SM2'

/** The contents of an import token. */
export interface ImportParameters {
  readonly keyArn: string
  readonly wrappingAlgorithm: WrappingAlgorithm
  readonly wrappingKeySpec: WrappingKeySpec
  /** Epoch ms: ParametersValidTo. */
  readonly expiresAt: number
  /** PKCS #8 DER of the wrapping private key. */
  readonly wrappingPrivateKey: Buffer
}

const VERSION = 1

/**
 * The token's plaintext: a small JSON document (sealed by KeyService before it leaves).
 *
 * @example
 *   decodeImportParameters(encodeImportParameters(p))?.keyArn === p.keyArn // true
 */
export function encodeImportParameters(p: ImportParameters): Buffer {
  return Buffer.from(
    JSON.stringify({
      v: VERSION,
      k: p.keyArn,
      a: p.wrappingAlgorithm,
      s: p.wrappingKeySpec,
      e: p.expiresAt,
      w: p.wrappingPrivateKey.toString('base64'),
    }),
    'utf8',
  )
}

/** The parameters of a token's plaintext; undefined when it is not one Keyward wrote. */
export function decodeImportParameters(plaintext: Buffer): ImportParameters | undefined {
  try {
    const t = JSON.parse(plaintext.toString('utf8')) as Record<string, unknown>
    if (
      t.v !== VERSION ||
      typeof t.k !== 'string' ||
      typeof t.a !== 'string' ||
      typeof t.s !== 'string' ||
      typeof t.e !== 'number' ||
      typeof t.w !== 'string'
    ) {
      return undefined
    }
    return {
      keyArn: t.k,
      wrappingAlgorithm: t.a as WrappingAlgorithm,
      wrappingKeySpec: t.s as WrappingKeySpec,
      expiresAt: t.e,
      wrappingPrivateKey: Buffer.from(t.w, 'base64'),
    }
  } catch {
    return undefined
  }
}
