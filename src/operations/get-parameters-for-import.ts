import { ValidationException } from '../domain/errors/exceptions.js'
import { generateWrappingKeyPair } from '../crypto/key-import.js'
import {
  IMPORT_TOKEN_VALIDITY_MS,
  type WrappingAlgorithm,
  type WrappingKeySpec,
} from '../domain/import-token.js'
import { assertKeyState } from '../domain/key-state.js'
import type { GetParametersForImportInput } from '../wire/generated/model.js'
import type { Handler } from './context.js'
import { keyForImport } from './support/key-import.js'

/**
 * The wrapping algorithm and key spec, checked together: RSAES_PKCS1_V1_5 is refused ("As of
 * October 10, 2023, KMS does not support the RSAES_PKCS1_V1_5 wrapping algorithm", API
 * Reference), and SM2PKE goes with the SM2 wrapping key spec and no other (Developer Guide,
 * "Select a wrapping algorithm"; AWS offers SM2 in its China Regions, Keyward everywhere).
 */
function wrappingParameters(input: GetParametersForImportInput): {
  algorithm: WrappingAlgorithm
  spec: WrappingKeySpec
} {
  const { WrappingAlgorithm: algorithm, WrappingKeySpec: spec } = input
  if (algorithm === 'RSAES_PKCS1_V1_5') {
    throw new ValidationException(
      'The RSAES_PKCS1_V1_5 wrapping algorithm is not supported. Use RSAES_OAEP_SHA_256, RSAES_OAEP_SHA_1, RSA_AES_KEY_WRAP_SHA_256 or RSA_AES_KEY_WRAP_SHA_1.',
    )
  }
  if ((algorithm === 'SM2PKE') !== (spec === 'SM2')) {
    throw new ValidationException(
      `The wrapping algorithm ${algorithm} cannot be used with the wrapping key spec ${spec}. SM2PKE requires the SM2 wrapping key spec, and the SM2 wrapping key spec requires SM2PKE.`,
    )
  }
  return { algorithm, spec }
}

/**
 * GetParametersForImport: a fresh wrapping key pair and an ImportToken, both valid 24 hours
 * (API Reference, GetParametersForImport). The token holds the wrapping private key, the key it
 * is for, the parameters and the expiry, sealed under the root key and bound to the key's ARN
 * (src/domain/import-token.ts), so Keyward stores nothing for it. Keys whose origin is not
 * EXTERNAL get AWS's recorded refusal; a key pending deletion KMSInvalidStateException.
 */
export const getParametersForImport: Handler<'GetParametersForImport'> = async (ctx, input) => {
  const key = await keyForImport(ctx, input.KeyId)
  assertKeyState(key, 'import')
  const { algorithm, spec } = wrappingParameters(input)
  const pair = await generateWrappingKeyPair(spec)
  const expiresAt = ctx.clock.now() + IMPORT_TOKEN_VALIDITY_MS
  const token = await ctx.keys.sealImportToken({
    keyArn: key.arn,
    wrappingAlgorithm: algorithm,
    wrappingKeySpec: spec,
    expiresAt,
    wrappingPrivateKey: pair.privateKey,
  })
  pair.privateKey.fill(0)
  return {
    KeyId: key.arn,
    ImportToken: token,
    PublicKey: pair.publicKey,
    ParametersValidTo: new Date(expiresAt),
  }
}
