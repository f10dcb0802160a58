import { KMSInvalidMacException } from '../domain/errors/exceptions.js'
import { hmac } from '../crypto/index.js'
import { constantTimeEqual } from '../domain/constant-time.js'
import { assertAlgorithm } from '../domain/key-checks.js'
import { MAC_ALGORITHMS } from '../domain/key-specs.js'
import { stopIfDryRun, type Handler } from './context.js'
import { keyForUsage, privateMaterialOf } from './support/asymmetric.js'

/**
 * VerifyMac: recomputes the HMAC and compares it in constant time. A mismatch is
 * KMSInvalidMacException with no message, never MacValid=false (API Reference, VerifyMac;
 * recorded by AWS).
 */
export const verifyMac: Handler<'VerifyMac'> = async (ctx, input) => {
  const key = await keyForUsage(ctx, {
    keyId: input.KeyId,
    usage: 'GENERATE_VERIFY_MAC',
    operation: 'VerifyMac',
  })
  assertAlgorithm(key, 'macAlgorithms', input.MacAlgorithm)
  stopIfDryRun(input)
  const expected = hmac({
    hash: MAC_ALGORITHMS[input.MacAlgorithm].hash,
    key: await privateMaterialOf(ctx, key),
    message: input.Message,
  })
  if (!constantTimeEqual(expected, input.Mac)) throw new KMSInvalidMacException()
  return { KeyId: key.arn, MacValid: true, MacAlgorithm: input.MacAlgorithm }
}
