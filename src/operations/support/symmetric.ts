import {
  IncorrectKeyException,
  InvalidCiphertextException,
  InvalidKeyUsageException,
  UnsupportedOperationException,
  ValidationException,
} from '../../domain/errors/exceptions.js'
import {
  openCiphertext,
  openCiphertextTwice,
  openCiphertextWithGcmKey,
  readCiphertextHeader,
  sealCiphertext,
  sealCiphertextTwice,
  sealCiphertextWithGcmKey,
} from '../../domain/ciphertext.js'
import type { EncryptionContext } from '../../domain/encryption-context.js'
import type { KeyRecord } from '../../domain/key.js'
import { assertAlgorithm, assertKeyUsage } from '../../domain/key-checks.js'
import { KEY_SPECS } from '../../domain/key-specs.js'
import { assertKeyState } from '../../domain/key-state.js'
import type { OperationContext } from '../context.js'
import { hsmKeyOf } from './hsm-keys.js'
import { externalSealerOf } from './xks-keys.js'
import { xksInnerLayerCorrupt } from '../../domain/xks-failures.js'

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

/** Seals `plaintext` under the key's current material; returns the blob and the material id. */
export async function sealUnderKey(
  ctx: OperationContext,
  req: { key: KeyRecord; plaintext: Buffer; context?: EncryptionContext | undefined },
): Promise<{ blob: Buffer; keyMaterialId: string }> {
  if (req.key.origin === 'EXTERNAL_KEY_STORE') return sealTwice(ctx, req)
  if (req.key.customKeyStoreId !== undefined) return sealInHsm(ctx, req)
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

/** Opens a symmetric blob with the material its header names. */
export async function openUnderKey(
  ctx: OperationContext,
  req: { key: KeyRecord; blob: Buffer; context?: EncryptionContext | undefined },
): Promise<{ plaintext: Buffer; keyMaterialId: string }> {
  if (req.key.origin === 'EXTERNAL_KEY_STORE') return openTwice(ctx, req)
  if (req.key.customKeyStoreId !== undefined) return openInHsm(ctx, req)
  const header = readCiphertextHeader(req.blob)
  const sealing = header && (await ctx.keys.sealingKey(req.key, header.keyMaterialId))
  if (!sealing) throw new InvalidCiphertextException()
  const plaintext = openCiphertext({ blob: req.blob, key: sealing, context: req.context })
  return { plaintext, keyMaterialId: sealing.keyMaterialId }
}

/**
 * {@link sealUnderKey} for a key in a custom key store: the same header, context binding and
 * blob semantics (format version 2), with AES-GCM done inside the HSM.
 */
async function sealInHsm(
  ctx: OperationContext,
  req: { key: KeyRecord; plaintext: Buffer; context?: EncryptionContext | undefined },
): Promise<{ blob: Buffer; keyMaterialId: string }> {
  const keyMaterialId = req.key.currentKeyMaterialId!
  const { gcm } = await hsmKeyOf(ctx, req.key)
  const blob = await sealCiphertextWithGcmKey(
    {
      header: { keyId: req.key.keyId, keyMaterialId },
      plaintext: req.plaintext,
      gcm,
      ...(req.context ? { context: req.context } : {}),
    },
    ctx.random,
  )
  return { blob, keyMaterialId }
}

/** {@link openUnderKey} for a key in a custom key store. */
async function openInHsm(
  ctx: OperationContext,
  req: { key: KeyRecord; blob: Buffer; context?: EncryptionContext | undefined },
): Promise<{ plaintext: Buffer; keyMaterialId: string }> {
  const keyMaterialId = req.key.currentKeyMaterialId!
  const { gcm, isHsmFailure } = await hsmKeyOf(ctx, req.key)
  const plaintext = await openCiphertextWithGcmKey({
    blob: req.blob,
    expected: { keyId: req.key.keyId, keyMaterialId },
    gcm,
    isHsmFailure,
    ...(req.context ? { context: req.context } : {}),
  })
  return { plaintext, keyMaterialId }
}

/**
 * {@link sealUnderKey} for a key in an external key store: double encryption (format version
 * 3), the key's own material first, then the external key through the store's proxy.
 */
async function sealTwice(
  ctx: OperationContext,
  req: { key: KeyRecord; plaintext: Buffer; context?: EncryptionContext | undefined },
): Promise<{ blob: Buffer; keyMaterialId: string }> {
  const { sealing, external } = await externalSealerOf(ctx, req.key)
  const blob = await sealCiphertextTwice(
    { key: sealing, plaintext: req.plaintext, context: req.context, external },
    ctx.random,
  )
  return { blob, keyMaterialId: sealing.keyMaterialId }
}

/** {@link openUnderKey} for a key in an external key store: the proxy first, then Keyward. */
async function openTwice(
  ctx: OperationContext,
  req: { key: KeyRecord; blob: Buffer; context?: EncryptionContext | undefined },
): Promise<{ plaintext: Buffer; keyMaterialId: string }> {
  const { sealing, external } = await externalSealerOf(ctx, req.key)
  const plaintext = await openCiphertextTwice({
    blob: req.blob,
    key: sealing,
    context: req.context,
    external,
    innerFailure: () => xksInnerLayerCorrupt(req.key.arn),
  })
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
