import {
  IncorrectKeyException,
  InvalidCiphertextException,
  UnsupportedOperationException,
} from '../../wire/generated/exceptions.js'
import { openCiphertext, readCiphertextHeader, sealCiphertext } from '../../domain/ciphertext.js'
import type { EncryptionContext } from '../../domain/encryption-context.js'
import type { KeyRecord } from '../../domain/key.js'
import { assertAlgorithm, assertKeyUsage } from '../../domain/key-checks.js'
import { assertKeyState } from '../../domain/key-state.js'
import type { OperationContext } from '../context.js'

/**
 * The checks every operation that seals data under a symmetric KMS key makes, in AWS's order:
 * resolve → key state → key usage → algorithm. Returns the key.
 */
export async function keyForSealing(
  ctx: OperationContext,
  req: { keyId: string; operation: string; algorithm?: string },
): Promise<KeyRecord> {
  const key = await ctx.keys.resolve(ctx.caller, ctx.region, req.keyId, 'idArnOrAlias')
  assertKeyState(key, 'use')
  assertKeyUsage(key, 'ENCRYPT_DECRYPT', req.operation)
  assertAlgorithm(key, 'encryptionAlgorithms', req.algorithm ?? 'SYMMETRIC_DEFAULT')
  return key
}

/** Seals `plaintext` under the key's current material; returns the blob and the material id. */
export async function sealUnderKey(
  ctx: OperationContext,
  req: { key: KeyRecord; plaintext: Buffer; context?: EncryptionContext | undefined },
): Promise<{ blob: Buffer; keyMaterialId: string }> {
  const sealing = await ctx.keys.sealingKey(req.key)
  if (!sealing) throw new UnsupportedOperationException(`${req.key.arn} has no key material.`)
  const blob = sealCiphertext(
    { key: sealing, plaintext: req.plaintext, context: req.context },
    ctx.random,
  )
  return { blob, keyMaterialId: sealing.keyMaterialId }
}

/**
 * Finds the key a symmetric ciphertext names and checks it may decrypt: the named key must
 * exist and be usable by the caller (AccessDeniedException otherwise, as AWS), and a KeyId
 * given by the caller must be that key (IncorrectKeyException).
 */
export async function keyForOpening(
  ctx: OperationContext,
  req: {
    blob: Buffer
    keyId?: string | undefined
    algorithm?: string | undefined
    operation: string
  },
): Promise<KeyRecord> {
  const header = readCiphertextHeader(req.blob)
  const given = req.keyId
    ? await ctx.keys.resolve(ctx.caller, ctx.region, req.keyId, 'idArnOrAlias')
    : undefined
  if (!header) throw new InvalidCiphertextException()
  if (given && given.keyId !== header.keyId) {
    throw new IncorrectKeyException(
      'The key ID in the request does not identify a CMK that can perform this operation.',
    )
  }
  const key = given ?? (await ctx.keys.keyForCiphertext(ctx.caller, ctx.region, header.keyId))
  assertKeyState(key, 'use')
  assertKeyUsage(key, 'ENCRYPT_DECRYPT', req.operation)
  assertAlgorithm(key, 'encryptionAlgorithms', req.algorithm ?? 'SYMMETRIC_DEFAULT')
  return key
}

/** Opens a symmetric blob with the material its header names. */
export async function openUnderKey(
  ctx: OperationContext,
  req: { key: KeyRecord; blob: Buffer; context?: EncryptionContext | undefined },
): Promise<{ plaintext: Buffer; keyMaterialId: string }> {
  const header = readCiphertextHeader(req.blob)
  const sealing = header && (await ctx.keys.sealingKey(req.key, header.keyMaterialId))
  if (!sealing) throw new InvalidCiphertextException()
  const plaintext = openCiphertext({ blob: req.blob, key: sealing, context: req.context })
  return { plaintext, keyMaterialId: sealing.keyMaterialId }
}

/** Nitro Enclaves attestation (the Recipient member) needs AWS's attestation PKI. */
export function refuseRecipient(input: { readonly Recipient?: unknown }): void {
  if (input.Recipient !== undefined) {
    throw new UnsupportedOperationException(
      'Recipient (AWS Nitro Enclaves attestation) is not supported by Keyward.',
    )
  }
}
