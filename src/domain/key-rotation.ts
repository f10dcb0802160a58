import type { KeyRecord } from './key.js'
import { KEY_ORIGINS } from './key-origins.js'

/**
 * The rules of key rotation (API Reference: EnableKeyRotation, RotateKeyOnDemand,
 * GetKeyRotationStatus; ../shared/reference/kms-api.md §3.6). Pure: what is due and what the
 * schedule becomes; the scheduler's rotation job and the handlers apply it through
 * KeyService.mutate.
 */

const DAY_MS = 86_400_000

/** RotationPeriodInDays: 90–2560 (the model's range, checked by the validator), default 365. */
export const ROTATION_PERIOD_DAYS = { min: 90, max: 2560, default: 365 } as const

/** "You can rotate a KMS key on demand a maximum of 25 times" (not adjustable; kms-api.md §4.2). */
export const ON_DEMAND_ROTATION_LIMIT = 25

/**
 * RotateKeyOnDemand answers ConflictException while "an automatic rotation of this key is
 * currently in progress or scheduled to begin within the next 20 minutes" (API Reference,
 * RotateKeyOnDemand, Errors).
 */
export const ROTATION_CONFLICT_WINDOW_MS = 20 * 60_000

/**
 * Whether the key's spec can rotate at all: symmetric encryption keys only; asymmetric and
 * HMAC keys cannot (API Reference, EnableKeyRotation and RotateKeyOnDemand).
 */
export function rotatableSpec(key: KeyRecord): boolean {
  return key.keySpec === 'SYMMETRIC_DEFAULT'
}

/**
 * The key with automatic rotation enabled for `periodInDays`. Enabling schedules the first
 * rotation one period from now ("rotates the key material ... one year (approximately 365 days)
 * from the enable date"); changing the period of an enabled key moves the next rotation to one
 * new period after the previous rotation (or the enable date), which may already be due: the
 * rotation job then rotates on its next run, once.
 *
 * @example
 *   withRotationEnabled(key, { periodInDays: 90, now }).nextRotationDate // now + 90 days
 */
export function withRotationEnabled(
  key: KeyRecord,
  options: { periodInDays: number; now: number },
): KeyRecord {
  const { periodInDays, now } = options
  const enabled = key.rotationPeriodInDays !== undefined && key.nextRotationDate !== undefined
  const base = enabled ? key.nextRotationDate! - key.rotationPeriodInDays! * DAY_MS : now
  if (enabled && key.rotationPeriodInDays === periodInDays) return key
  return {
    ...key,
    rotationPeriodInDays: periodInDays,
    nextRotationDate: base + periodInDays * DAY_MS,
  }
}

/** The key with automatic rotation disabled (no period, no next date). */
export function withRotationDisabled(key: KeyRecord): KeyRecord {
  if (key.rotationPeriodInDays === undefined && key.nextRotationDate === undefined) return key
  const { rotationPeriodInDays: _period, nextRotationDate: _next, ...rest } = key
  return rest
}

/**
 * Whether the scheduler must rotate the key at `now`. Only Enabled keys rotate: a disabled key
 * or one pending deletion is not rotated, and one that comes back with its date passed is
 * rotated by the next run (Developer Guide, "Rotating AWS KMS keys": disabled keys and keys
 * pending deletion are not rotated).
 */
export function isRotationDue(key: KeyRecord, now: number): boolean {
  return (
    key.keyState === 'Enabled' &&
    KEY_ORIGINS[key.origin].automaticRotation &&
    rotatableSpec(key) &&
    key.nextRotationDate !== undefined &&
    key.nextRotationDate <= now
  )
}

/**
 * The schedule after an automatic rotation at `now`: one period from now. A job that runs late
 * (Keyward was down for several periods) therefore rotates once and starts a fresh period,
 * rather than rotating once per missed period.
 */
export function nextScheduleAfterRotation(key: KeyRecord, now: number): KeyRecord {
  if (key.rotationPeriodInDays === undefined) return key
  return { ...key, nextRotationDate: now + key.rotationPeriodInDays * DAY_MS }
}

/** Whether an on-demand rotation now would collide with an automatic one (ConflictException). */
export function conflictsWithAutomaticRotation(key: KeyRecord, now: number): boolean {
  return (
    key.nextRotationDate !== undefined && key.nextRotationDate <= now + ROTATION_CONFLICT_WINDOW_MS
  )
}
