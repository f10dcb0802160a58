import { ValidationException } from '../domain/errors/exceptions.js'
import { deriveSharedSecret as derive } from '../crypto/index.js'
import { assertAlgorithm } from '../domain/key-checks.js'
import { KEY_SPECS } from '../domain/key-specs.js'
import { stopIfDryRun, type Handler } from './context.js'
import { keyForUsage, privateMaterialOf } from './support/asymmetric.js'
import { refuseRecipient } from './support/symmetric.js'

/**
 * DeriveSharedSecret: raw ECDH between a KEY_AGREEMENT key's private key and the caller's DER
 * SubjectPublicKeyInfo, with no KDF: the same bytes as `openssl pkeyutl -derive` (API
 * Reference, DeriveSharedSecret). A public key that is not a point of the key's curve is a
 * ValidationException with no message, as recorded by AWS.
 */
export const deriveSharedSecret: Handler<'DeriveSharedSecret'> = async (ctx, input) => {
  refuseRecipient(input)
  const key = await keyForUsage(ctx, {
    keyId: input.KeyId,
    usage: 'KEY_AGREEMENT',
    operation: 'DeriveSharedSecret',
  })
  assertAlgorithm(key, 'keyAgreementAlgorithms', input.KeyAgreementAlgorithm)
  const secret = await derive({
    material: KEY_SPECS[key.keySpec].material,
    privateKey: await privateMaterialOf(ctx, key),
    peerPublicKey: input.PublicKey,
  })
  if (!secret) throw new ValidationException('')
  // After the public key is checked: a DryRun answers only for a request that would succeed.
  stopIfDryRun(input)
  return {
    KeyId: key.arn,
    SharedSecret: secret,
    KeyAgreementAlgorithm: input.KeyAgreementAlgorithm,
    KeyOrigin: key.origin,
  }
}
