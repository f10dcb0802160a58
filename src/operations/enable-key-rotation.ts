import { assertKeyState } from '../domain/key-state.js'
import { ROTATION_PERIOD_DAYS, withRotationEnabled } from '../domain/key-rotation.js'
import type { Handler } from './context.js'
import { assertAutomaticRotationSupported, keyForAutomaticRotation } from './support/rotation.js'

/**
 * EnableKeyRotation: the scheduler's rotation job (src/services/scheduler.ts) will rotate the
 * key RotationPeriodInDays (90–2560, default 365; the validator checks the range) after now, and
 * every period after that. Giving a new period for a key already rotating reschedules the next
 * rotation one new period after the last one (API Reference, EnableKeyRotation). Symmetric keys
 * with AWS_KMS origin only; a disabled key gets DisabledException, one pending deletion
 * KMSInvalidStateException (Developer Guide, key state table, footnotes [1] and [3]).
 */
export const enableKeyRotation: Handler<'EnableKeyRotation'> = async (ctx, input) => {
  const key = await keyForAutomaticRotation(ctx, input.KeyId)
  const periodInDays = input.RotationPeriodInDays ?? ROTATION_PERIOD_DAYS.default
  await ctx.keys.mutate(key, (current) => {
    assertAutomaticRotationSupported(current)
    assertKeyState(current, 'use')
    return withRotationEnabled(current, { periodInDays, now: ctx.clock.now() })
  })
  return {}
}
