import {
  IncorrectKeyException,
  InvalidCiphertextException,
  InvalidKeyUsageException,
  UnsupportedOperationException,
  ValidationException,
} from '../../domain/errors/exceptions.js'
import { readCiphertextHeader } from '../../domain/ciphertext.js'
import type { EncryptionContext } from '../../domain/encryption-context.js'
import type { KeyRecord } from '../../domain/key.js'
import { assertAlgorithm, assertKeyUsage } from '../../domain/key-checks.js'
import { KEY_SPECS } from '../../domain/key-specs.js'
import { assertKeyState } from '../../domain/key-state.js'
import type { OperationContext } from '../context.js'
import { backendCall, withKeyBackend } from './key-backends.js'

/**
 * The checks every operation that seals data under a symmetric KMS key makes, in AWS's order:
 * resolve → key state → key usage → algorithm. Returns the key.
 */
export async function keyForSealing(
  ctx: OperationContext,
  req: { keyId: string; operation: string; algorithm?: string },
): Promise<KeyRecord> {
  const key = await ctx.keys.resolve({ by: ctx, keyId: req.keyId, accept: 'idArnOrAlias' })
  assertUsableForEncryption(key, req)
  return key
}

/**
 * The checks GenerateDataKey and GenerateDataKeyWithoutPlaintext make: those of
 * {@link keyForSealing}, except that an asymmetric encryption key gets AWS's own refusal
 * (API Reference, GenerateDataKey: "To generate a data key, specify the symmetric encryption
 * KMS key"; the message is the one AWS SDK users report for an RSA key).
 *
 * @example
 *   const key = await keyForDataKey(ctx, { keyId: input.KeyId, operation: 'GenerateDataKey' })
 */
export async function keyForDataKey(
  ctx: OperationContext,
  req: { keyId: string; operation: string },
): Promise<KeyRecord> {
  const key = await ctx.keys.resolve({ by: ctx, keyId: req.keyId, accept: 'idArnOrAlias' })
  assertKeyState(key, 'use')
  assertKeyUsage(key, 'ENCRYPT_DECRYPT', req.operation)
  if (!KEY_SPECS[key.keySpec].encryptionAlgorithms.includes('SYMMETRIC_DEFAULT')) {
    throw new InvalidKeyUsageException('You cannot generate a data key with an asymmetric CMK')
  }
  return key
}

/** State → usage → algorithm, in AWS's order, for a key about to encrypt or decrypt. */
function assertUsableForEncryption(
  key: KeyRecord,
  req: { operation: string; algorithm?: string },
): void {
  assertKeyState(key, 'use')
  assertKeyUsage(key, 'ENCRYPT_DECRYPT', req.operation)
  assertAlgorithm(key, 'encryptionAlgorithms', req.algorithm ?? 'SYMMETRIC_DEFAULT')
}

/**
 * Seals `plaintext` under the key's current material, in the backend the origin table names
 * for the key; returns the blob and the material id.
 */
export async function sealUnderKey(
  ctx: OperationContext,
  req: { key: KeyRecord; plaintext: Buffer; context?: EncryptionContext | undefined },
): Promise<{ blob: Buffer; keyMaterialId: string }> {
  return withKeyBackend(ctx, req.key, (backend, store) =>
    backend.seal(req.key, {
      store,
      plaintext: req.plaintext,
      context: req.context,
      call: backendCall(ctx),
    }),
  )
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
    ? await ctx.keys.resolve({ by: ctx, keyId: req.keyId, accept: 'idArnOrAlias' })
    : undefined
  if (!header) throw new InvalidCiphertextException()
  if (given && given.keyId !== header.keyId) {
    throw new IncorrectKeyException(
      'The key ID in the request does not identify a CMK that can perform this operation.',
    )
  }
  const key = given ?? (await ctx.keys.keyForCiphertext({ by: ctx, keyId: header.keyId }))
  assertUsableForEncryption(key, req)
  return key
}

/**
 * True for a DryRun with DryRunModifiers [IGNORE_CIPHERTEXT] (API Reference, Decrypt and
 * ReEncrypt, since 2026-02): the caller asks whether the keys it names could be used, and the
 * ciphertext is neither required nor looked at.
 *
 * @example
 *   if (ignoresCiphertext(input)) { await checkKeyForOpening(ctx, named); stopIfDryRun(input) }
 */
export function ignoresCiphertext(input: {
  readonly DryRun?: boolean | undefined
  readonly DryRunModifiers?: readonly string[] | undefined
}): boolean {
  return input.DryRun === true && (input.DryRunModifiers ?? []).includes('IGNORE_CIPHERTEXT')
}

/**
 * The CiphertextBlob of a Decrypt or ReEncrypt request. The model stopped marking it required
 * in 2026-02 (for {@link ignoresCiphertext}); the service still requires it otherwise, with the
 * message its validator gives a missing required member.
 *
 * @example
 *   const blob = requiredCiphertext(input) // ValidationException when absent
 */
export function requiredCiphertext(input: {
  readonly CiphertextBlob?: Buffer | undefined
}): Buffer {
  if (!input.CiphertextBlob) {
    throw new ValidationException(
      "1 validation error detected: Value null at 'ciphertextBlob' failed to satisfy constraint: Member must not be null",
    )
  }
  return input.CiphertextBlob
}

/**
 * For a DryRun that ignores the ciphertext: checks the key the caller named for decrypting
 * (when it named one) as {@link keyForOpening} would, without a blob to compare it with.
 *
 * @example
 *   await checkKeyForOpening(ctx, { keyId: input.SourceKeyId, operation: 'ReEncrypt' })
 */
export async function checkKeyForOpening(
  ctx: OperationContext,
  req: { keyId?: string | undefined; algorithm?: string | undefined; operation: string },
): Promise<void> {
  if (!req.keyId) return
  const key = await ctx.keys.resolve({ by: ctx, keyId: req.keyId, accept: 'idArnOrAlias' })
  assertUsableForEncryption(key, req)
}

/** Opens a symmetric blob in the key's backend, with the material its header names. */
export async function openUnderKey(
  ctx: OperationContext,
  req: { key: KeyRecord; blob: Buffer; context?: EncryptionContext | undefined },
): Promise<{ plaintext: Buffer; keyMaterialId: string }> {
  return withKeyBackend(ctx, req.key, (backend, store) =>
    backend.open(req.key, { store, blob: req.blob, context: req.context, call: backendCall(ctx) }),
  )
}

/** Nitro Enclaves attestation (the Recipient member) needs AWS's attestation PKI. */
export function refuseRecipient(input: { readonly Recipient?: unknown }): void {
  if (input.Recipient !== undefined) {
    throw new UnsupportedOperationException(
      'Recipient (AWS Nitro Enclaves attestation) is not supported by Keyward.',
    )
  }
}
