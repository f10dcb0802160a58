import { CIPHERTEXT_METADATA_V1, gcmAad, invalidCiphertext } from '../ciphertext-format.js'
import type { DecryptInput } from '../validate-request.js'
import { assertKeyEnabled, type XksOperationContext } from './context.js'

/**
 * Decrypt: rebuilds the AAD from the request's AAD and ciphertextMetadata (ciphertext-format.ts)
 * and opens the ciphertext. Any change to the ciphertext, IV, tag, AAD or metadata fails the
 * GCM tag: InvalidCiphertextException, one answer for every cause. Metadata this proxy never
 * writes still goes through the key manager (so a key that may not decrypt answers
 * InvalidKeyUsageException first) and then fails the same way.
 *
 * @example
 *   const { plaintext } = await decrypt(ctx, { keyId: 'foo', input })
 */
export async function decrypt(
  ctx: XksOperationContext,
  request: { keyId: string; input: DecryptInput },
): Promise<{ plaintext: Buffer }> {
  const { keyId, input } = request
  await assertKeyEnabled(ctx, keyId)
  const ciphertextMetadata = input.ciphertextMetadata ?? Buffer.alloc(0)
  const known = ciphertextMetadata.equals(CIPHERTEXT_METADATA_V1)
  const plaintext = await ctx.keyManager.decrypt(keyId, {
    ciphertext: input.ciphertext,
    iv: input.iv,
    tag: input.tag,
    aad: gcmAad(input.aad, ciphertextMetadata),
  })
  if (!known) {
    plaintext.fill(0)
    throw invalidCiphertext()
  }
  return { plaintext }
}
