import type { Handler } from './context.js'
import { keyForAutomaticRotation } from './support/rotation.js'

/**
 * GetKeyRotationStatus: whether automatic rotation is enabled and, while it is, its period and
 * next date (API Reference, GetKeyRotationStatus; LocalStack's AWS-validated snapshots show only
 * KeyId and KeyRotationEnabled for a key without automatic rotation). Works in every state of a
 * rotatable key. Rotations here happen inside one transaction, so none is ever "in progress"
 * and OnDemandRotationStartDate is never reported. A read: it never rotates.
 */
export const getKeyRotationStatus: Handler<'GetKeyRotationStatus'> = async (ctx, input) => {
  const key = await keyForAutomaticRotation(ctx, input.KeyId)
  const enabled = key.nextRotationDate !== undefined
  return {
    KeyId: key.arn,
    KeyRotationEnabled: enabled,
    RotationPeriodInDays: enabled ? key.rotationPeriodInDays : undefined,
    NextRotationDate: enabled ? new Date(key.nextRotationDate!) : undefined,
  }
}
