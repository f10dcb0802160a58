import { assertKeyState } from '../domain/key-state.js'
import { withRotationDisabled } from '../domain/key-rotation.js'
import type { Handler } from './context.js'
import { assertAutomaticRotationSupported, keyForAutomaticRotation } from './support/rotation.js'

/**
 * DisableKeyRotation: no more automatic rotations; every material the key has keeps decrypting
 * (API Reference, DisableKeyRotation). The same checks as EnableKeyRotation.
 */
export const disableKeyRotation: Handler<'DisableKeyRotation'> = async (ctx, input) => {
  const key = await keyForAutomaticRotation(ctx, input.KeyId)
  await ctx.keys.mutate(key, (current) => {
    assertAutomaticRotationSupported(current)
    assertKeyState(current, 'use')
    return withRotationDisabled(current)
  })
  return {}
}
