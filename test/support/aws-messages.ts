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
