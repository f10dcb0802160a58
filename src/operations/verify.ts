import { KMSInvalidSignatureException } from '../domain/errors/exceptions.js'
import { verifySignature } from '../crypto/index.js'
import { KEY_SPECS } from '../domain/key-specs.js'
import { stopIfDryRun, type Handler } from './context.js'
import { checkSigning, keyForUsage, publicKeyOf } from './support/asymmetric.js'

/**
 * Verify: checks a signature with the public key of a SIGN_VERIFY key pair. The MessageType
 * need not be the one used to sign. An invalid signature is KMSInvalidSignatureException with
 * no message, never SignatureValid=false (API Reference, Verify; recorded by AWS).
 */
export const verify: Handler<'Verify'> = async (ctx, input) => {
  const key = await keyForUsage(ctx, {
    keyId: input.KeyId,
    usage: 'SIGN_VERIFY',
    operation: 'Verify',
  })
  const { algorithm, messageType } = checkSigning(key, input)
  stopIfDryRun(input)
  const valid = await verifySignature({
    material: KEY_SPECS[key.keySpec].material,
    publicKey: publicKeyOf(key, 'Verify'),
    algorithm,
    messageType,
    message: input.Message,
    signature: input.Signature,
  })
  if (!valid) throw new KMSInvalidSignatureException()
  return { KeyId: key.arn, SignatureValid: true, SigningAlgorithm: input.SigningAlgorithm }
}
