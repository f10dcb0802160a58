import { signMessage } from '../crypto/index.js'
import { KEY_SPECS } from '../domain/key-specs.js'
import { stopIfDryRun, type Handler } from './context.js'
import { checkSigning, keyForUsage, privateMaterialOf, publicKeyOf } from './support/asymmetric.js'

/**
 * Sign: a signature of a message, its digest (DIGEST) or an ML-DSA μ (EXTERNAL_MU) with the
 * private key of a SIGN_VERIFY key pair, in AWS's encodings (API Reference, Sign).
 */
export const sign: Handler<'Sign'> = async (ctx, input) => {
  const key = await keyForUsage(ctx, {
    keyId: input.KeyId,
    usage: 'SIGN_VERIFY',
    operation: 'Sign',
  })
  const { algorithm, messageType } = checkSigning(key, input)
  stopIfDryRun(input)
  const signature = await signMessage({
    material: KEY_SPECS[key.keySpec].material,
    privateKey: await privateMaterialOf(ctx, key),
    publicKey: publicKeyOf(key, 'Sign'),
    algorithm,
    messageType,
    message: input.Message,
  })
  return { KeyId: key.arn, Signature: signature, SigningAlgorithm: input.SigningAlgorithm }
}
