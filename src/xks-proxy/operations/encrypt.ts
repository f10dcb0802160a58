import { constantTimeEqual } from '../../domain/constant-time.js'
import {
  CIPHERTEXT_METADATA_V1,
  ciphertextDataIntegrityValue,
  gcmAad,
} from '../ciphertext-format.js'
import { isXksError, XksError } from '../errors.js'
import type { EncryptInput } from '../validate-request.js'
import { assertKeyEnabled, type XksOperationContext } from './context.js'

/** Encrypt's answer (spec v1.0.3), Base64 on the wire. */
export interface EncryptOutput {
  readonly ciphertext: Buffer
  readonly initializationVector: Buffer
  readonly authenticationTag: Buffer
  readonly ciphertextMetadata: Buffer
  readonly ciphertextDataIntegrityValue?: Buffer
}

/**
 * Encrypt: AES-GCM under the external key, with the spec's AAD layout and this proxy's
 * ciphertextMetadata (ciphertext-format.ts). When a CDIV is asked for, the spec's Appendix C
 * order is followed: encrypt, compute the CDIV, then decrypt the result as a check before
 * answering. So a key that may encrypt but not decrypt fails such a request with
 * InvalidKeyUsageException, as the compliance client expects.
 *
 * @example
 *   const out = await encrypt(ctx, { keyId: 'foo', input })
 */
export async function encrypt(
  ctx: XksOperationContext,
  request: { keyId: string; input: EncryptInput },
): Promise<EncryptOutput> {
  const { keyId, input } = request
  await assertKeyEnabled(ctx, keyId)
  const ciphertextMetadata = CIPHERTEXT_METADATA_V1
  const aad = gcmAad(input.aad, ciphertextMetadata)
  const sealed = await ctx.keyManager.encrypt(keyId, { plaintext: input.plaintext, aad })
  const output = {
    ciphertext: sealed.ciphertext,
    initializationVector: sealed.iv,
    authenticationTag: sealed.tag,
    ciphertextMetadata,
  }
  if (!input.cdiv) return output
  // Computed before the check, so corruption after it cannot go unnoticed (Appendix C).
  const cdiv = ciphertextDataIntegrityValue({
    aad: input.aad,
    ciphertextMetadata,
    iv: sealed.iv,
    ciphertext: sealed.ciphertext,
    tag: sealed.tag,
  })
  await verifyRoundTrip(ctx, { keyId, aad, sealed, plaintext: input.plaintext })
  return { ...output, ciphertextDataIntegrityValue: cdiv }
}

async function verifyRoundTrip(
  ctx: XksOperationContext,
  check: {
    keyId: string
    aad: Buffer
    sealed: { iv: Buffer; ciphertext: Buffer; tag: Buffer }
    plaintext: Buffer
  },
): Promise<void> {
  let opened: Buffer
  try {
    opened = await ctx.keyManager.decrypt(check.keyId, { ...check.sealed, aad: check.aad })
  } catch (error) {
    // A key that may not decrypt cannot vouch for its ciphertext: InvalidKeyUsageException.
    if (isXksError(error) && error.errorName === 'InvalidKeyUsageException') throw error
    throw new XksError('InternalException', 'The ciphertext failed its verifying decryption.', {
      cause: error,
    })
  }
  const same = constantTimeEqual(opened, check.plaintext)
  opened.fill(0)
  if (!same) {
    throw new XksError('InternalException', 'The verifying decryption returned other bytes.')
  }
}
