import { assertNotReplica } from '../../domain/multi-region.js'
import { UnsupportedOperationException } from '../../domain/errors/exceptions.js'
import type { KeyRecord } from '../../domain/key.js'
import { KEY_ORIGINS } from '../../domain/key-origins.js'
import { rotatableSpec } from '../../domain/key-rotation.js'
import type { OperationContext } from '../context.js'

/**
 * Refuses a key whose spec cannot rotate (asymmetric and HMAC keys). AWS answers
 * UnsupportedOperationException with no message at all (recorded: RotateKeyOnDemand on an RSA
 * key, aws-recorded-errors.md), and Keyward answers every rotation operation the same way.
 */
export function assertRotatableSpec(key: KeyRecord): void {
  if (!rotatableSpec(key)) throw new UnsupportedOperationException()
}

/**
 * The checks of EnableKeyRotation and DisableKeyRotation, before the key
 * state: automatic rotation exists for symmetric keys with AWS_KMS origin only. A key with
 * imported material gets footnotes [6]/[7] of the Developer Guide's key state table:
 * UnsupportedOperationException "<key ARN> origin is EXTERNAL which is not valid for this
 * operation." (recorded by AWS for RotateKeyOnDemand before June 2025).
 *
 * @example
 *   const key = await keyForAutomaticRotation(ctx, input.KeyId)
 */
export async function keyForAutomaticRotation(
  ctx: OperationContext,
  keyId: string,
): Promise<KeyRecord> {
  const key = await ctx.keys.resolve({ by: ctx, keyId: keyId, accept: 'idOrArn' })
  assertAutomaticRotationSupported(key)
  return key
}

/**
 * Whether automatic rotation can be enabled for the key: symmetric keys with AWS_KMS origin
 * only, so never asymmetric or HMAC keys, imported material or keys of a custom key store
 * (whose origin is AWS_CLOUDHSM or EXTERNAL_KEY_STORE).
 */
export function automaticRotationSupported(key: KeyRecord): boolean {
  return key.origin === 'AWS_KMS' && rotatableSpec(key)
}

/** The origin and spec checks of {@link keyForAutomaticRotation}, on any record. */
export function assertAutomaticRotationSupported(key: KeyRecord): void {
  if (!KEY_ORIGINS[key.origin].automaticRotation) {
    throw new UnsupportedOperationException(
      `${key.arn} origin is ${key.origin} which is not valid for this operation.`,
    )
  }
  assertRotatableSpec(key)
  // Rotation is a shared property, set on the primary alone (Developer Guide, "Rotating
  // multi-Region keys"); AWS's answer on a replica is not documented.
  assertNotReplica(key)
}
