import { stopIfDryRun, type Handler } from './context.js'
import {
  assertPlaintextFits,
  encryptWithKeyPair,
  refuseEncryptionContext,
  usesKeyPair,
} from './support/asymmetric-encryption.js'
import { keyForSealing, sealUnderKey } from './support/symmetric.js'

/**
 * Encrypt (API Reference, Encrypt): under a symmetric key, a Keyward ciphertext binding the
 * encryption context; under an RSA or SM2 key pair (EncryptionAlgorithm required: its default,
 * SYMMETRIC_DEFAULT, is not in their algorithm lists), the raw RSAES-OAEP or SM2PKE output,
 * with no encryption context and within the plaintext limit of the key spec and algorithm.
 */
export const encrypt: Handler<'Encrypt'> = async (ctx, input) => {
  const key = await keyForSealing(ctx, {
    keyId: input.KeyId,
    operation: 'Encrypt',
    algorithm: input.EncryptionAlgorithm,
  })
  if (usesKeyPair(input.EncryptionAlgorithm)) {
    const algorithm = input.EncryptionAlgorithm!
    refuseEncryptionContext(input.EncryptionContext)
    assertPlaintextFits(key, algorithm, input.Plaintext)
    stopIfDryRun(input)
    const ciphertext = await encryptWithKeyPair(key, { algorithm, plaintext: input.Plaintext })
    return { CiphertextBlob: ciphertext, KeyId: key.arn, EncryptionAlgorithm: algorithm }
  }
  stopIfDryRun(input)
  const { blob } = await sealUnderKey(ctx, {
    key,
    plaintext: input.Plaintext,
    context: input.EncryptionContext,
  })
  // KeyId is the key ARN even when an alias was given: the AWS Encryption SDK relies on it.
  return { CiphertextBlob: blob, KeyId: key.arn, EncryptionAlgorithm: 'SYMMETRIC_DEFAULT' }
}
