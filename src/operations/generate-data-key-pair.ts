import type { Handler } from './context.js'
import { sealNewKeyPair } from './support/data-key-pair.js'
import { refuseRecipient } from './support/symmetric.js'

/**
 * GenerateDataKeyPair: a fresh key pair for use outside KMS: the public key (DER SPKI), the
 * private key (PKCS #8 DER) in plaintext, and the private key sealed under a symmetric KMS key
 * with the encryption context bound (API Reference, GenerateDataKeyPair).
 */
export const generateDataKeyPair: Handler<'GenerateDataKeyPair'> = async (ctx, input) => {
  refuseRecipient(input)
  const pair = await sealNewKeyPair(ctx, { input, operation: 'GenerateDataKeyPair' })
  return {
    PrivateKeyCiphertextBlob: pair.blob,
    PrivateKeyPlaintext: pair.privateKey,
    PublicKey: pair.publicKey,
    KeyId: pair.key.arn,
    KeyPairSpec: input.KeyPairSpec,
    KeyMaterialId: pair.keyMaterialId,
  }
}
