import { KEY_SPECS, algorithmsFor } from '../domain/key-specs.js'
import type { Handler } from './context.js'
import { publicKeyOf } from './support/asymmetric.js'
import { assertKeyState } from '../domain/key-state.js'

/**
 * GetPublicKey: the DER SubjectPublicKeyInfo of an asymmetric key pair with what a caller needs
 * to use it offline: its spec, usage and algorithms (API Reference, GetPublicKey). Symmetric and
 * HMAC keys have no public key: UnsupportedOperationException.
 */
export const getPublicKey: Handler<'GetPublicKey'> = async (ctx, input) => {
  const key = await ctx.keys.resolve({ by: ctx, keyId: input.KeyId, accept: 'idArnOrAlias' })
  assertKeyState(key, 'use')
  const publicKey = publicKeyOf(key, 'GetPublicKey')
  const { EncryptionAlgorithms, SigningAlgorithms, KeyAgreementAlgorithms } = algorithmsFor(
    key.keySpec,
    key.keyUsage,
  )
  return {
    KeyId: key.arn,
    PublicKey: publicKey,
    CustomerMasterKeySpec: KEY_SPECS[key.keySpec].customerMasterKeySpec,
    KeySpec: key.keySpec,
    KeyUsage: key.keyUsage,
    EncryptionAlgorithms,
    SigningAlgorithms,
    KeyAgreementAlgorithms,
  }
}
