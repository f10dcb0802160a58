import { assertKeyState } from '../domain/key-state.js'
import type { Handler } from './context.js'

/**
 * UpdateKeyDescription: replaces the description (0–8192 characters, checked by the model);
 * refused while the key is pending deletion (Developer Guide, "Key states": footnote [3]).
 */
export const updateKeyDescription: Handler<'UpdateKeyDescription'> = async (ctx, input) => {
  const key = await ctx.keys.resolve({ by: ctx, keyId: input.KeyId, accept: 'idOrArn' })
  await ctx.keys.mutate(key, (current) => {
    assertKeyState(current, 'manage')
    return current.description === input.Description
      ? current
      : { ...current, description: input.Description }
  })
  return {}
}
