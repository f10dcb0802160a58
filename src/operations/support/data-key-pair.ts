import { generateKeyMaterial } from '../../crypto/index.js'
import type { EncryptionContext } from '../../domain/encryption-context.js'
import type { KeyRecord } from '../../domain/key.js'
import { KEY_ORIGINS } from '../../domain/key-origins.js'
import { KEY_SPECS, type KeySpec } from '../../domain/key-specs.js'
import { UnsupportedOperationException } from '../../domain/errors/exceptions.js'
import { stopIfDryRun, type OperationContext } from '../context.js'
import { keyForDataKey, sealUnderKey } from './symmetric.js'

/** A fresh data key pair, its private key sealed under a symmetric KMS key. */
export interface SealedKeyPair {
  readonly key: KeyRecord
  /** PKCS #8 DER. */
  readonly privateKey: Buffer
  /** DER SubjectPublicKeyInfo. */
  readonly publicKey: Buffer
  readonly blob: Buffer
  readonly keyMaterialId: string
}

/**
 * What GenerateDataKeyPair and GenerateDataKeyPairWithoutPlaintext share (API Reference): the
 * KMS key must be a symmetric encryption key (checked as for GenerateDataKey); after DryRun
 * stops, a key pair of the KeyPairSpec (a key spec of the capability table, made the same way
 * as CreateKey makes it) is generated and its PKCS #8 private key sealed exactly as Encrypt
 * seals a plaintext, with the encryption context bound.
 *
 * @example
 *   const pair = await sealNewKeyPair(ctx, { input, operation: 'GenerateDataKeyPair' })
 */
export async function sealNewKeyPair(
  ctx: OperationContext,
  req: {
    input: {
      readonly KeyId: string
      readonly KeyPairSpec: KeySpec
      readonly EncryptionContext?: EncryptionContext | undefined
      readonly DryRun?: boolean | undefined
    }
    operation: 'GenerateDataKeyPair' | 'GenerateDataKeyPairWithoutPlaintext'
  },
): Promise<SealedKeyPair> {
  const { input, operation } = req
  const key = await keyForDataKey(ctx, { keyId: input.KeyId, operation })
  // "GenerateDataKeyPair and GenerateDataKeyPairWithoutPlaintext are not supported in custom
  // key stores" (Developer Guide, "KMS keys in external key stores" and "… in AWS CloudHSM key
  // stores"); the message is the one AWS gives other operations a key's origin rules out.
  if (!KEY_ORIGINS[key.origin].dataKeyPairs) {
    throw new UnsupportedOperationException(
      `${key.arn} origin is ${key.origin} which is not valid for this operation.`,
    )
  }
  const spec = KEY_SPECS[input.KeyPairSpec]
  // The model's DataKeyPairSpec enum is the table's dataKeyPair rows; this guards the table.
  if (!spec.dataKeyPair) throw new Error(`${input.KeyPairSpec} is not a data key pair spec`)
  stopIfDryRun(input)
  const { privateKey, publicKey } = await generateKeyMaterial(spec.material, ctx.random)
  const { blob, keyMaterialId } = await sealUnderKey(ctx, {
    key,
    plaintext: privateKey,
    context: input.EncryptionContext,
  })
  return { key, privateKey, publicKey: publicKey!, blob, keyMaterialId }
}
