import { hmac } from '../crypto/index.js'
import { assertAlgorithm } from '../domain/key-checks.js'
import { MAC_ALGORITHMS } from '../domain/key-specs.js'
import { stopIfDryRun, type Handler } from './context.js'
import { keyForUsage, privateMaterialOf } from './support/asymmetric.js'

/**
 * GenerateMac: the HMAC of a message under a GENERATE_VERIFY_MAC key, with the one algorithm its
 * spec allows (API Reference, GenerateMac; "Algorithm HMAC_SHA_256 is incompatible with key
 * spec HMAC_224." otherwise).
 */
export const generateMac: Handler<'GenerateMac'> = async (ctx, input) => {
  const key = await keyForUsage(ctx, {
    keyId: input.KeyId,
    usage: 'GENERATE_VERIFY_MAC',
    operation: 'GenerateMac',
  })
  assertAlgorithm(key, 'macAlgorithms', input.MacAlgorithm)
  stopIfDryRun(input)
  const mac = hmac({
    hash: MAC_ALGORITHMS[input.MacAlgorithm].hash,
    key: await privateMaterialOf(ctx, key),
    message: input.Message,
  })
  return { Mac: mac, MacAlgorithm: input.MacAlgorithm, KeyId: key.arn }
}
