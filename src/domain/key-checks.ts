import { InvalidKeyUsageException } from './errors/exceptions.js'
import type { KeyRecord } from './key.js'
import { KEY_SPECS, type KeyUsage } from './key-specs.js'

/**
 * Refuses an operation that needs another KeyUsage, with AWS's message:
 * "<arn> key usage is ENCRYPT_DECRYPT which is not valid for GenerateMac."
 */
export function assertKeyUsage(key: KeyRecord, usage: KeyUsage, operation: string): void {
  if (key.keyUsage !== usage) {
    throw new InvalidKeyUsageException(
      `${key.arn} key usage is ${key.keyUsage} which is not valid for ${operation}.`,
    )
  }
}

type AlgorithmKind =
  'encryptionAlgorithms' | 'signingAlgorithms' | 'macAlgorithms' | 'keyAgreementAlgorithms'

/**
 * Refuses an algorithm the key's spec does not support, with AWS's message:
 * "Algorithm HMAC_SHA_256 is incompatible with key spec HMAC_224."
 */
export function assertAlgorithm(key: KeyRecord, kind: AlgorithmKind, algorithm: string): void {
  if (!KEY_SPECS[key.keySpec][kind].includes(algorithm)) {
    throw new InvalidKeyUsageException(
      `Algorithm ${algorithm} is incompatible with key spec ${key.keySpec}.`,
    )
  }
}
