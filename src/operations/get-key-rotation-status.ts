import type { Handler } from './context.js'
import { automaticRotationSupported } from './support/rotation.js'

/**
 * GetKeyRotationStatus: whether automatic rotation is enabled and, while it is, its period and
 * next date (API Reference, GetKeyRotationStatus; LocalStack's AWS-validated snapshots show only
 * KeyId and KeyRotationEnabled for a key without automatic rotation). Works in every state.
 * Rotations here happen inside one transaction, so none is ever "in progress" and
 * OnDemandRotationStartDate is never reported. A read: it never rotates.
 *
 * A key whose rotation cannot be enabled (asymmetric, HMAC, imported material, custom key
 * store) answers `KeyRotationEnabled: false`: "The key rotation status of these KMS keys is
 * always false" (API Reference, GetKeyRotationStatus). Clients depend on it: Terraform's AWS
 * provider reads the status of every key it manages and stops on any error. EnableKeyRotation,
 * DisableKeyRotation and RotateKeyOnDemand still refuse such keys.
 */
export const getKeyRotationStatus: Handler<'GetKeyRotationStatus'> = async (ctx, input) => {
  const key = await ctx.keys.resolve({ by: ctx, keyId: input.KeyId, accept: 'idOrArn' })
  if (!automaticRotationSupported(key)) return { KeyId: key.arn, KeyRotationEnabled: false }
  const enabled = key.nextRotationDate !== undefined
  return {
    KeyId: key.arn,
    KeyRotationEnabled: enabled,
    RotationPeriodInDays: enabled ? key.rotationPeriodInDays : undefined,
    NextRotationDate: enabled ? new Date(key.nextRotationDate!) : undefined,
  }
}
