import { ValidationException } from '../domain/errors/exceptions.js'
import { assertKeyState } from '../domain/key-state.js'
import type { KeyRecord } from '../domain/key.js'
import type { Handler } from './context.js'

const DAY_MS = 86_400_000

/**
 * The waiting period the service accepts: 7–30 days, 30 by default (API Reference,
 * ScheduleKeyDeletion: "This value is optional. If you include a value, it must be between 7
 * and 30, inclusive."). The model allows 1–365, so values the model accepts but the service
 * does not get the service's own message, as recorded from AWS in an SDK log
 * (Skyscanner/kms-issuer#8: "ValidationException: PendingWindowInDays must be between 7 and 30").
 */
export const PENDING_WINDOW_DAYS = { min: 7, max: 30, default: 30 } as const

function pendingWindow(days: number | undefined): number {
  const window = days ?? PENDING_WINDOW_DAYS.default
  if (window < PENDING_WINDOW_DAYS.min || window > PENDING_WINDOW_DAYS.max) {
    throw new ValidationException(
      `PendingWindowInDays must be between ${PENDING_WINDOW_DAYS.min} and ${PENDING_WINDOW_DAYS.max}`,
    )
  }
  return window
}

const waitsForReplicas = (key: KeyRecord) =>
  key.multiRegionConfiguration?.keyType === 'PRIMARY' &&
  key.multiRegionConfiguration.replicaRegions.length > 0

/**
 * ScheduleKeyDeletion: the key becomes PendingDeletion, unusable, until DeletionDate = now +
 * the waiting period; then the scheduler's key deletion job deletes it with its material and
 * aliases (src/services/scheduler.ts). Refused when it is already pending deletion.
 */
export const scheduleKeyDeletion: Handler<'ScheduleKeyDeletion'> = async (ctx, input) => {
  const days = pendingWindow(input.PendingWindowInDays)
  const key = await ctx.keys.resolve({ by: ctx, keyId: input.KeyId, accept: 'idOrArn' })
  const scheduled = await ctx.keys.mutate(key, (current) => {
    assertKeyState(current, 'scheduleDeletion')
    // A multi-Region primary with replicas waits for them: PendingReplicaDeletion, no
    // DeletionDate; its window starts when the last replica is deleted (API Reference,
    // ScheduleKeyDeletion; src/services/multi-region-keys.ts, destroyRelated).
    if (waitsForReplicas(current)) {
      return { ...current, keyState: 'PendingReplicaDeletion', pendingDeletionWindowInDays: days }
    }
    return {
      ...current,
      keyState: 'PendingDeletion',
      deletionDate: ctx.clock.now() + days * DAY_MS,
      pendingDeletionWindowInDays: days,
    }
  })
  return {
    KeyId: scheduled.arn,
    DeletionDate:
      scheduled.deletionDate === undefined ? undefined : new Date(scheduled.deletionDate),
    KeyState: scheduled.keyState,
    PendingWindowInDays: days,
  }
}
