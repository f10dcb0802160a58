/**
 * AWS's exact texts that many tests assert, written once (sources: the AWS recordings in
 * ../shared/reference/aws-recorded-errors.md and kms-api.md §5.3).
 */
export const AWS_MESSAGES = {
  accessDeniedCiphertext:
    'The ciphertext refers to a customer master key that does not exist, does not exist in this region, or you are not allowed to access.',
  incorrectKey:
    'The key ID in the request does not identify a CMK that can perform this operation.',
  dryRun: 'The request would have succeeded, but the DryRun option is set.',
  ciphertextNull:
    "1 validation error detected: Value null at 'ciphertextBlob' failed to satisfy constraint: Member must not be null",
} as const

/**
 * The "enum value set" lists of CreateKey's `keySpec` and `keyUsage`: AWS's 2023 recording,
 * then the values the model gained since, in model order (src/wire/enum-order.ts).
 */
export const KEY_SPEC_ENUM =
  '[RSA_2048, ECC_NIST_P384, ECC_NIST_P256, ECC_NIST_P521, HMAC_384, RSA_3072, ECC_SECG_P256K1, RSA_4096, SYMMETRIC_DEFAULT, HMAC_256, HMAC_224, HMAC_512, SM2, ML_DSA_44, ML_DSA_65, ML_DSA_87, ECC_NIST_EDWARDS25519]'
/** See {@link KEY_SPEC_ENUM}. */
export const KEY_USAGE_ENUM = '[ENCRYPT_DECRYPT, SIGN_VERIFY, GENERATE_VERIFY_MAC, KEY_AGREEMENT]'

/**
 * AWS's NotFoundException for an unknown alias, with its final period (two real answers quoted
 * in aws-recorded-errors.md: cloudposse/docs#152, sigstore/cosign#1474).
 *
 * @example
 *   aliasNotFound('arn:aws:kms:us-east-1:111122223333:alias/x')
 *   // → 'Alias arn:aws:kms:us-east-1:111122223333:alias/x is not found.'
 */
export function aliasNotFound(aliasArn: string): string {
  return `Alias ${aliasArn} is not found.`
}
